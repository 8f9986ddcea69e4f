"""Update directions of natural gradient and its corrections on a network (paper §3–4, eq. 7–9).

The supervised trainer and natural policy gradient build their updates from these, so that every
method means the same thing in both.  With the damped curvature ``A = F + λD`` (paper App. D),
a loss gradient ``g`` and a learning rate (step) ``r``:

* ``ng``: ``d = −A⁻¹g`` (:func:`natural_direction`), update ``r·d``;
* ``mid``: ``d`` at the midpoint ``θ + (r/2)·d`` (§3): a second :func:`natural_direction` there,
  applied from θ (the caller re-linearizes at the midpoint);
* ``geo``: ``c = A⁻¹ Γ_first(d, d)`` (:func:`geodesic_correction`), update
  ``r·d − ½ r²·c`` (:func:`geodesic_update`, eq. 7 with the damped metric);
* ``geof``: one solve ``w = A⁻¹(−g − ½ Γ_first(Δ, Δ))`` with ``Δ`` the previous accepted update
  (:func:`faster_geodesic_direction`, eq. 8–9), update ``r·w``.

Every function works on the vectors of a :class:`~riemannopt.nn.backends.base.VectorOps`
(``ops``, e.g. ``net.backend``), takes the curvature as a product ``fvp: v ↦ F v`` (the Fisher
of :meth:`~riemannopt.nn.Linearization.fisher_vp`, the empirical Fisher, or the Fisher of another
minibatch) and the connection as ``cvp: v ↦ Γ_first(v, v)``, and passes the options of
:func:`~riemannopt.nn.solve_damped` (``diag``, ``x0``, ``precond``, ``max_iter``, ...) through.
"""

from riemannopt.nn.cg import solve_damped

__all__ = [
    "natural_direction",
    "geodesic_correction",
    "faster_geodesic_direction",
    "geodesic_update",
    "perturbation_correction",
]


def natural_direction(fvp, grad, damping, *, ops, **cg):
    """``d = −(F + λD)⁻¹ g`` by truncated CG (paper eq. 5 with damping, App. D).

    Parameters
    ----------
    fvp : callable
        ``v ↦ F v``.
    grad : array
        The loss gradient ``g`` (a vector of ``ops``).
    damping : float
        λ.
    ops : VectorOps
    **cg
        Options of :func:`~riemannopt.nn.solve_damped`.

    Returns
    -------
    CGResult
        ``.x`` is ``d``.
    """
    return solve_damped(fvp, ops.scale_(-1.0, ops.copy(grad)), damping, ops=ops, **cg)


def geodesic_correction(fvp, cvp, d, damping, *, ops, **cg):
    """``c = (F + λD)⁻¹ Γ_first(d, d)``: the geodesic correction of eq. (7), ``Γ(d, d) = g⁻¹Γ_first``
    with the damped metric in place of ``g``.

    Returns
    -------
    CGResult
        ``.x`` is ``c``; the corrected update is :func:`geodesic_update` ``(d, c, r)``.
    """
    return solve_damped(fvp, cvp(d), damping, ops=ops, **cg)


def faster_geodesic_direction(fvp, cvp, grad, delta, damping, *, ops, **cg):
    """``w = (F + λD)⁻¹ (−g − ½ Γ_first(Δ, Δ))`` (eq. 8–9): one solve, with the previous accepted
    update ``Δ`` standing in for the velocity; ``Δ = None`` (the first step) gives
    :func:`natural_direction`.

    At the paper's rate ``r = 1`` and ``Δ = r·d`` of the previous step this is ``d − ½ c`` of
    :func:`geodesic_update` with the velocity lagged by one step.

    Returns
    -------
    CGResult
        ``.x`` is ``w``; the update is ``r·w``.
    """
    if delta is None:
        return natural_direction(fvp, grad, damping, ops=ops, **cg)
    b = ops.axpby(-1.0, grad, -0.5, cvp(delta))
    return solve_damped(fvp, b, damping, ops=ops, **cg)


def geodesic_update(d, c, rate, *, ops):
    """The geodesic-corrected update ``r·d − ½ r²·c`` (eq. 7)."""
    return ops.axpby(rate, d, -0.5 * rate * rate, c)


def perturbation_correction(fvp, pvp, d, damping, *, ops, **cg):
    """``δθ₂ = −(F + λD)⁻¹ P(d)``: the correction of paper Appendix F, eq. (20), with ``P`` the
    bracket of :meth:`~riemannopt.nn.Linearization.perturb_vp` (``pvp: v ↦ P(v)``) and ``d``
    the natural-gradient step ``δθ₁``.

    Returns
    -------
    CGResult
        ``.x`` is ``δθ₂``; the small-curvature update is ``d + δθ₂``.
    """
    return solve_damped(fvp, ops.scale_(-1.0, pvp(d)), damping, ops=ops, **cg)
