"""The exponential map and geodesics (paper §2.1, §4)."""

from dataclasses import dataclass

import numpy as np

from riemannopt import errors
from riemannopt._checks import as_float_array, check_finite, check_number
from riemannopt.errors import MethodError, ShapeError
from riemannopt.integrators.common import (
    STATUS_TEXT,
    as_compiled,
    check_max_steps,
    check_start,
    check_vector,
    raise_expmap,
)
from riemannopt.integrators.flows import ivp_samples
from riemannopt.integrators.link import kernels_for
from riemannopt.integrators.outcomes import EXPMAP_FAILED, NON_FINITE, OK, OUT_OF_DOMAIN

__all__ = ["exp_map", "parallel_transport", "geodesic", "Geodesic"]

_METHODS = ("dop853", "dopri", "solve_ivp")


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
            K.ode_rhs(y, C.p, out)
        return out

    return rhs


def _geodesic_check(C, K):
    def check(y):
        if not np.all(np.isfinite(y)):
            return NON_FINITE
        return OK if K.in_domain(y[: C.n], C.p) else OUT_OF_DOMAIN

    return check


def geodesic_ivp(C, K, x, v, ts, rtol, atol, max_steps, out):
    """Samples of the geodesic through scipy's DOP853 (see :func:`~.flows.ivp_samples`)."""
    return ivp_samples(
        _geodesic_rhs(C, K), _geodesic_check(C, K), np.concatenate([x, v]), ts, rtol, atol, max_steps, out
    )


def exp_map_ivp(C, K, x, v, rtol, atol, max_steps):
    """``Exp_x(v)`` through scipy's DOP853: ``(status, y, t, why)`` as the jitted ``exp_map``."""
    res = geodesic_ivp(C, K, x, v, np.array([0.0, 1.0]), rtol, atol, max_steps, np.empty((2, 2 * C.n)))
    status = OK if res.count == 2 else EXPMAP_FAILED
    return status, res.y, res.t, res.why


def _prepare(problem, x, v, method, rtol, atol, max_steps):
    if method not in _METHODS:
        raise MethodError(f"unknown exponential-map method {method!r}; choose one of {', '.join(_METHODS)}")
    C = as_compiled(problem)
    K = kernels_for(C)
    if not (_plain(x, C.n) and _plain(v, C.n) and K.start_ok(x, v, C.p)):
        # the detailed checks, which name what is wrong (or convert what is merely not float64)
        x, v = check_start(C, K, x, "x"), check_vector(C, v, "v")
    return (
        C,
        K,
        x,
        v,
        check_number(rtol, "rtol", low=0, strict=True, cls=MethodError),
        check_number(atol, "atol", low=0, strict=True, cls=MethodError),
        check_max_steps(max_steps, scipy=method == "solve_ivp"),
    )


def _plain(a, n):
    """Whether ``a`` is already a contiguous float64 vector of length ``n`` (no conversion)."""
    return type(a) is np.ndarray and a.dtype == np.float64 and a.shape == (n,) and a.flags.c_contiguous


def _is_batch(*arrays):
    # np.ndim costs a quarter of a microsecond, a tenth of a short geodesic solve
    return any((a.ndim if type(a) is np.ndarray else _ndim(a)) == 2 for a in arrays)


def _ndim(a):
    try:
        return np.ndim(a)
    except ValueError:  # ragged: _batch_arrays names it
        return 2


def _batch_arrays(C, K, names, arrays):
    """The rows of a batch: every array of shape ``(B, n)`` (or ``(n,)``, the same for every
    member), numeric and finite, the points (the first) in the domain with a positive definite
    metric; a ShapeError, InputError, DomainError or NotPositiveDefiniteError naming the first bad
    row."""
    out = [check_finite(as_float_array(a, name), name) for a, name in zip(arrays, names)]
    B = next(len(a) for a in out if a.ndim == 2)  # the first batch sets the size
    for a, name in zip(out, names):
        if a.shape not in ((B, C.n), (C.n,)):
            raise ShapeError(
                f"{name} must have shape ({B}, {C.n}) (a batch) or ({C.n},) for this problem, got {a.shape}"
            )
    out = [np.ascontiguousarray(np.broadcast_to(a, (B, C.n))) for a in out]
    status = np.empty(B, dtype=np.int64)
    first = K.check_all(True, out[0], C.p, status)
    if first >= 0:
        cls, text, _ = STATUS_TEXT[int(status[first])]
        raise cls(f"{names[0]}[{first}] = {out[0][first]} {text}", point=out[0][first], index=int(first))
    return out


def _batch_outcome(C, what, X, V, Y, status, T, why, max_steps, lo, hi):
    """The rows ``Y[:, lo:hi]`` of a batch of solves, or the ExpMapError of its first failed
    member, naming its row and carrying every member's result (NaN where one failed)."""
    result = Y[:, lo:hi].copy()
    failed = np.flatnonzero(status != OK)
    result[failed] = np.nan
    if failed.size == 0:
        return result
    b = int(failed[0])
    try:
        raise_expmap(
            C,
            f"{what}, batch member {b} of {len(X)} ({failed.size} failed)",
            X[b],
            V[b],
            T[b],
            1.0,
            Y[b],
            why[b],
            max_steps,
            method=what,
        )
    except errors.ExpMapError as exc:
        exc.index, exc.result = b, result
        exc.args = (exc.args[0] + "; every member's result is in the exception's .result (NaN rows where one failed)",)
        raise


def exp_map(problem, x, v, method="dop853", rtol=1e-12, atol=1e-14, max_steps=None):
    """The exponential map ``Exp_x(v) = γ(1)`` for the geodesic ``γ̈ + Γ(γ̇, γ̇) = 0`` with
    ``γ(0) = x``, ``γ̇(0) = v`` (paper §2.1).

    Parameters
    ----------
    problem : Problem or CompiledProblem
    x : array_like, shape (n,) or (B, n)
        Base point: finite, in the domain, with a positive definite metric.  A 2-D ``x`` or ``v``
        is a batch of ``B`` maps (a 1-D one is shared by every member), solved in parallel
        threads in one jitted call.
    v : array_like, shape (n,) or (B, n)
        Tangent vector at ``x`` (finite).
    method : {"dop853", "dopri", "solve_ivp"}
        ``"dop853"`` (default): the adaptive Dormand–Prince 8(5,3) integrator (Hairer, Nørsett &
        Wanner's DOP853) compiled with numba, no Python call per step.  ``"dopri"``: the
        jitted Dormand–Prince 5(4) pair, two to four times slower at equal accuracy (kept for
        comparison).  ``"solve_ivp"``: scipy's DOP853 with the jitted right-hand side, stepped from
        Python (a batch is then solved member by member).
    rtol, atol : float
        Error tolerances (scipy's meaning).
    max_steps : int, optional
        Step cap of the solve (accepted and rejected steps); default 100 000 for the jitted
        integrators and 20 000 for ``"solve_ivp"``, whose steps cost about a hundred times more.

    Returns
    -------
    ndarray, shape (n,) or (B, n)

    Raises
    ------
    InputError, ShapeError, DomainError, NotPositiveDefiniteError
        A bad ``x`` or ``v`` (before any work); in a batch, the message names the first bad row
        and the exception's ``.index`` is that row.
    ExpMapError
        If the solver could not reach ``t = 1``: the geodesic leaves the domain, stops being
        finite, or the step cap is hit.  The message names the geodesic and how far it got; the
        exception's ``.t`` is that time and ``.point`` the point ``γ(t)`` reached.  In a batch
        every member is solved; the error names the first that failed (``.index``) and carries
        every member's result in ``.result`` (NaN rows for those that failed).
    """
    if _is_batch(x, v):
        return _solve_batch(problem, ("x", "v"), (x, v), method, rtol, atol, max_steps, "exp_map")
    C, K, x, v, rtol, atol, max_steps = _prepare(problem, x, v, method, rtol, atol, max_steps)
    if method == "dop853":
        status, y, t, why = K.exp_map(x, v, C.p, rtol, atol, max_steps)
    elif method == "dopri":
        status, y, t, why = K.exp_map_dopri(x, v, C.p, rtol, atol, max_steps)
    else:
        status, y, t, why = exp_map_ivp(C, K, x, v, rtol, atol, max_steps)
    if status != OK:
        raise_expmap(C, f"exp_map[{method}] failed", x, v, t, 1.0, y, why, max_steps, method=f"exp_map[{method}]")
    return y[: C.n].copy()


def parallel_transport(problem, x, v, w, rtol=1e-12, atol=1e-14, max_steps=None):
    """Parallel transport of the tangent vector ``w`` from ``x`` to ``Exp_x(v)`` along the
    geodesic ``γ(t) = Exp_x(t v)``, ``t ∈ [0, 1]``.

    The transported field solves ``Ẇ + Γ(γ̇, W) = 0`` with ``W(0) = w``, integrated jointly
    with the geodesic equation by the jitted DOP853 solver (one ODE in
    ``(γ, γ̇, W)``).  Transport is linear in ``w`` and preserves the metric's inner products,
    ``g(W(t), W'(t))`` constant along ``γ``.

    Parameters
    ----------
    problem : Problem or CompiledProblem
    x : array_like, shape (n,) or (B, n)
        Base point: finite, in the domain, with a positive definite metric.  2-D arguments are a
        batch (1-D ones are shared by every member), solved in parallel threads.
    v : array_like, shape (n,) or (B, n)
        The geodesic's initial velocity.
    w : array_like, shape (n,) or (B, n)
        The vector to transport, at ``x``.
    rtol, atol : float
        Error tolerances of the joint solve.
    max_steps : int, optional
        Step cap of the solve (default 100 000).

    Returns
    -------
    ndarray, shape (n,) or (B, n)
        ``W(1)``, a tangent vector at ``Exp_x(v)``.

    Raises
    ------
    InputError, ShapeError, DomainError, NotPositiveDefiniteError, ExpMapError
        As :func:`exp_map`.
    """
    if _is_batch(x, v, w):
        return _solve_batch(problem, ("x", "v", "w"), (x, v, w), "dop853", rtol, atol, max_steps, "parallel_transport")
    C, K, x, v, rtol, atol, max_steps = _prepare(problem, x, v, "dop853", rtol, atol, max_steps)
    w = check_vector(C, w, "w")
    status, y, t, why = K.transport(x, v, w, C.p, rtol, atol, max_steps)
    if status != OK:
        raise_expmap(C, "parallel_transport failed", x, v, t, 1.0, y, why, max_steps, method="parallel_transport")
    return y[2 * C.n :].copy()


def _solve_batch(problem, names, arrays, method, rtol, atol, max_steps, what):
    if method not in _METHODS:
        raise MethodError(f"unknown exponential-map method {method!r}; choose one of {', '.join(_METHODS)}")
    C = as_compiled(problem)
    K = kernels_for(C)
    rows = _batch_arrays(C, K, names, arrays)
    rtol, atol = (
        check_number(rtol, "rtol", low=0, strict=True, cls=MethodError),
        check_number(atol, "atol", low=0, strict=True, cls=MethodError),
    )
    max_steps = check_max_steps(max_steps, scipy=method == "solve_ivp")
    B, n = rows[0].shape
    Y = np.empty((B, len(rows) * n))
    status = np.zeros(B, dtype=np.int64)
    T = np.zeros(B)
    why = np.zeros(B, dtype=np.int64)
    if method != "dop853":  # the comparison integrators, member by member
        solve = K.exp_map_dopri if method == "dopri" else lambda *a: exp_map_ivp(C, K, *a[:2], *a[3:])
        for b in range(B):
            status[b], y, T[b], why[b] = solve(rows[0][b], rows[1][b], C.p, rtol, atol, max_steps)
            Y[b] = y
    elif C.has_data:
        # Sums over data rows run in parallel threads themselves; numba's workqueue threading
        # layer forbids a parallel region inside another: member by member.
        solve = K.exp_map if len(rows) == 2 else K.transport
        for b in range(B):
            status[b], y, T[b], why[b] = solve(*(r[b] for r in rows), C.p, rtol, atol, max_steps)
            Y[b] = y
    elif len(rows) == 2:
        K.exp_map_batch(*rows, C.p, rtol, atol, max_steps, Y, status, T, why)
    else:
        K.transport_batch(*rows, C.p, rtol, atol, max_steps, Y, status, T, why)
    lo = 2 * n if what == "parallel_transport" else 0
    return _batch_outcome(
        C,
        f"{what}[{method}]" if what == "exp_map" else what,
        rows[0],
        rows[1],
        Y,
        status,
        T,
        why,
        max_steps,
        lo,
        lo + n,
    )


def geodesic(problem, x, v, ts, method="dop853", rtol=1e-12, atol=1e-14, max_steps=None):
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
    if method != "solve_ivp":
        status, count, y, t, why = K.geodesic_path(x, v, ts, C.p, rtol, atol, max_steps, method == "dop853", Y)
    else:
        res = geodesic_ivp(C, K, x, v, ts, rtol, atol, max_steps, Y)
        count, y, t, why = res.count, res.y, res.t, res.why
    if count < ts.size:
        partial = Geodesic(t=ts[:count].copy(), x=Y[:count, :n].copy(), v=Y[:count, n:].copy())
        what = f"geodesic[{method}] failed after {count} of {ts.size} samples (the exception's .geodesic holds them)"
        raise_expmap(
            C, what, x, v, t, ts[-1], y, why, max_steps, method=f"geodesic[{method}]", step=count, geodesic=partial
        )
    return Geodesic(t=ts, x=Y[:, :n], v=Y[:, n:])
