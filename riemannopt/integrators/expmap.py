"""The exponential map and geodesics (paper §2.1, §4)."""

from dataclasses import dataclass

import numpy as np

from ..errors import MethodError
from .common import as_compiled, check_positive, raise_status
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


def exp_map_ivp(C, K, x, v, rtol, atol):
    """``Exp_x(v)`` through scipy's solve_ivp; None if the solver could not finish."""
    Y, count, _ = ivp_samples(_geodesic_rhs(C, K), np.concatenate([x, v]), np.array([0.0, 1.0]), rtol, atol)
    return Y[1, : C.n].copy() if count == 2 else None


def _prepare(problem, x, v, method, rtol, atol):
    if method not in _METHODS:
        raise MethodError(f"unknown exponential-map method {method!r}; choose one of {', '.join(_METHODS)}")
    C = as_compiled(problem)
    return C, kernels_for(C), C.point(x), C.vector(v), check_positive(rtol, "rtol"), check_positive(atol, "atol")


def exp_map(problem, x, v, method="dopri", rtol=1e-12, atol=1e-14, max_steps=100_000):
    """The exponential map ``Exp_x(v) = γ(1)`` for the geodesic ``γ̈ + Γ(γ̇, γ̇) = 0`` with
    ``γ(0) = x``, ``γ̇(0) = v`` (paper §2.1).

    Parameters
    ----------
    problem : Problem or CompiledProblem
    x : array_like, shape (n,)
        Base point.
    v : array_like, shape (n,)
        Tangent vector at ``x``.
    method : {"dopri", "solve_ivp"}
        ``"dopri"`` (default): an adaptive Dormand–Prince 5(4) integrator compiled with numba, no
        Python call per step.  ``"solve_ivp"``: scipy's ``solve_ivp`` (DOP853) with the jitted
        right-hand side.
    rtol, atol : float
        Error tolerances (scipy's meaning).
    max_steps : int
        Step cap of ``"dopri"``.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ExpMapError
        If the solver could not reach ``t = 1`` (the geodesic leaves the domain, blows up, or the
        step cap is hit).
    """
    C, K, x, v, rtol, atol = _prepare(problem, x, v, method, rtol, atol)
    if method == "dopri":
        status, y = K.exp_map(x, v, C.p, rtol, atol, int(max_steps))
        if status != K.OK:
            y = None
    else:
        y = exp_map_ivp(C, K, x, v, rtol, atol)
    if y is None:
        raise_status(K.EXPMAP_FAILED, C, method=f"exp_map[{method}]", step=1, point=x)
    return y


def geodesic(problem, x, v, ts, method="dopri", rtol=1e-12, atol=1e-14, max_steps=100_000):
    """Sample the geodesic with ``γ(0) = x``, ``γ̇(0) = v`` at the times ``ts`` (for plots and
    checks).

    ``ts`` must be non-decreasing and start at or after 0.  Returns a :class:`Geodesic`.
    Raises :class:`~riemannopt.errors.ExpMapError` if the solver cannot reach ``ts[-1]``.
    """
    C, K, x, v, rtol, atol = _prepare(problem, x, v, method, rtol, atol)
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    if ts.size == 0 or ts[0] < 0 or np.any(np.diff(ts) < 0):
        raise MethodError("ts must be a non-empty, non-decreasing sequence of times ≥ 0")
    n = C.n
    if method == "dopri":
        Y = np.full((ts.size, 2 * n), np.nan)
        status, count = K.geodesic_path(x, v, ts, C.p, rtol, atol, int(max_steps), Y)
    else:
        Y, count, _ = ivp_samples(_geodesic_rhs(C, K), np.concatenate([x, v]), ts, rtol, atol)
    if count < ts.size:
        raise_status(K.EXPMAP_FAILED, C, method=f"geodesic[{method}]", step=count, point=Y[count - 1, :n] if count else x)
    return Geodesic(t=ts, x=Y[:, :n], v=Y[:, n:])
