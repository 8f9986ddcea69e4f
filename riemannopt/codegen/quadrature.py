"""Fixed quadrature rules for the expectations of compiled Fisher metrics.

The Fisher metric of a family with no closed form, ``g_ij(θ) = ∫ p(x; θ) (−∂_i∂_j log p) dx``,
is computed inside the generated numba code as a weighted sum over fixed nodes (see
:class:`~riemannopt.symbolic.QuadratureMetric`).  The rules are the double-exponential (DE)
rules of Takahasi and Mori (1974): the trapezoidal rule with step ``h`` in a variable ``t``, after
a change of variable that makes the integrand decay double-exponentially as ``|t| → ∞``:

=================  ==================================  ===========================================
support            substitution                        weight ``dx/dt``
=================  ==================================  ===========================================
``(a, b)``         ``x = a + (b − a) σ(π sinh t)``     ``(b − a) π cosh t · σ(1 − σ)`` (tanh-sinh)
``(a, ∞)``         ``x = a + exp(π/2 sinh t)``         ``(x − a) π/2 cosh t`` (exp-sinh)
``(−∞, b)``        ``x = b − exp(π/2 sinh t)``         the same, mirrored
``(−∞, ∞)``        ``x = sinh(π/2 sinh t)``            ``cosh(π/2 sinh t) π/2 cosh t`` (sinh-sinh)
=================  ==================================  ===========================================

with ``σ`` the logistic function (so that a node near an end of ``(a, b)`` keeps its distance
to it at full relative precision).  For an integrand analytic in a strip around the support the
error falls like ``exp(−c/h)``: each level (``h = 2^−level``) roughly squares it, and integrable
singularities at the ends (``x^−½``, ``log x``) and algebraic tails (Cauchy's ``x^−2``) cost
nothing extra.  ``t`` runs over ``[−4.5, 4.5]``: the half-line's nodes span ``e^{±70}`` and the
line's ``±10^{29}``.  Nodes whose weight underflows, or which coincide with an end of the
support, are dropped.

A rule follows the density only where the density's scale is about one: a density concentrated
around ``x = 1000`` with width ``10^−3`` falls between the nodes.  A *substitution*
``x = X(u; θ)`` that standardises the density (for a location-scale family ``x = μ + σ u``)
makes the rule exact-invariant under the parameters' changes (see
:func:`~riemannopt.symbolic.fisher_metric`).
"""

import math

import numpy as np

from riemannopt.errors import SymbolicError

__all__ = ["de_rule", "LEVELS", "T_MAX"]

#: The levels a rule may have (``h = 2^−level``).
LEVELS = range(1, 9)
#: The truncation ``|t| ≤ T_MAX`` of the DE variable.
T_MAX = 4.5


def _logistic(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def de_rule(a, b, level=4):
    """Nodes and weights of the double-exponential rule on ``(a, b)`` (``a`` may be ``-inf``,
    ``b`` may be ``inf``).

    Parameters
    ----------
    a, b : float
        The ends of the support, ``a < b``.
    level : int
        ``h = 2^−level``; the rule has about ``9 · 2^level`` nodes (145 at the default 4).

    Returns
    -------
    nodes, weights : ndarray
        ``Σ_q weights[q] f(nodes[q]) ≈ ∫_a^b f(x) dx``; every node lies strictly inside
        ``(a, b)`` and every weight is positive.
    """
    if level not in LEVELS:
        raise SymbolicError(f"quadrature level must be an integer in {LEVELS.start}..{LEVELS.stop - 1}, got {level!r}")
    a, b = float(a), float(b)
    if not a < b:
        raise SymbolicError(f"a quadrature support (a, b) needs a < b, got ({a}, {b})")
    h = 2.0**-level
    K = int(round(T_MAX / h))
    nodes, weights = [], []
    for i in range(-K, K + 1):
        t = i * h
        s, c = math.pi / 2 * math.sinh(t), math.pi / 2 * math.cosh(t)
        if math.isfinite(a) and math.isfinite(b):
            y, z = _logistic(2 * s), _logistic(-2 * s)  # y and 1 − y, each to full precision
            x = a + (b - a) * y if y <= 0.5 else b - (b - a) * z
            w = (b - a) * 2 * c * y * z
        elif math.isfinite(a) or math.isfinite(b):
            if abs(s) > 700:
                continue
            e = math.exp(s)
            x = a + e if math.isfinite(a) else b - e
            w = e * c
        else:
            if abs(s) > 700:
                continue
            x, w = math.sinh(s), math.cosh(s) * c
        w *= h
        if w > 1e-300 and a < x < b and math.isfinite(w):
            nodes.append(x)
            weights.append(w)
    return np.array(nodes), np.array(weights)
