"""
Connection products of a neural network, checked against their definition
=========================================================================

Geodesic correction needs the Levi-Civita connection of the network's Fisher metric ``F(θ)``
applied to a velocity twice. In the first kind, with index ``ν`` free,

.. math:: \\Gamma_{\\nu}(v, v) = v^\\alpha v^\\beta\\,(\\partial_\\alpha F_{\\nu\\beta}
          - \\tfrac12 \\partial_\\nu F_{\\alpha\\beta})
          = \\big[(\\partial_v F)\\, v\\big]_\\nu - \\tfrac12 \\partial_\\nu (v^\\top F v),

which needs derivatives of the metric: out of reach for a network with many parameters if done
naively. Proposition 2 of the paper turns it into network outputs and their first and second
directional derivatives, and Appendix C computes it with one forward pass that carries them and
one backward pass, at about the cost of two gradients:
:meth:`riemannopt.nn.MLP.connection_vp`.

This lesson checks the fast product against the definition above, computed by central
differences of Fisher-vector products, on a small sigmoid network with a cross-entropy loss.
The difference shrinks like ``h²`` until round-off takes over.
"""

import numpy as np
from matplotlib.figure import Figure

import riemannopt as ro

# %%
# A 4-6-3 network with sigmoid units and binary cross-entropy, random data and direction.
net = ro.nn.MLP([4, 6, 3], ["sigmoid", "sigmoid"], "bce")
rng = np.random.default_rng(0)
theta = net.init(0, scheme="gaussian")
X = rng.standard_normal((50, 4))
v = rng.standard_normal(net.n_params)
fast = net.connection_vp(theta, X, v)


# %%
# The definition by central differences of ``F(θ) v`` (one product per step) and of
# ``vᵀ F(θ) v`` (one per coordinate).
def definition(h):
    dF_v = (net.fisher_vp(theta + h * v, X, v) - net.fisher_vp(theta - h * v, X, v)) / (2 * h)
    quad = lambda t: v @ net.fisher_vp(t, X, v)  # noqa: E731
    grad_quad = np.array([(quad(theta + h * e) - quad(theta - h * e)) / (2 * h) for e in np.eye(net.n_params)])
    return dF_v - 0.5 * grad_quad


hs = np.geomspace(1e-1, 1e-7, 13)
errors = np.array([np.linalg.norm(definition(h) - fast) / np.linalg.norm(fast) for h in hs])
for h, e in zip(hs, errors):
    print(f"h = {h:.0e}: relative difference {e:.2e}")

# %%
# Term by term: Algorithm 1 (second directional derivatives of the outputs) and Algorithm 2
# (squared first derivatives) add up to the fused product.
term1, term2 = net.connection_terms(theta, X, v)
print(
    "‖term1 + term2 − connection_vp‖ / ‖connection_vp‖ =", np.linalg.norm(term1 + term2 - fast) / np.linalg.norm(fast)
)

# %%
fig = Figure(figsize=(6.0, 4.2), layout="constrained")
ax = fig.subplots()
ax.loglog(hs, errors, "o-", label="definition by central differences")
ax.loglog(hs[:8], 0.5 * errors[0] * (hs[:8] / hs[0]) ** 2, "--", color="0.5", label="slope 2 (truncation)")
ax.set(
    xlabel="difference step h",
    ylabel="relative difference from connection_vp",
    title="Γ(v, v) of a 4-6-3 network: Prop. 2 against the definition",
)
ax.legend()
fig.savefig("connection.png", dpi=120)
