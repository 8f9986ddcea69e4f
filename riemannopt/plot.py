"""matplotlib figures.  Functions return a Figure and never call ``plt.show()``."""

import numpy as np
from matplotlib.figure import Figure

__all__ = ["gamma_panels"]

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
