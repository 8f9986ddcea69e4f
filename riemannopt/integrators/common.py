"""Argument checking and status handling shared by the integrators."""

import numpy as np

from .. import errors
from ..codegen import CompiledProblem

__all__ = ["as_compiled", "raise_status", "check_positive", "STATUS_TEXT"]

# Status codes of _kernels.py (OUT_OF_DOMAIN, NOT_PD, NON_FINITE, EXPMAP_FAILED) → (exception
# class, what went wrong); tests/integrators/test_failures.py checks the codes agree.
STATUS_TEXT = {
    1: (errors.DomainError, "is outside the domain"),
    2: (errors.NotPositiveDefiniteError, "has a metric that is singular or not positive definite"),
    3: (errors.NonFiniteError, "is not finite (or its loss is not)"),
    4: (errors.ExpMapError, "is where the geodesic ODE solver could not finish the exponential map"),
}


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


def raise_status(status, compiled, *, method, step, point, trajectory=None, during=None):
    """Raise the error for a kernel status code, naming the method, the step and the point."""
    cls, text = STATUS_TEXT[status]
    point = np.array(point)
    where = f"while computing x_{step} from x_{step - 1} = {trajectory.x[-1]}: an intermediate point" if during else f"x_{step} = {point}"
    msg = f"method {method!r} failed at step {step}: {where} {text}"
    if status == 1:
        msg += domain_text(compiled)
    if trajectory is not None:
        msg += f"; the partial trajectory ({len(trajectory)} iterates) is in the exception's .trajectory"
    raise cls(msg, method=method, step=step, point=point, trajectory=trajectory)


def check_positive(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise errors.MethodError(f"{name} must be a positive number, got {value!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise errors.MethodError(f"{name} must be a positive finite number, got {value!r}")
    return value
