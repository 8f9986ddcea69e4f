"""
Is geodesic correction a small-curvature correction? (Appendix F)
=================================================================

Geodesic correction resembles "geodesic acceleration" (Transtrum et al.), which corrects the
Gauss-Newton step by a higher-order term of the loss under a *small-curvature* assumption.
Appendix F of the paper derives that perturbative correction for general losses (eq. 20),

.. math:: \\delta\\theta_2 = -(F + \\lambda I)^{-1}\\big[R_v(J^\\top)(\\partial L/\\partial s + H_s R_v(s))
          + \\tfrac12 J^\\top H_s S_v(s)\\big], \\qquad v = \\delta\\theta_1,

and shows that it only keeps up with the geodesic correction at the start: the small-curvature
assumption does not hold for deep networks, so preserving invariance, not approximating
Newton's method better, is what the geodesic correction buys.

This lesson repeats that comparison on the shrunken CURVES auto-encoder: ``ng``, ``geo`` and
``perturb`` (eq. 20, computed with :meth:`riemannopt.nn.Linearization.perturb_vp`), same start.
"""

import os

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

import riemannopt as ro
from riemannopt.plot import method_color

QUICK = os.environ.get("RIEMANNOPT_EXAMPLE_QUICK") == "1"

# %%
preset = ro.nn.get_preset("curves-small")
data = ro.nn.datasets.curves(300 if QUICK else 2000, 100, size=14, seed=1)
net = ro.nn.MLP(preset.sizes, preset.activations, preset.loss)
iters = 6 if QUICK else 40
results = {
    m: ro.nn.train(net, data.X_train, data.X_train, m, iters, seed=1, **preset.training_options())
    for m in ("ng", "geo", "perturb")
}
for m, res in results.items():
    err = res.history["train_error"]
    print(f"{m:>8}: training error after {iters // 4} iterations {err[iters // 4]:.3f}, after {iters} {err[-1]:.3f}")

# %%
fig = Figure(figsize=(6.4, 4.4), layout="constrained")
ax = fig.subplots()
for m, res in results.items():
    ax.plot(res.history["iteration"], res.history["train_error"], color=method_color(m), label=m)
ax.set(
    xlabel="iteration",
    ylabel="training error (squared reconstruction)",
    yscale="log",
    title="Geodesic vs perturbative (small-curvature) correction",
)
ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
ax.legend()
fig.savefig("small_curvature.png", dpi=120)
