r"""One natural-policy-gradient update: ``ng``, ``mid`` or ``geo`` (paper §3–4, §7.3).

The objective of a batch is the surrogate ``L(θ) = −(1/n) Σ_k Â_k log π_θ(a_k | s_k)`` with
standardized advantages ``Â``; its gradient at the policy that collected the batch is the policy
gradient, and its metric is the policy's Fisher on the sampled states (Kakade 2002).  By default
every direction comes from :mod:`riemannopt.nn.directions`, the functions the supervised trainer
uses, with the damped Fisher ``A = F + λI`` applied by exact Fisher-vector products and solved by
truncated CG (``curvature="fisher"``, the name :mod:`riemannopt.nn` gives the same matrix);
``curvature="kfac"`` replaces ``A⁻¹`` by the inverse of the Kronecker-factored
Fisher of the paper's ACKTR runs (:mod:`riemannopt.rl.kfac`), keeping the exact connection:

* ``ng``: ``d = −A⁻¹∇L`` (:func:`~riemannopt.nn.directions.natural_direction`), update ``r·d``;
* ``mid``: the same direction recomputed at the half step ``θ + (r/2)·d`` on the same batch and
  applied from θ, update ``r·d_mid`` (the midpoint integrator of §3);
* ``geo``: ``c = A⁻¹ Γ_first(d, d)`` (:func:`~riemannopt.nn.directions.geodesic_correction`),
  update ``r·d − ½ r²·c`` (eq. 7, :func:`~riemannopt.nn.directions.geodesic_update`).

The step ``r`` is the learning rate ``η``, shrunk if needed so that the second-order estimate of
the KL divergence of the first-order step stays within a trust region δ (Wu et al. 2017, §3.1)::

    r = min(η, √(2δ / dᵀF d)),

computed once from ``ng``'s ``d`` and shared by the three methods, so that they integrate the
natural-gradient flow over the same step (paper App. E.2: "the same constant learning rate
schedule for all three methods").  The trust region bounds the update actually taken: a ``mid``
or ``geo`` update ``Δ`` whose own estimate ``½ ΔᵀFΔ`` exceeds δ is scaled down to it (one more
Fisher product).  Without this, ``mid`` — whose direction comes from another point — took
occasional steps with a KL of 0.4–3.5 (δ = 0.01) and collapsed (see the docs' reinforcement-learning page).

At the midpoint the batch no longer comes from the policy being differentiated, so ``mid`` uses
the importance-weighted surrogate ``−(1/n) Σ_k ρ_k Â_k log π(a_k | s_k)``, ``ρ_k = π_mid(a_k |
s_k) / π_old(a_k | s_k)`` held fixed: its gradient is that of ``(1/n) Σ_k ρ_k Â_k`` (the
objective TRPO maximizes), the standard estimate of the policy gradient at a nearby policy from
the old policy's samples.  At θ itself ``ρ = 1`` and the two surrogates agree.
"""

import math
from dataclasses import dataclass

import numpy as np

from riemannopt._checks import as_float_array, check_number
from riemannopt.errors import MethodError, NonFiniteError, ShapeError
from riemannopt.nn.directions import geodesic_correction, geodesic_update, natural_direction
from riemannopt.rl.kfac import KFAC

__all__ = ["METHODS", "CURVATURES", "RENAMED_CURVATURES", "UpdateResult", "step_rate", "policy_update"]

#: The update rules of this module.
METHODS = ("ng", "mid", "geo")

#: The metrics an update can use: the Fisher itself (exact products and CG; ``"fisher"`` as in
#: :data:`riemannopt.nn.CURVATURES`) or its Kronecker-factored approximation (ACKTR's).
CURVATURES = ("fisher", "kfac")

#: Curvature names of earlier versions and their names now: studies saved with them load under
#: the new name (:meth:`riemannopt.rl.Study.load`); given to a function they are refused with a
#: message naming the new one.
RENAMED_CURVATURES = {"exact": "fisher"}


def _unknown_curvature(curvature):
    """The message for a curvature not in :data:`CURVATURES` (saying what a renamed one is now
    called)."""
    text = f"unknown curvature {curvature!r}; expected one of {', '.join(CURVATURES)}"
    if isinstance(curvature, str) and curvature in RENAMED_CURVATURES:
        text += f" ({curvature!r} is now called {RENAMED_CURVATURES[curvature]!r})"
    return text


@dataclass
class UpdateResult:
    """What :func:`policy_update` returns.

    Attributes
    ----------
    params : ndarray
        The updated policy parameters.
    rate : float
        The step ``r`` taken.
    kl_predicted : float
        ``½ r² dᵀF d``, the second-order KL estimate of the ``ng`` step.
    kl : float
        The exact mean KL divergence ``KL(π_old ‖ π_new)`` over the batch's states.
    cg_iterations : int
        CG steps of all the solves of this update (0 with the Kronecker-factored Fisher).
    correction : float
        ``‖Δ − r·d‖ / ‖r·d‖``: how far the update Δ is from the ``ng`` step (0 for ``ng``).
    shrink : float
        The factor by which the trust region scaled down a ``mid`` or ``geo`` update (1: not
        at all).
    """

    params: np.ndarray
    rate: float
    kl_predicted: float
    kl: float
    cg_iterations: int
    correction: float = 0.0
    shrink: float = 1.0


def step_rate(lr, dFd, max_kl=None):
    """``r = min(η, √(2δ / dᵀFd))`` (Wu et al. 2017, §3.1), or ``η`` without a trust region.

    Parameters
    ----------
    lr : float
        η, the largest step.
    dFd : float
        ``dᵀ F d`` of the natural direction (undamped Fisher).
    max_kl : float or None
        δ, the largest second-order KL estimate ``½ r² dᵀFd`` allowed.
    """
    lr = check_number(lr, "lr", low=0, strict=True)
    if max_kl is not None:
        max_kl = check_number(max_kl, "max_kl", low=0, strict=True)
    if max_kl is None or not dFd > 0:
        return lr
    return float(min(lr, math.sqrt(2.0 * max_kl / dFd)))


def policy_update(
    policy, params, batch, method, *, lr, max_kl=None, damping=1e-2, curvature="fisher", advantages=None, **cg
):
    """One update of the policy parameters by ``method`` on ``batch`` (see the module docstring).

    Parameters
    ----------
    policy : Policy
    params : ndarray
        The parameters that collected ``batch``.
    batch : Batch
        Normalized observations, actions and their log-probabilities under ``params``.
    method : {"ng", "mid", "geo"}
    lr : float
        η.
    max_kl : float or None
        δ of the trust region (None: a fixed step ``η``).
    damping : float
        λ of ``A = F + λI`` (≥ 0; > 0 with ``curvature="kfac"``).
    curvature : {"fisher", "kfac"}
        ``"fisher"``: exact Fisher-vector products and truncated CG; ``"kfac"``: the Kronecker-factored
        Fisher of :class:`~riemannopt.rl.kfac.KFAC` (ACKTR's), inverted in closed form, with
        factored damping.  The connection product is exact either way (as in the paper).
    advantages : ndarray, optional
        The weights ``Â`` (default: ``batch.advantages`` standardized).
    **cg
        Options of :func:`~riemannopt.nn.solve_damped` for every solve (default ``max_iter=10``:
        truncated CG, which Martens' progress rule may stop earlier).

    Returns
    -------
    UpdateResult

    Raises
    ------
    MethodError
        An unknown method or curvature.
    InputError, ShapeError
        ``lr``, ``max_kl``, ``damping`` or ``advantages`` out of range or of the wrong shape
        (named), before any work.
    NotPositiveDefiniteError
        A damped Kronecker factor is numerically singular (``curvature="kfac"``).
    NonFiniteError
        A direction or the new parameters are not finite (a diverging run).
    """
    if method not in METHODS:
        raise MethodError(f"unknown policy update {method!r}; expected one of {', '.join(METHODS)}")
    if not isinstance(curvature, str) or curvature not in CURVATURES:
        raise MethodError(_unknown_curvature(curvature))
    lr = check_number(lr, "lr", low=0, strict=True)
    if max_kl is not None:
        max_kl = check_number(max_kl, "max_kl", low=0, strict=True)
    damping = check_number(damping, "damping", low=0, strict=curvature == "kfac")
    from riemannopt.rl.advantages import standardize

    adv = standardize(batch.advantages) if advantages is None else as_float_array(advantages, "advantages")
    if adv.shape != (len(batch.obs),):
        raise ShapeError(f"advantages must have shape ({len(batch.obs)},), one per state, got {adv.shape}")
    _finite(adv, method, "advantages", params)
    ops = policy.ops
    cg = {"max_iter": 10, **cg, "ops": ops}
    state = policy.linearize(params, batch.obs)
    grad = _finite(state.surrogate_gradient(batch.actions, adv), method, "policy gradient", params)
    metric = _Metric(curvature, policy, params, state, batch.obs, damping, cg)
    d = metric.natural(grad)
    dFd = ops.dot(d, state.fisher_vp(d))
    r = step_rate(lr, dFd, max_kl)
    if method == "ng":
        delta = ops.scale_(r, ops.copy(d))
    elif method == "geo":
        delta = geodesic_update(d, metric.correction(d), r, ops=ops)
    else:  # mid
        half_params = ops.axpby(1.0, params, 0.5 * r, d)
        half = policy.linearize(half_params, batch.obs)
        w = _finite(
            adv * np.exp(half.log_prob(batch.actions) - batch.log_probs),
            method,
            "importance-weighted advantages at the midpoint",
            params,
        )
        at_half = _Metric(curvature, policy, half_params, half, batch.obs, damping, cg)
        delta = ops.scale_(r, at_half.natural(half.surrogate_gradient(batch.actions, w)))
        metric.iterations += at_half.iterations
    shrink = 1.0
    if method != "ng" and max_kl is not None:
        # The trust region bounds the update actually taken: mid's direction comes from another
        # point and geo adds a term, so either may leave the region that r·d respects.
        kl2 = 0.5 * ops.dot(delta, state.fisher_vp(delta))
        if kl2 > max_kl:
            shrink = math.sqrt(max_kl / kl2)
            ops.scale_(shrink, delta)
    new = _finite(ops.axpby(1.0, params, 1.0, delta), method, "updated policy parameters", params)
    kl = state.kl(policy.linearize(new, batch.obs))
    step = r * math.sqrt(ops.dot(d, d))
    gap = ops.axpby(1.0, delta, -r, d)
    correction = math.sqrt(ops.dot(gap, gap)) / step if step > 0 else 0.0
    return UpdateResult(new, r, 0.5 * r * r * dFd, kl, metric.iterations, correction, shrink)


class _Metric:
    """The damped metric ``A`` of one update at one point: natural directions ``−A⁻¹g`` and
    geodesic corrections ``A⁻¹Γ_first(d, d)``, by CG on exact Fisher products (through
    :mod:`riemannopt.nn.directions`) or by the Kronecker-factored inverse; counts CG steps."""

    def __init__(self, curvature, policy, params, state, obs, damping, cg):
        self.state = state
        self.damping = damping
        self.cg = cg
        self.iterations = 0
        self.kfac = KFAC(policy, params, obs) if curvature == "kfac" else None

    def natural(self, grad):
        if self.kfac is not None:
            return -self.kfac.solve(grad, self.damping)
        sol = natural_direction(self.state.fisher_vp, grad, self.damping, **self.cg)
        self.iterations += sol.iterations
        return sol.x

    def correction(self, d):
        if self.kfac is not None:
            return self.kfac.solve(self.state.connection_vp(d), self.damping)
        sol = geodesic_correction(self.state.fisher_vp, self.state.connection_vp, d, self.damping, **self.cg)
        self.iterations += sol.iterations
        return sol.x


def _finite(x, method, what, params):
    if not np.isfinite(x).all():
        verb = "is" if "gradient" in what else "are"
        raise NonFiniteError(f"{method}: the {what} {verb} not finite", method=method, point=params)
    return x
