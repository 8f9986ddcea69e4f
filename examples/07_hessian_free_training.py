"""
Training a deep auto-encoder with geodesic correction (Figure 3 in miniature)
=============================================================================

The paper's §7.2 trains deep sigmoid auto-encoders with Hessian-free natural gradient (Martens
2010): each iteration solves the damped Fisher system ``(F + λI) d = −∇L`` by truncated
conjugate gradient, using only Fisher-vector products, and steps along ``d``. Geodesic
correction (eq. 7) adds ``−½ r² (F + λI)⁻¹ Γ(d, d)``, with the connection product of
Proposition 2 — a second CG solve; the faster variant (eq. 8–9) folds the correction of the
previous step into the one solve.

This lesson trains a shrunken CURVES auto-encoder (196-100-50-25-6-25-50-100-196, images of
smooth curves generated on the fly) with ``ng``, ``geo`` and ``geof`` for the same number of
iterations from the same start, and draws the training error against iterations and against
time. Corrections switch on once the damping λ falls below the preset's threshold (App. D).
``geo`` costs about two ``ng`` iterations (it solves twice), ``geof`` about one.

One short run on one seed decides nothing: which method leads changes with the seed and the
stage of training. The documentation's study ("Training deep networks with geodesic
correction", made with ``riemannopt nn --seeds 3``) runs every method for 140 iterations on
three seeds with the paper's Hessian-free loop: on this network only ``geo`` keeps a small lead
over ``ng`` per iteration (on two seeds of three), ``geof`` is ``ng`` or slightly worse, and per
second ``ng`` is best; on the real digits auto-encoder ``geo`` and the midpoint methods lead
``ng`` per iteration on every seed.
"""

import os

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

import riemannopt as ro
from riemannopt.plot import method_color

QUICK = os.environ.get("RIEMANNOPT_EXAMPLE_QUICK") == "1"

# %%
# Data and network. The targets of an auto-encoder are its inputs.
preset = ro.nn.get_preset("curves-small")
data = ro.nn.datasets.curves(300 if QUICK else 2000, 100 if QUICK else 500, size=14, seed=0)
net = ro.nn.MLP(preset.sizes, preset.activations, preset.loss)
iters = 6 if QUICK else 40

# %%
# The same iterations, seed and settings for every method (float32, Martens' defaults).
results = {}
for method in ("ng", "geo", "geof"):
    results[method] = ro.nn.train(
        net,
        data.X_train,
        data.X_train,
        method,
        iters,
        seed=0,
        X_test=data.X_test,
        T_test=data.X_test,
        **preset.training_options(),
    )
    h = results[method].history
    print(
        f"{method:>5}: training error {h['train_error'][-1]:.3f}, test error {h['test_error'][-1]:.3f}, "
        f"{h['cpu_seconds'][-1]:.1f} s, corrections on in {int(np.sum(h['corrected']))} of {iters} iterations"
    )

# %%
# Figure 3's two views of the same runs.
fig = Figure(figsize=(10, 4.2), layout="constrained")
by_iter, by_time = fig.subplots(1, 2, sharey=True)
for method, res in results.items():
    h = res.history
    color = method_color(method)
    by_iter.plot(h["iteration"], h["train_error"], color=color, label=method)
    by_time.plot(h["cpu_seconds"], h["train_error"], color=color, ls="--", label=method)
by_iter.set(xlabel="iteration", ylabel="training error (squared reconstruction)", yscale="log")
by_iter.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
by_iter.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
by_time.set(xlabel="processor time, s")
by_iter.legend()
fig.suptitle("Hessian-free training of a shrunken CURVES auto-encoder")
fig.savefig("hessian_free.png", dpi=120)
