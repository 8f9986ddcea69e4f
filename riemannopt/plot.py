"""matplotlib figures.  Functions return a Figure and never call ``plt.show()``."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from riemannopt.integrators.methods import METHODS
from riemannopt.nn.methods import METHODS as TRAINING_METHODS

__all__ = [
    "gamma_panels",
    "convergence_figure",
    "invariance_figure",
    "training_figure",
    "benchmark_figure",
    "rl_figure",
    "method_color",
    "METHOD_COLORS",
    "RL_LABELS",
    "RL_CURVATURE_LABELS",
]

_TITLES = {
    "identity": "α, β",
    "inv_beta": "α = α′, β = 1/β′",
    "cube_beta": "α = α′, β = β′³",
    "squares": "α = α′², β = β′²",
}


#: One colour per method, the same in every figure: the registry's colours of the integrators
#: (:mod:`riemannopt.integrators.methods`), and those of the training-only methods.
METHOD_COLORS = {name: m.color for name, m in METHODS.items()} | {name: m.color for name, m in TRAINING_METHODS.items()}


def method_color(method):
    """The colour of ``method`` in every riemannopt figure (None: matplotlib's cycle)."""
    return METHOD_COLORS.get(method)


def _fixed_layout(fig, rows, cols, *, left, right, top, bottom, wspace=0.0, hspace=0.0):
    """Place the figure's ``rows × cols`` grid of axes with margins and gaps given in inches, and
    return the size of one axes ``(width, height)`` in inches.

    matplotlib's constrained layout would find the margins by measuring every artist, which
    costs more than half a second of a figure's 0.8 s to PNG; these figures' furniture is known.
    """
    w, h = fig.get_size_inches()
    aw = (w - left - right - (cols - 1) * wspace) / cols
    ah = (h - top - bottom - (rows - 1) * hspace) / rows
    fig.subplots_adjust(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, wspace=wspace / aw, hspace=hspace / ah
    )
    return aw, ah


# Heights in inches of the figures' furniture at matplotlib's default sizes: a title line, tick
# labels with an axis label, and one row of a "small" legend.
_TITLE, _AXIS, _LEGEND_ROW = 0.33, 0.55, 0.21


def gamma_panels(result):
    """Figure 2 of the paper: NLL against iteration, one panel per parameterization (a 2×2 grid
    for the paper's four), one colour per method and one legend for all panels.

    Parameters
    ----------
    result : riemannopt.experiments.GammaResult
        Its losses ``nll[reparam, method]``, ``reparams``, ``methods``, ``lr`` and the legend
        label of each method, ``labels[method]`` (computed by the experiment).
    """
    k = len(result.reparams)
    cols = 2 if k > 1 else 1
    rows = -(-k // cols)
    fig = Figure(figsize=(4.6 * cols, 3.4 * rows + 0.6))
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    _fixed_layout(
        fig,
        rows,
        cols,
        left=0.85,
        right=0.15,
        top=2 * _TITLE + 0.1,
        bottom=_AXIS + _LEGEND_ROW + 0.1,
        wspace=0.2,
        hspace=_TITLE + 0.1,
    )
    styles = {"exact": dict(ls="--", lw=2.5, alpha=0.6), "re": dict(ls=":", lw=2.5)}
    for ax, r in zip(axes, result.reparams):
        for m in result.methods:
            y = result.nll[r, m]
            ax.plot(
                np.arange(len(y)),
                y,
                marker="o",
                ms=3,
                color=method_color(m),
                label=result.labels[m],
                **styles.get(m, {}),
            )
        ax.set_title(_TITLES.get(r, r), fontsize="medium")
        ax.grid(alpha=0.3)
    for ax in axes[k:]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * cols :]:
        ax.set_xlabel("iteration")
    for ax in axes[::cols]:
        ax.set_ylabel("negative log-likelihood")
    # The shared y-axis is autoscaled to every finite value of every curve, iteration 0 included.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize="small", frameon=False)
    fig.suptitle(f"Fitting Gamma(α, β) by natural gradient in {k} parameterizations (lr = {result.lr})")
    return fig


def _slope_marker(ax, h, y, order, color):
    """A dashed segment of slope ``order`` beside the curve ``(h, y)``: parallel to where the curve
    should run, a little below its lowest point relative to that slope, so it never crosses the
    data; labelled with the order at its middle."""
    h, y = np.asarray(h, float), np.asarray(y, float)
    ok = (h > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return
    h, y = h[ok], y[ok]
    anchor = 0.45 * np.min(y / h**order)
    ref = anchor * h**order
    ax.plot(h, ref, ls="--", lw=0.9, color=color, alpha=0.55)
    mid = len(h) // 2
    ax.annotate(
        f"{order}", (h[mid], ref[mid]), textcoords="offset points", xytext=(3, -10), fontsize="x-small", color=color
    )


def _order_figure(panels, entries, width, titles):
    """A Figure of ``panels`` order plots side by side under ``titles`` lines of titles, each with
    a legend of up to ``entries`` lines in two columns below it, and its axes height in inches."""
    legend_rows = -(-entries // 2)
    top, bottom, axes_height = titles * _TITLE + 0.04, _AXIS + legend_rows * _LEGEND_ROW + 0.12, 3.4
    fig = Figure(figsize=(width * panels, top + axes_height + bottom))
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    _fixed_layout(fig, 1, panels, left=0.85, right=0.2, top=top, bottom=bottom, wspace=0.3)
    return fig, axes, axes_height


def _finish_order_axes(ax, ylabel, title, h, axes_height):
    # Ticks at the step sizes that were run, instead of log-scale minor labels.
    ax.set_xticks(h, [f"{x:.3g}" for x in h])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("step size h = T / steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3, which="both")
    ax.margins(x=0.08, y=0.15)
    below = -_AXIS / axes_height
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, below), ncols=2, fontsize="small", frameon=False)


def convergence_figure(studies, expected=None, title=None):
    """Log-log plots of global error at time T against step size (Theorem 1): one panel per
    reference method, one line per method, each with a dashed marker of its expected slope.

    Parameters
    ----------
    studies : sequence of ConvergenceStudy
    expected : sequence of int, optional
        The expected order of each study: drawn as a slope marker beside its curve and shown in
        the legend.
    title : str, optional
    """
    refs = list(dict.fromkeys(st.reference for st in studies))
    entries = max(sum(st.reference == ref for st in studies) for ref in refs)
    fig, axes, axes_height = _order_figure(len(refs), entries, 5.2, titles=2)
    for ax, ref in zip(axes, refs):
        for i, st in enumerate(studies):
            if st.reference != ref:
                continue
            color = method_color(st.method)
            exp = f", expected {expected[i]}" if expected is not None else ""
            (line,) = ax.loglog(
                st.h, st.error, marker="o", color=color, label=f"{st.method} (slope {st.order:.2f}{exp})"
            )
            if expected is not None:
                _slope_marker(ax, st.h, st.error, expected[i], line.get_color())
        ylabel = "global error at time T" if ax is axes[0] else ""
        _finish_order_axes(ax, ylabel, f"against {ref}", studies[0].h, axes_height)
    fig.suptitle(title or f"Convergence order (T = {studies[0].T:g})")
    return fig


def invariance_figure(studies, expected=None, title=None):
    """Log-log plot of the gap between the two parameterizations' runs against step size, one
    line per method with a dashed marker of its expected order of invariance; exactly invariant
    methods sit at round-off (dotted).

    Parameters
    ----------
    studies : sequence of InvarianceStudy
    expected : dict, optional
        ``{method: order or None}`` (default: each method's order as the registry,
        :mod:`riemannopt.integrators.methods`, declares it; the same as
        :data:`riemannopt.experiments.INVARIANCE_ORDERS`).
    title : str, optional
    """
    if expected is None:
        expected = {name: m.invariance for name, m in METHODS.items()}
    fig, (ax,), axes_height = _order_figure(1, len(studies), 6.4, titles=1)
    floor = 1e-17  # so that exactly-invariant methods with a zero gap still show
    for st in studies:
        roundoff = st.gap.max() < 1e-9
        label = f"{st.method} (gap at round-off)" if roundoff else f"{st.method} (order {st.order:.2f})"
        (line,) = ax.loglog(
            st.h,
            np.maximum(st.gap, floor),
            marker="o",
            ls=":" if roundoff else "-",
            color=method_color(st.method),
            label=label,
        )
        if not roundoff and expected.get(st.method):
            _slope_marker(ax, st.h, st.gap, expected[st.method], line.get_color())
    title = title or f"Order of invariance (T = {studies[0].T:g})"
    _finish_order_axes(ax, "gap between parameterizations at time T", title, studies[0].h, axes_height)
    return fig


def training_figure(curves, *, clock="cpu", ylabel="training error", legend_title=None, title=None):
    """Figure 3 of the paper: training error against iterations (solid lines, bottom axis) and
    against time (dashed lines, top axis), one colour per method.

    With several seeds each line is the mean over seeds; the shaded band spans the seeds' range
    at each iteration.  The curves come computed (:meth:`riemannopt.experiments.NNStudy.figure`
    draws a study).

    Parameters
    ----------
    curves : dict
        ``{method: (errors, times, time_errors)}`` in legend order: ``errors`` of shape
        ``(seeds, iterations)``, the training error of each seed's run, and the mean over seeds
        ``time_errors`` at the times ``times``; None for a method without a run (not drawn; it
        keeps its place in matplotlib's colour cycle, used by a method without a colour of its
        own).
    clock : {"cpu", "wall"}
        The clock ``times`` are measured on: processor time or wall time (the top axis' label).
    ylabel : str
        What the training error measures.
    legend_title : str, optional
        The seeds the curves summarize.
    title : str, optional
    """
    fig = Figure(figsize=(7.2, 4.8), layout="constrained")
    ax = fig.subplots()
    top = ax.twiny()
    drawn = False
    positive = True
    for i, (m, curve) in enumerate(curves.items()):
        if curve is None:
            continue
        drawn = True
        color = method_color(m) or f"C{i}"
        errs, t, mean = curve
        positive &= bool(np.all(errs > 0))
        it = np.arange(errs.shape[1])
        ax.plot(it, errs.mean(axis=0), color=color, lw=1.8, label=m)
        if len(errs) > 1:
            ax.fill_between(it, errs.min(axis=0), errs.max(axis=0), color=color, alpha=0.15, lw=0)
        top.plot(t, mean, color=color, lw=1.4, ls="--", alpha=0.85)
    if drawn and positive:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize="x-small")
    ax.set_xlabel("iteration (solid lines)")
    top.set_xlabel(f"{'processor' if clock == 'cpu' else 'wall'} time, s (dashed lines)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    if drawn:
        ax.legend(title=legend_title, fontsize="small", title_fontsize="small", loc="upper right")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def benchmark_figure(curves, *, clock="cpu", ylabel="training error", legend_title=None, title=None):
    """Pascanu & Bengio's Figure 3 layout: training error against iterations (left) and against
    time (right), both on logarithmic axes, one colour per method (the mean over seeds, the
    seeds' range shaded on the left).  ``curves`` and the other parameters are those of
    :func:`training_figure`."""
    fig = Figure(figsize=(9.6, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    positive = True
    for i, (m, curve) in enumerate(curves.items()):
        if curve is None:
            continue
        color = method_color(m) or f"C{i}"
        errs, t, mean = curve
        positive &= bool(np.all(errs > 0))
        it = np.arange(1, errs.shape[1])  # iteration 0 has no place on a log axis
        left.plot(it, errs.mean(axis=0)[1:], color=color, lw=1.8, label=m)
        if len(errs) > 1:
            left.fill_between(it, errs.min(axis=0)[1:], errs.max(axis=0)[1:], color=color, alpha=0.15, lw=0)
        keep = np.asarray(t) > 0
        right.plot(np.asarray(t)[keep], np.asarray(mean)[keep], color=color, lw=1.8)
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for ax in (left, right):
        ax.set_xscale("log")
        if positive:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            ax.tick_params(axis="y", which="minor", labelsize="x-small")
        ax.grid(alpha=0.3, which="both")
    left.set_xlabel("iteration")
    right.set_xlabel(f"{'processor' if clock == 'cpu' else 'wall'} time, s")
    left.set_ylabel(ylabel)
    left.legend(title=legend_title, fontsize="small", title_fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


#: Labels of the natural-policy-gradient methods in :func:`rl_figure` (the paper's Figure 4 calls
#: its natural-gradient baseline ACKTR; here ``ng`` is natural gradient on the exact or the
#: Kronecker-factored Fisher).
RL_LABELS = {"ng": "ng", "mid": "mid (midpoint)", "geo": "geo (geodesic correction)"}

#: How :func:`rl_figure`'s title names the curvature of a study's updates
#: (:data:`riemannopt.rl.CURVATURES`).
RL_CURVATURE_LABELS = {"fisher": "exact Fisher", "kfac": "Kronecker-factored Fisher"}


def _steps_label(x, _pos=None):
    """Step counts as 0, 50k, 1.5M."""
    if x >= 1e6:
        return f"{x / 1e6:g}M"
    return f"{x / 1e3:g}k" if x else "0"


def rl_figure(study, n_points=100):
    """Figure 4's layout: average episode return against environment steps, one panel per
    environment, one line per method (the mean over seeds) with a band of ± one standard
    deviation over seeds.

    A method whose runs did not all finish says so in its panel's legend (e.g. "ng — 1/2
    complete, 1 interrupted"); a partial run's curve stops where the run stopped, and the title
    says when Ctrl-C stopped the study.

    Parameters
    ----------
    study : riemannopt.rl.study.Study
    n_points : int
        Points of each curve.
    """
    from riemannopt._checks import check_number

    n_points = check_number(n_points, "n_points", integer=True, low=2)
    k = len(study.env_ids)
    cols = 2 if k == 4 else min(k, 3)
    rows = -(-k // cols)
    # At least 6.4 inches wide: one panel of 4.6 cut off the two-line title on both sides.
    fig = Figure(figsize=(max(4.6 * cols, 6.4), 3.6 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    steps = study.grid(n_points)
    for i, (ax, env_id) in enumerate(zip(axes, study.env_ids)):
        marked = False
        for m in study.methods:
            label = RL_LABELS.get(m, m)
            complete, *others = study.status(env_id, m).split(", ")
            if others or complete != f"{len(study.seeds)}/{len(study.seeds)}":
                label += " — " + ", ".join([f"{complete} complete", *others])
                marked = True
            mean, sd = study.summary(env_id, m, steps)
            # Runs stopped after their first batch leave a one-point curve: a marker shows it.
            marker = "o" if np.isfinite(mean).sum() == 1 else None
            (line,) = ax.plot(steps, mean, lw=1.8, color=method_color(m), label=label, marker=marker, ms=4)
            ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.18, lw=0)
        ax.set_title(env_id)
        ax.set_xlabel("environment steps")
        ax.xaxis.set_major_formatter(FuncFormatter(_steps_label))
        ax.grid(alpha=0.3)
        if i == 0 or marked:  # a panel whose runs did not all finish says so in its own legend
            ax.legend(loc="best", fontsize="small")
    for ax in axes[k:]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("average episode return")
    n = len(study.seeds)
    fisher = RL_CURVATURE_LABELS.get(study.config.curvature, "")
    title = (
        f"Natural policy gradient ({fisher})\nmean ± std over {n} seed{'s' if n > 1 else ''} "
        f"(last {study.window} episodes per point)"
    )
    if getattr(study, "interrupted", False):
        title += "\ninterrupted (Ctrl-C or SIGTERM): the runs finished before it"
    fig.suptitle(title, fontsize="medium")
    return fig
