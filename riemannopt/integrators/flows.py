"""ODE solves through scipy: the ``solve_ivp`` exponential map and geodesic, kept for comparison
with the jitted solver (:mod:`riemannopt.integrators.kernels`) that every method uses.

They use scipy's DOP853 (the method ``solve_ivp`` would use) with the problem's jitted
right-hand side, stepped here rather than inside ``solve_ivp`` so that every solve has a bounded
amount of work and stops at the first invalid state:

* a right-hand side evaluated at an invalid point (outside the domain, not finite, a metric that
  is not positive definite) returns NaN, which makes the solver reject that trial step and try a
  shorter one;
* every accepted state and every sample is checked, and the solve stops at the first invalid one;
* at most ``max_steps`` solver steps are taken, and at most ``_EVALS_PER_STEP · max_steps``
  right-hand-side evaluations are made (a step whose size has become NaN would otherwise reject
  itself forever inside scipy);
* the samples reached before a failure are kept.
"""

from dataclasses import dataclass

import numpy as np

from riemannopt.integrators.outcomes import (
    EXPMAP_FAILED,
    OK,
    WHY_DOMAIN,
    WHY_NON_FINITE,
    WHY_NOT_PD,
    WHY_STEP_CAP,
    WHY_TOLERANCE,
    why_failed,
)

# The stop reasons are those of the jitted integrators (riemannopt.integrators.outcomes).
__all__ = ["ivp_samples", "IvpResult", "WHY_TOLERANCE", "WHY_DOMAIN", "WHY_NON_FINITE", "WHY_STEP_CAP", "WHY_NOT_PD"]

# DOP853 makes 12 evaluations per attempted step and 3 more for dense output; the margin allows
# on average one rejected attempt per accepted step.
_EVALS_PER_STEP = 30


class _EvaluationCap(Exception):
    """Raised from inside the right-hand side to leave scipy's step loop."""


@dataclass
class IvpResult:
    """Outcome of :func:`ivp_samples`.

    Attributes
    ----------
    count : int
        How many samples were reached (all of them on success).
    t : float
        The time of the last valid state.
    y : ndarray
        That state.
    status : int
        ``OK`` on success; else the status of the offending state when ``check`` rejected one, or
        ``EXPMAP_FAILED`` when the solver could not continue (:mod:`~riemannopt.integrators.outcomes`).
    why : int
        One of the ``WHY_*`` codes when the solver could not continue.
    message : str
        The solver's own message, if any.
    bad : ndarray or None
        The offending state when ``check`` rejected one.
    """

    count: int
    t: float
    y: np.ndarray
    status: int = OK
    why: int = WHY_TOLERANCE
    message: str = ""
    bad: np.ndarray | None = None


def ivp_samples(rhs, check, y0, ts, rtol, atol, max_steps, out):
    """Solve ``ẏ = rhs(y)`` from ``y(0) = y0`` and write its samples at the times ``ts`` into
    ``out``.

    Parameters
    ----------
    rhs : callable
        ``rhs(y) -> ndarray``; NaN entries mark a point where the field is not defined.
    check : callable
        ``check(y) -> int``: ``OK`` for a valid state, else its status (``OUT_OF_DOMAIN``,
        ``NOT_PD``, ``NON_FINITE``).
    y0 : ndarray
        The start, assumed valid (callers check it first, with a clear error).
    ts : ndarray
        Non-decreasing sample times ``≥ 0``.
    rtol, atol : float
        DOP853's tolerances.
    max_steps : int
        Step cap of the solve.
    out : ndarray, shape (len(ts), len(y0))
        Receives the samples; rows past a failure are left untouched.

    Returns
    -------
    IvpResult
    """
    from scipy.integrate import DOP853  # deferred: importing scipy.integrate costs ~0.5 s

    i = int(np.searchsorted(ts, 0.0, side="right"))
    out[:i] = y0
    result = IvpResult(count=i, t=0.0, y=y0)
    if i == len(ts):
        return result
    invalid = [WHY_TOLERANCE]
    evals = [0]

    def field(t, y):
        evals[0] += 1
        if evals[0] > _EVALS_PER_STEP * max_steps:
            raise _EvaluationCap
        f = rhs(y)
        if not np.all(np.isfinite(f)):
            why = why_failed(check(y))
            # A NaN field value spreads to the next stages of the same attempt: keep the first cause.
            if why != WHY_NON_FINITE or invalid[0] == WHY_TOLERANCE:
                invalid[0] = why
        return f

    try:
        with np.errstate(all="ignore"):
            solver = DOP853(field, 0.0, y0, ts[-1], rtol=rtol, atol=atol)
            for _ in range(max_steps):
                message = solver.step()
                if solver.status == "failed":
                    result.status, result.why, result.message = EXPMAP_FAILED, invalid[0], message or ""
                    return result
                invalid[0] = WHY_TOLERANCE  # the causes of rejections before this step are past
                status = check(solver.y)
                j = int(np.searchsorted(ts, solver.t, side="right"))
                if j > i:
                    samples = solver.dense_output()(ts[i:j]).T
                    for row in samples:
                        sample_status = check(row)
                        if sample_status != OK:
                            return _rejected(result, sample_status, row)
                        out[i] = row
                        i += 1
                        result.count, result.t, result.y = i, ts[i - 1], out[i - 1]
                if status != OK:
                    return _rejected(result, status, solver.y)
                result.t, result.y = solver.t, solver.y.copy()
                if i == len(ts):
                    return result
    except _EvaluationCap:
        pass
    result.status, result.why = EXPMAP_FAILED, WHY_STEP_CAP
    return result


def _rejected(result, status, state):
    result.status, result.bad, result.why = status, np.array(state), why_failed(status)
    return result
