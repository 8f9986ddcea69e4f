"""matplotlib figures.  Functions return a Figure and never call ``plt.show()``."""

import numpy as np
from matplotlib.figure import Figure

__all__ = ["gamma_panels", "convergence_figure", "invariance_figure", "training_figure"]

_TITLES = {
    "identity": "α, β",
    "inv_beta": "α = α′, β = 1/β′",
    "cube_beta": "α = α′, β = β′³",
    "squares": "α = α′², β = β′²",
}


def gamma_panels(result):
    """Figure 2 of the paper: NLL against iteration, one panel per parameterization.

    Parameters
    ----------
    result : riemannopt.experiments.GammaResult
    """
    from .experiments.gamma import GAMMA_METHODS

    k = len(result.reparams)
    fig = Figure(figsize=(4.0 * k, 3.6), layout="constrained")
    axes = fig.subplots(1, k, sharey=True, squeeze=False)[0]
    styles = {"exact": dict(ls="--", lw=2.5, alpha=0.6), "re": dict(ls=":", lw=2.5)}
    for ax, r in zip(axes, result.reparams):
        for m in result.methods:
            y = result.nll[r, m]
            ax.plot(np.arange(len(y)), y, marker="o", ms=3, label=GAMMA_METHODS.get(m, m), **styles.get(m, {}))
        ax.set_title(_TITLES.get(r, r))
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("negative log-likelihood")
    finals = [result.final(r, m) for r in result.reparams for m in result.methods]
    lo, hi = min(finals), max(max(v[1] for v in result.nll.values() if len(v) > 1), min(finals) + 1e-3)
    axes[0].set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    axes[-1].legend(loc="upper right", fontsize="small")
    fig.suptitle(f"Fitting Gamma(α, β) by natural gradient in four parameterizations (lr = {result.lr})")
    return fig


def _reference_slopes(ax, h, anchor, orders):
    """Dashed lines of slope ``orders`` through ``anchor`` at the largest ``h``, labelled."""
    h = np.asarray(h)
    for q in orders:
        y = anchor * (h / h.max()) ** q
        ax.plot(h, y, color="0.6", ls="--", lw=0.8)
        ax.annotate(f"O(h$^{q}$)", (h.min(), y[np.argmin(h)]), fontsize="x-small", color="0.4", ha="right", va="center")


def _finish_order_axes(fig, ax, ylabel, title):
    ax.set_xlabel("step size h = T / steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small")
    return fig


def convergence_figure(studies, expected=None, title=None):
    """Log-log plot of global error at time T against step size, one line per study, with
    reference slopes (Theorem 1).

    Parameters
    ----------
    studies : sequence of ConvergenceStudy
    expected : sequence of int, optional
        Expected orders, shown in the legend.
    title : str, optional
    """
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    for i, st in enumerate(studies):
        exp = f", expected {expected[i]}" if expected is not None else ""
        ax.loglog(st.h, st.error, marker="o", label=f"{st.method} → {st.reference} (slope {st.order:.2f}{exp})")
    h = studies[0].h
    anchor = np.exp(np.mean([np.log(st.error.max()) for st in studies if st.error.max() > 0]))
    _reference_slopes(ax, h, anchor, sorted({1, 2, 3, 4} & set(expected or [1, 2])))
    return _finish_order_axes(fig, ax, "global error at time T", title or f"Convergence order (T = {studies[0].T:g})")


def invariance_figure(studies, title=None):
    """Log-log plot of the gap between the two parameterizations' runs against step size, one
    line per method (the order of invariance is the slope; exact methods sit at round-off).

    Parameters
    ----------
    studies : sequence of InvarianceStudy
    title : str, optional
    """
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    floor = 1e-17  # so that exactly-invariant methods with a zero gap still show
    for st in studies:
        roundoff = st.gap.max() < 1e-9
        label = f"{st.method} (gap at round-off)" if roundoff else f"{st.method} (order {st.order:.2f})"
        ax.loglog(st.h, np.maximum(st.gap, floor), marker="o", ls=":" if roundoff else "-", label=label)
    return _finish_order_axes(fig, ax, "gap between parameterizations at time T", title or f"Order of invariance (T = {studies[0].T:g})")


#: Colours of the training methods, fixed so that figures of different studies match.
_METHOD_COLORS = {"ng": "k", "mid": "tab:orange", "geo": "tab:blue", "geof": "tab:green",
                  "perturb": "tab:red", "adam": "tab:purple"}
_ERROR_LABELS = {"squared": "training error (squared reconstruction)", "classification": "training error (classification)"}


def training_figure(study, clock="cpu", title=None):
    """Figure 3 of the paper: training error against iterations (solid lines, bottom axis) and
    against time (dashed lines, top axis), one colour per method.

    With several seeds each line is the mean over seeds; the shaded band spans the seeds' range
    at each iteration.  A time curve is drawn up to the time every seed's run reached.

    Parameters
    ----------
    study : riemannopt.experiments.NNStudy
    clock : {"cpu", "wall"}
        Processor time (steadier on a shared machine) or wall time.
    title : str, optional
    """
    from .experiments.nn import STUDY_CLOCKS, _value_at

    key = STUDY_CLOCKS[clock]
    fig = Figure(figsize=(7.2, 4.8), layout="constrained")
    ax = fig.subplots()
    top = ax.twiny()
    positive = True
    for i, m in enumerate(study.methods):
        hs = study.histories(m)
        if not hs:
            continue
        color = _METHOD_COLORS.get(m, f"C{i}")
        n = min(len(h["train_error"]) for h in hs)
        errs = np.array([h["train_error"][:n] for h in hs])
        positive &= bool(np.all(errs > 0))
        it = np.arange(n)
        ax.plot(it, errs.mean(axis=0), color=color, lw=1.8, label=m)
        if len(hs) > 1:
            ax.fill_between(it, errs.min(axis=0), errs.max(axis=0), color=color, alpha=0.15, lw=0)
        t_end = min(h[key][-1] for h in hs)
        t = np.linspace(0.0, t_end, 200)
        mean = np.mean([[_value_at(h, "train_error", key, x) for x in t] for h in hs], axis=0)
        top.plot(t, mean, color=color, lw=1.4, ls="--", alpha=0.85)
    if positive:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize="x-small")
    ax.set_xlabel("iteration (solid lines)")
    top.set_xlabel(f"{'processor' if clock == 'cpu' else 'wall'} time, s (dashed lines)")
    ax.set_ylabel(_ERROR_LABELS.get(getattr(study, "error", None), "training error"))
    ax.grid(alpha=0.3, which="both")
    seeds = f"{len(study.seeds)} seeds, mean and range" if len(study.seeds) > 1 else f"seed {study.seeds[0]}"
    ax.legend(title=seeds, fontsize="small", title_fontsize="small", loc="upper right")
    fig.suptitle(title or f"Training the {study.preset} network", fontsize="medium")
    return fig
