"""matplotlib figures.  Functions return a Figure and never call ``plt.show()``."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["gamma_panels", "convergence_figure", "invariance_figure", "rl_figure", "RL_LABELS"]

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


#: Labels of the natural-policy-gradient methods in :func:`rl_figure` (the paper's Figure 4 calls
#: its natural-gradient baseline ACKTR; here it is exact natural gradient with CG).
RL_LABELS = {"ng": "ng", "mid": "mid (midpoint)", "geo": "geo (geodesic correction)"}


def _steps_label(x, _pos=None):
    """Step counts as 0, 50k, 1.5M."""
    if x >= 1e6:
        return f"{x / 1e6:g}M"
    return f"{x / 1e3:g}k" if x else "0"


def rl_figure(study, n_points=100):
    """Figure 4's layout: average episode return against environment steps, one panel per
    environment, one line per method (the mean over seeds) with a band of ± one standard
    deviation over seeds.

    Parameters
    ----------
    study : riemannopt.rl.study.Study
    n_points : int
        Points of each curve.
    """
    k = len(study.env_ids)
    cols = 2 if k == 4 else min(k, 3)
    rows = -(-k // cols)
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    steps = study.grid(n_points)
    for ax, env_id in zip(axes, study.env_ids):
        for m in study.methods:
            mean, sd = study.summary(env_id, m, steps)
            (line,) = ax.plot(steps, mean, lw=1.8, label=RL_LABELS.get(m, m))
            ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.18, lw=0)
        ax.set_title(env_id)
        ax.set_xlabel("environment steps")
        ax.xaxis.set_major_formatter(FuncFormatter(_steps_label))
        ax.grid(alpha=0.3)
    for ax in axes[k:]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("average episode return")
    axes[0].legend(loc="lower right", fontsize="small")
    n = len(study.seeds)
    fisher = {"exact": "exact Fisher", "kfac": "Kronecker-factored Fisher"}.get(study.config.curvature, "")
    fig.suptitle(f"Natural policy gradient ({fisher}): mean ± std over {n} seed{'s' if n > 1 else ''} "
                 f"(last {study.window} episodes per point)", fontsize="medium")
    return fig
