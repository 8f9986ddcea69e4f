"""
Natural gradient against Newton's method under reparameterization
==================================================================

Newton's method ``x − η H⁻¹∇L`` rescales the gradient by the Hessian of the loss; natural
gradient ``x − η g⁻¹∇L`` by the Fisher metric. For the Gamma fit of the paper (§7.1), in the
coordinates ``(α, β)``, the two are the same matrix (for an exponential family in its natural
parameters the Hessian of the NLL *is* the Fisher information), so the two methods take the same
steps. Change coordinates and they part (Martens, *New perspectives on the natural gradient
method*, §10):

* under an **affine** map ``x = Aξ + b`` both stay exactly invariant, at any step size: the
  pulled-back metric is ``AᵀgA`` and the pulled-back Hessian ``AᵀHA``;
* under a **nonlinear** map, here ``(α, β) = (α′², β′²)``, the metric still transforms as a
  tensor, but the Hessian gains the term ``∂L/∂x · ∂²φ/∂ξ²``. The gap between natural gradient's
  two runs shrinks with the step (order 1: its flow is invariant, only the discretization is
  not); Newton's does not shrink at all (order 0: the Newton flow itself depends on the
  coordinates), and neither does gradient descent's.

The left panel draws the runs in ``(α, β)``; the right one the gap at time T against η.
"""

import os

import numpy as np
import sympy as sp
from matplotlib.figure import Figure

import riemannopt as ro
from riemannopt.plot import method_color

QUICK = os.environ.get("RIEMANNOPT_EXAMPLE_QUICK") == "1"

# %%
# The Gamma fit in (α, β), in the squares parameterization, and under an affine shear.
base = ro.models.gamma_mle(ro.models.gamma_data())
squares = ro.models.GAMMA_REPARAMS["squares"]
a, b = sp.symbols("a b", real=True)
shear = ((a, b), (a + b / 2, b))
x0, T = np.array([1.0, 1.0]), 2.0
methods = ("gd", "ng", "newton")

# %%
# The gap between the base run and the reparameterized one mapped back, at time T, as η
# halves (``ro.invariance_order`` fits its slope).
steps = [16, 32, 64] if QUICK else [16, 32, 64, 128, 256]
studies = {m: ro.invariance_order(base, squares, m, x0, T, steps) for m in methods}
affine = {m: ro.invariance_order(base, shear, m, x0, T, steps[:2]) for m in methods}
for m in methods:
    st = studies[m]
    print(
        f"{m:>6}: squares: order {st.order:5.2f} (gaps {st.gap[0]:.2e} → {st.gap[-1]:.2e});  affine: largest gap {affine[m].gap.max():.1e}"
    )

# %%
# The paths at η = T / 16 in (α, β): solid from (α, β), dashed from (α′, β′) mapped back.
Q = base.reparameterize(*squares)
xi0 = Q.from_base(x0)
eta, n = T / 16, 16
fig = Figure(figsize=(11, 4.6), layout="constrained")
left, right = fig.subplots(1, 2)
A, B = np.meshgrid(np.linspace(0.5, 14, 160), np.linspace(0.5, 14, 160))
C = base.compile()
nll = np.vectorize(lambda al, be: C.loss([al, be]))(A, B)
left.contour(A, B, nll, levels=np.quantile(nll, np.linspace(0.02, 0.9, 12)), colors="0.85", linewidths=0.7)
for m in methods:
    p = ro.optimize(base, m, x0, eta, n).x
    q = Q.to_base(ro.optimize(Q, m, xi0, eta, n).x)
    left.plot(p[:, 0], p[:, 1], "o-", ms=3, color=method_color(m), label=m)
    left.plot(q[:, 0], q[:, 1], "s--", ms=3, color=method_color(m))
left.plot(*x0, "ko")
left.set(xlabel="α", ylabel="β", title=f"η = {eta}: solid from (α, β), dashed from (α′², β′²)")
left.legend(loc="upper left")
for m in methods:
    st = studies[m]
    right.loglog(st.h, st.gap, "o-", color=method_color(m), label=f"{m}: order {st.order:.2f}")
right.set(
    xlabel="learning rate η (T fixed)", ylabel="gap at T between the parameterizations", title="order of invariance"
)
right.legend()
fig.savefig("newton_vs_ng.png", dpi=120)
