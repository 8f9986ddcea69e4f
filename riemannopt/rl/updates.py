r"""One natural-policy-gradient update: ``ng``, ``mid`` or ``geo`` (paper §3–4, §7.3).

The objective of a batch is the surrogate ``L(θ) = −(1/n) Σ_k Â_k log π_θ(a_k | s_k)`` with
standardized advantages ``Â``; its gradient at the policy that collected the batch is the policy
gradient, and its metric is the policy's Fisher on the sampled states (Kakade 2002).  Every
direction comes from :mod:`riemannopt.nn.directions`, the functions the supervised trainer uses,
with the damped Fisher ``A = F + λI`` applied by exact Fisher-vector products and solved by
truncated CG (the paper's ACKTR runs use Kronecker-factored approximations of ``F`` instead):

* ``ng``: ``d = −A⁻¹∇L`` (:func:`~riemannopt.nn.directions.natural_direction`), update ``r·d``;
* ``mid``: the same direction recomputed at the half step ``θ + (r/2)·d`` on the same batch and
  applied from θ, update ``r·d_mid`` (the midpoint integrator of §3);
* ``geo``: ``c = A⁻¹ Γ_first(d, d)`` (:func:`~riemannopt.nn.directions.geodesic_correction`),
  update ``r·d − ½ r²·c`` (eq. 7, :func:`~riemannopt.nn.directions.geodesic_update`).

The step ``r`` is the learning rate ``η``, shrunk if needed so that the second-order estimate of
the KL divergence of the first-order step stays within a trust region δ (Wu et al. 2017, §3.1)::

    r = min(η, √(2δ / dᵀF d)),

computed once from ``ng``'s ``d`` and shared by the three methods, so that they differ only in
how they integrate the natural-gradient flow over the same step (paper App. E.2: "the same
constant learning rate schedule for all three methods").

At the midpoint the batch no longer comes from the policy being differentiated, so ``mid`` uses
the importance-weighted surrogate ``−(1/n) Σ_k ρ_k Â_k log π(a_k | s_k)``, ``ρ_k = π_mid(a_k |
s_k) / π_old(a_k | s_k)`` held fixed: its gradient is that of ``(1/n) Σ_k ρ_k Â_k`` (the
objective TRPO maximizes), the standard estimate of the policy gradient at a nearby policy from
the old policy's samples.  At θ itself ``ρ = 1`` and the two surrogates agree.
"""

import math
from dataclasses import dataclass

import numpy as np

from riemannopt.errors import MethodError, NonFiniteError
from riemannopt.nn.directions import geodesic_correction, geodesic_update, natural_direction

__all__ = ["METHODS", "UpdateResult", "step_rate", "policy_update"]

#: The update rules of this module.
METHODS = ("ng", "mid", "geo")


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
        CG steps of all the solves of this update.
    correction : float
        ``‖Δ − r·d‖ / ‖r·d‖``: how far the update Δ is from the ``ng`` step (0 for ``ng``).
    """

    params: np.ndarray
    rate: float
    kl_predicted: float
    kl: float
    cg_iterations: int
    correction: float = 0.0


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
    if max_kl is None or not dFd > 0:
        return float(lr)
    return float(min(lr, math.sqrt(2.0 * max_kl / dFd)))


def policy_update(policy, params, batch, method, *, lr, max_kl=None, damping=1e-2, advantages=None, **cg):
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
        λ of ``A = F + λI``.
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
        An unknown method.
    NonFiniteError
        A direction or the new parameters are not finite (a diverging run).
    """
    if method not in METHODS:
        raise MethodError(f"unknown policy update {method!r}; expected one of {', '.join(METHODS)}")
    from riemannopt.rl.advantages import standardize

    adv = standardize(batch.advantages) if advantages is None else np.asarray(advantages, dtype=np.float64)
    _finite(adv, method, "advantages", params)
    ops = policy.ops
    cg = {"max_iter": 10, **cg, "ops": ops}
    state = policy.linearize(params, batch.obs)
    grad = _finite(state.surrogate_gradient(batch.actions, adv), method, "policy gradient", params)
    sol = natural_direction(state.fisher_vp, grad, damping, **cg)
    d, iters = sol.x, sol.iterations
    dFd = ops.dot(d, state.fisher_vp(d))
    r = step_rate(lr, dFd, max_kl)
    if method == "ng":
        delta = ops.scale_(r, ops.copy(d))
    elif method == "geo":
        corr = geodesic_correction(state.fisher_vp, state.connection_vp, d, damping, **cg)
        iters += corr.iterations
        delta = geodesic_update(d, corr.x, r, ops=ops)
    else:  # mid
        half = policy.linearize(ops.axpby(1.0, params, 0.5 * r, d), batch.obs)
        w = _finite(adv * np.exp(half.log_prob(batch.actions) - batch.log_probs), method,
                    "importance-weighted advantages at the midpoint", params)
        sol = natural_direction(half.fisher_vp, half.surrogate_gradient(batch.actions, w), damping, **cg)
        iters += sol.iterations
        delta = ops.scale_(r, sol.x)
    new = _finite(ops.axpby(1.0, params, 1.0, delta), method, "updated policy parameters", params)
    kl = state.kl(policy.linearize(new, batch.obs))
    step = r * math.sqrt(ops.dot(d, d))
    gap = ops.axpby(1.0, delta, -r, d)
    correction = math.sqrt(ops.dot(gap, gap)) / step if step > 0 else 0.0
    return UpdateResult(new, r, 0.5 * r * r * dFd, kl, iters, correction)


def _finite(x, method, what, params):
    if not np.isfinite(x).all():
        verb = "is" if "gradient" in what else "are"
        raise NonFiniteError(f"{method}: the {what} {verb} not finite", method=method, point=params)
    return x
