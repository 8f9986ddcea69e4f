"""Argument checking and status handling shared by the integrators."""

import numpy as np

from riemannopt import errors
from riemannopt._checks import as_count, as_float_array, check_finite
from riemannopt.codegen import CompiledProblem
from riemannopt.integrators.outcomes import EXPMAP_FAILED, NOT_PD, OUT_OF_DOMAIN, STATUS_TEXT, WHY_DOMAIN, WHY_TEXT

__all__ = [
    "as_compiled",
    "raise_status",
    "raise_expmap",
    "raise_expmap_stop",
    "raise_flow_stop",
    "expmap_detail",
    "check_start",
    "check_max_steps",
    "STATUS_TEXT",
    "WHY_TEXT",
]

# STATUS_TEXT (a failure status → its exception class and texts) and WHY_TEXT (why an ODE solve
# stopped) are the outcome vocabulary's (riemannopt.integrators.outcomes).


def as_compiled(problem):
    """A CompiledProblem for ``problem`` (a Problem is compiled, through the cache)."""
    if isinstance(problem, CompiledProblem):
        return problem
    if hasattr(problem, "compile"):
        return problem.compile()
    raise TypeError(f"expected a riemannopt Problem or CompiledProblem, got {type(problem).__name__}")


def domain_text(compiled):
    conds = ", ".join(map(str, compiled.problem.domain))
    return f" (domain: {conds})" if conds else ""


def why_text(why, max_steps):
    return WHY_TEXT[int(why)].format(max_steps=max_steps)


def expmap_detail(v, t, y, why, max_steps):
    """What to say of an exponential map with velocity ``v`` that stopped at ``t`` in ``y``."""
    return (
        f" (the geodesic from there with velocity lr·d = {v} stopped at t = {t:.6g} of 1, at "
        f"{y}, because {why_text(why, max_steps)})"
    )


# The reporters of a step rule's ODE solve that stopped short (status EXPMAP_FAILED), one of which
# each registry entry names (Method.solve_stop): the solve from x_{step-1} = point stopped at time
# t in the state y (its first n entries) because of why.


def raise_expmap_stop(compiled, *, method, step, lr, point, t, y, why, max_steps, trajectory):
    """Raise the ExpMapError of a step whose exponential map of ``η·d(point)`` stopped."""
    d = np.empty(compiled.n)
    compiled.function("direction")(point, compiled.p, d)  # the point may be invalid: no checks
    detail = expmap_detail(lr * d, t, y, why, max_steps)
    raise_status(
        EXPMAP_FAILED,
        compiled,
        method=method,
        step=step,
        point=point,
        trajectory=trajectory,
        during=True,
        detail=detail,
    )


def raise_flow_stop(compiled, *, method, step, lr, point, t, y, why, max_steps, trajectory):
    """Raise the ExpMapError of ``exact``, whose solve of the flow ``ẋ = d(x)`` from
    ``x_{step-1}`` stopped at ``t`` of ``η`` in ``y``."""
    t = (step - 1) * lr + t
    where = (
        f"the ODE solver of the flow ẋ = d(x) stopped at t = {t:.6g}, x = {np.asarray(y)}, before "
        f"t_{step} = {step * lr:.6g}, because {why_text(why, max_steps)}"
    )
    if why == WHY_DOMAIN:
        where += domain_text(compiled)
    msg = (
        f"method {method!r} failed at step {step}: {where}; the partial trajectory ({len(trajectory)} "
        "iterates) is in the exception's .trajectory"
    )
    raise errors.ExpMapError(msg, method=method, step=step, point=np.array(y), trajectory=trajectory, t=float(t))


def raise_status(status, compiled, *, method, step, point, trajectory=None, during=None, detail="", where=None):
    """Raise the error for a kernel status code, naming the method, the step and the point.

    ``during``: the step from ``x_{step-1}`` failed before producing ``x_step`` (``point`` is then
    ``x_{step-1}``); ``detail`` is appended to the description; ``where``, if given, replaces the
    description of the point (the status's text follows it).
    """
    cls, text, text_during = STATUS_TEXT[status]
    point = np.array(point)
    if status == NOT_PD and not during and not _finite_metric(compiled, point):
        cls, text = errors.NonFiniteError, "has a metric that is not finite"
        if compiled.problem.metric.numeric:
            text += (
                f" (the quadrature's total probability there is not within tol = {compiled.problem.metric.tol:g} "
                "of 1: is the density normalised? else raise level= or give a substitution= that standardises it)"
            )
    if where is not None:
        where = f"{where} {text}"
    elif during:
        where = f"while computing x_{step} from x_{step - 1} = {point}: {text_during}"
    else:
        where = f"x_{step} = {point} {text}"
    msg = f"method {method!r} failed at step {step}: {where}{detail}"
    if status == OUT_OF_DOMAIN:
        msg += domain_text(compiled)
    if trajectory is not None:
        msg += f"; the partial trajectory ({len(trajectory)} iterates) is in the exception's .trajectory"
    raise cls(msg, method=method, step=step, point=point, trajectory=trajectory)


def _finite_metric(compiled, point):
    try:
        return bool(np.all(np.isfinite(compiled.metric(point))))
    except errors.RiemannOptError:  # outside the domain: not a question of finiteness
        return True


def raise_expmap(compiled, what, x, v, t, end, y, why, max_steps, **context):
    """Raise an ExpMapError for a geodesic from ``x`` with velocity ``v`` that stopped at time ``t``
    (of ``end``) in the state ``y = (γ(t), γ̇(t))``."""
    n = compiled.n
    msg = (
        f"{what}: the geodesic from x = {np.asarray(x)} with velocity v = {np.asarray(v)} could only be "
        f"followed to t = {t:.6g} of {end:.6g}, where γ(t) = {y[:n]}, because {why_text(why, max_steps)}"
    )
    if why == WHY_DOMAIN:
        msg += domain_text(compiled)
    raise errors.ExpMapError(msg, point=np.array(y[:n]), t=float(t), **context)


#: Default step caps of one ODE solve: the jitted Dormand–Prince integrator takes about a
#: microsecond per step, scipy's DOP853 (driven from Python) about a hundred.
MAX_STEPS_DOPRI = 100_000
MAX_STEPS_SCIPY = 20_000


def check_max_steps(max_steps, scipy):
    """The step cap of one ODE solve: ``max_steps``, or the default of the solver (``scipy``:
    scipy's DOP853, else the jitted integrator) when it is None."""
    if max_steps is None:
        return MAX_STEPS_SCIPY if scipy else MAX_STEPS_DOPRI
    return as_count(max_steps, "max_steps")


def check_start(compiled, kernels, x, what):
    """``x`` as a valid start point: numeric, finite, of the right shape, in the domain and with a
    positive definite metric; else the error naming ``what``."""
    a = check_finite(as_float_array(x, what), what)
    a = compiled.point(a, what)
    w = np.empty(compiled.n)
    if not kernels.chol_solve(compiled.metric(a), np.zeros(compiled.n), w):
        raise errors.NotPositiveDefiniteError(
            f"{what} = {a}: the metric there is singular or not positive definite", point=a
        )
    return a


def check_vector(compiled, v, what):
    """``v`` as a numeric, finite vector of the right shape."""
    return compiled.vector(check_finite(as_float_array(v, what), what), what)
