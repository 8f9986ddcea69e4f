"""
A Fisher metric from a log-density: fitting a Beta distribution
===============================================================

For a statistical model ``p(x; θ)`` the natural metric is the Fisher information

.. math:: g_{ij}(\\theta) = -\\mathbb{E}\\left[\\partial_i \\partial_j \\log p(X; \\theta)\\right].

For an exponential family the Hessian of ``log p`` is affine in the sufficient statistics, so the
expectation needs only their means. :func:`riemannopt.fisher_metric` does the derivation: give it
the log-density, the data variable, the parameters and the expected statistics.

This lesson derives the Fisher metric of Beta(a, b), whose statistics are ``log x`` and
``log(1 − x)`` with means ``ψ(a) − ψ(a + b)`` and ``ψ(b) − ψ(a + b)``, fits a Beta distribution by
natural gradient, and checks the fit against scipy's maximum-likelihood estimate.
"""

import os

import numpy as np
import sympy as sp
from matplotlib.figure import Figure
from scipy import stats

import riemannopt as ro

QUICK = os.environ.get("RIEMANNOPT_EXAMPLE_QUICK") == "1"

# %%
# The derivation. The result is ``ψ'(a) − ψ'(a+b)`` on the diagonal's first entry, ``−ψ'(a+b)``
# off the diagonal and ``ψ'(b) − ψ'(a+b)`` last (ψ' is the trigamma function).
a, b = sp.symbols("a b", positive=True)
x = sp.Symbol("x", positive=True)
log_p = (a - 1) * sp.log(x) + (b - 1) * sp.log(1 - x) - (sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b))
fisher = ro.fisher_metric(
    log_p, x, [a, b], {sp.log(x): sp.digamma(a) - sp.digamma(a + b), sp.log(1 - x): sp.digamma(b) - sp.digamma(a + b)}
)
print("Fisher metric of Beta(a, b):", fisher.matrix)

# %%
# The loss is the mean negative log-likelihood of the data, which depends on the data only
# through two numbers; they enter the problem as parameters, so new data never recompiles.
data = np.random.default_rng(0).beta(2.0, 5.0, 5000)
mean_log_x, mean_log_1mx = sp.symbols("mean_log_x mean_log_1mx", real=True)
nll = -((a - 1) * mean_log_x + (b - 1) * mean_log_1mx - (sp.loggamma(a) + sp.loggamma(b) - sp.loggamma(a + b)))
problem = ro.Problem(
    fisher,
    nll,
    params={mean_log_x: np.log(data).mean(), mean_log_1mx: np.log1p(-data).mean()},
    domain=[a > 0, b > 0],
    name="beta",
)

# %%
# Natural gradient and its geodesic correction from (1, 1), learning rate 0.5, against scipy's
# maximum-likelihood fit (a generic optimizer on the same likelihood, with location and scale
# fixed).
steps = 8 if QUICK else 20
runs = {m: ro.optimize(problem, m, [1.0, 1.0], 0.5, steps) for m in ("ng", "geo", "exact")}
a_hat, b_hat, _, _ = stats.beta.fit(data, floc=0, fscale=1)
for m, traj in runs.items():
    print(f"{m:>5}: (a, b) = ({traj.x[-1, 0]:.5f}, {traj.x[-1, 1]:.5f}), mean NLL {traj.loss[-1]:.8f}")
print(f"scipy: (a, b) = ({a_hat:.5f}, {b_hat:.5f})")

# %%
# The paths in the (a, b) plane over the contours of the loss.
C = problem.compile()
A, B = np.meshgrid(np.linspace(0.6, 2.6, 120), np.linspace(0.6, 6.5, 120))
L = np.vectorize(lambda u, w: C.loss([u, w]))(A, B)
fig = Figure(figsize=(6.4, 4.8), layout="constrained")
ax = fig.subplots()
ax.contour(
    A, B, L, levels=np.quantile(L, np.linspace(0.01, 0.6, 14)), colors="0.75", linewidths=0.8, linestyles="solid"
)
for m, traj in runs.items():
    ax.plot(traj.x[:, 0], traj.x[:, 1], "o-", ms=3, label=m)
ax.plot(a_hat, b_hat, "k*", ms=12, label="scipy MLE")
ax.set(xlabel="a", ylabel="b", title="Fitting Beta(a, b) by natural gradient")
ax.legend()
fig.savefig("beta.png", dpi=120)
