"""The exponential map and geodesics (paper §2.1, §4)."""

from dataclasses import dataclass

import numpy as np

from .._checks import as_float_array
from ..errors import MethodError
from .common import as_compiled, check_max_steps, check_positive, check_start, check_vector, raise_expmap
from .flows import ivp_samples
from .link import kernels_for

__all__ = ["exp_map", "geodesic", "Geodesic"]

_METHODS = ("dopri", "solve_ivp")


@dataclass(frozen=True)
class Geodesic:
    """Samples of a geodesic ``γ`` with ``γ(0) = x``, ``γ̇(0) = v``.

    Attributes
    ----------
    t : ndarray, shape (m,)
    x : ndarray, shape (m, n)
        ``γ(t)``.
    v : ndarray, shape (m, n)
        ``γ̇(t)``.
    """

    t: np.ndarray
    x: np.ndarray
    v: np.ndarray


def _geodesic_rhs(C, K):
    def rhs(y):
        out = np.empty(y.size)
        if not (np.all(np.isfinite(y)) and K.in_domain(y[: C.n], C.p)):
            out[:] = np.nan
        else:
            K.geodesic_rhs(y, C.p, out)
        return out

    return rhs


def _geodesic_check(C, K):
    def check(y):
        if not np.all(np.isfinite(y)):
            return K.NON_FINITE
        return K.OK if K.in_domain(y[: C.n], C.p) else K.OUT_OF_DOMAIN

    return check


def geodesic_ivp(C, K, x, v, ts, rtol, atol, max_steps, out):
    """Samples of the geodesic through scipy's DOP853 (see :func:`~.flows.ivp_samples`)."""
    return ivp_samples(_geodesic_rhs(C, K), _geodesic_check(C, K), np.concatenate([x, v]), ts, rtol, atol, max_steps, out)


def exp_map_ivp(C, K, x, v, rtol, atol, max_steps):
    """``Exp_x(v)`` through scipy's DOP853: ``(status, y, t, why)`` as the jitted ``exp_map``."""
    res = geodesic_ivp(C, K, x, v, np.array([0.0, 1.0]), rtol, atol, max_steps, np.empty((2, 2 * C.n)))
    status = K.OK if res.count == 2 else K.EXPMAP_FAILED
    return status, res.y, res.t, res.why


def _prepare(problem, x, v, method, rtol, atol, max_steps):
    if method not in _METHODS:
        raise MethodError(f"unknown exponential-map method {method!r}; choose one of {', '.join(_METHODS)}")
    C = as_compiled(problem)
    K = kernels_for(C)
    return (
        C,
        K,
        check_start(C, K, x, "x"),
        check_vector(C, v, "v"),
        check_positive(rtol, "rtol"),
        check_positive(atol, "atol"),
        check_max_steps(max_steps, scipy=method == "solve_ivp"),
    )


def exp_map(problem, x, v, method="dopri", rtol=1e-12, atol=1e-14, max_steps=None):
    """The exponential map ``Exp_x(v) = γ(1)`` for the geodesic ``γ̈ + Γ(γ̇, γ̇) = 0`` with
    ``γ(0) = x``, ``γ̇(0) = v`` (paper §2.1).

    Parameters
    ----------
    problem : Problem or CompiledProblem
    x : array_like, shape (n,)
        Base point: finite, in the domain, with a positive definite metric.
    v : array_like, shape (n,)
        Tangent vector at ``x`` (finite).
    method : {"dopri", "solve_ivp"}
        ``"dopri"`` (default): an adaptive Dormand–Prince 5(4) integrator compiled with numba, no
        Python call per step.  ``"solve_ivp"``: scipy's DOP853 (``solve_ivp``'s method) with the
        jitted right-hand side.
    rtol, atol : float
        Error tolerances (scipy's meaning).
    max_steps : int, optional
        Step cap of the solve (accepted and rejected steps); default 100 000 for ``"dopri"`` and
        20 000 for ``"solve_ivp"``, whose steps cost about a hundred times more.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    InputError, ShapeError, DomainError, NotPositiveDefiniteError
        A bad ``x`` or ``v`` (before any work).
    ExpMapError
        If the solver could not reach ``t = 1``: the geodesic leaves the domain, stops being
        finite, or the step cap is hit.  The message names the geodesic and how far it got; the
        exception's ``.t`` is that time and ``.point`` the point ``γ(t)`` reached.
    """
    C, K, x, v, rtol, atol, max_steps = _prepare(problem, x, v, method, rtol, atol, max_steps)
    if method == "dopri":
        status, y, t, why = K.exp_map(x, v, C.p, rtol, atol, max_steps)
    else:
        status, y, t, why = exp_map_ivp(C, K, x, v, rtol, atol, max_steps)
    if status != K.OK:
        raise_expmap(C, f"exp_map[{method}] failed", x, v, t, 1.0, y, why, max_steps, method=f"exp_map[{method}]")
    return y[: C.n].copy()


def geodesic(problem, x, v, ts, method="dopri", rtol=1e-12, atol=1e-14, max_steps=None):
    """Sample the geodesic with ``γ(0) = x``, ``γ̇(0) = v`` at the times ``ts`` (for plots and
    checks).

    ``ts`` must be non-decreasing and start at or after 0; ``max_steps`` caps the solver steps of
    the whole path (default as in :func:`exp_map`).  Returns a :class:`Geodesic`.  Raises :class:`~riemannopt.errors.ExpMapError`
    if the solver cannot reach ``ts[-1]``; its ``.geodesic`` holds the samples computed before the
    failure, ``.t`` how far the solver got and ``.point`` the point ``γ(t)`` it reached.
    """
    C, K, x, v, rtol, atol, max_steps = _prepare(problem, x, v, method, rtol, atol, max_steps)
    ts = as_float_array(ts, "ts").reshape(-1)
    if ts.size == 0 or not np.all(np.isfinite(ts)) or ts[0] < 0 or np.any(np.diff(ts) < 0):
        raise MethodError(f"ts must be a non-empty, non-decreasing sequence of finite times ≥ 0, got {ts}")
    n = C.n
    Y = np.full((ts.size, 2 * n), np.nan)
    if method == "dopri":
        status, count, y, t, why = K.geodesic_path(x, v, ts, C.p, rtol, atol, max_steps, Y)
    else:
        res = geodesic_ivp(C, K, x, v, ts, rtol, atol, max_steps, Y)
        count, y, t, why = res.count, res.y, res.t, res.why
    if count < ts.size:
        partial = Geodesic(t=ts[:count].copy(), x=Y[:count, :n].copy(), v=Y[:count, n:].copy())
        what = f"geodesic[{method}] failed after {count} of {ts.size} samples (the exception's .geodesic holds them)"
        raise_expmap(C, what, x, v, t, ts[-1], y, why, max_steps, method=f"geodesic[{method}]", step=count, geodesic=partial)
    return Geodesic(t=ts, x=Y[:, :n], v=Y[:, n:])
