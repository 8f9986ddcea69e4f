"""Jitted step rules, trajectory loops and the exponential map: a template, not a module to import.

The integrators link this source against one problem's generated module (``from <problem> import
*`` is prepended, see :mod:`riemannopt.integrators.link`), so that ``metric``, ``grad``,
``gamma_vv``, ... resolve to that problem's numba functions at compile time and whole trajectories
run inside one jitted loop that numba can cache on disk.  Every name used below that is not
defined here comes from the problem module (see ``riemannopt.codegen.emit.FUNCTIONS``).

The code is written with explicit loops rather than array expressions: numba compiles slice
assignments of array expressions several times slower, and this module is compiled once per
problem.

Nothing here raises: every function is compiled with numba's numpy error model (a division by
zero gives an infinity or a NaN instead of a ``ZeroDivisionError`` that would lose the
trajectory), and every failure is a status code (``OK`` when a step succeeded) that
:mod:`riemannopt.integrators.common` maps to an exception carrying what was computed.
"""

# ruff: noqa: F821  (metric, grad, gamma_vv, ... come from the problem module linked in)
import math

import numpy as np
from numba import njit, prange
from scipy.integrate._ivp import dop853_coefficients as _dop853

# Batches of independent solves run in parallel threads (numba.prange).
_pjit = njit(cache=True, error_model="numpy", parallel=True)

# A ZeroDivisionError raised inside a jitted loop would lose the whole trajectory: with the numpy
# error model divisions give inf/NaN, which the status checks below turn into an error that keeps it.
_jit = njit(cache=True, error_model="numpy")

OK = 0
OUT_OF_DOMAIN = 1
NOT_PD = 2
NON_FINITE = 3
EXPMAP_FAILED = 4
SINGULAR = 5  # the Hessian of the loss is singular (newton)

# Why a geodesic solve stopped short (reported with EXPMAP_FAILED): every trial step was rejected
# by the error control until the step size vanished, or the trial points left the domain, or they
# were not finite; or the step cap was used up.
WHY_TOLERANCE, WHY_DOMAIN, WHY_NON_FINITE, WHY_STEP_CAP = 0, 1, 2, 3


@_jit
def chol_solve(G, b, out):
    """Solve ``G out = b`` by Cholesky; False if ``G`` is not (numerically) positive definite."""
    n = b.size
    L = np.zeros((n, n))
    for j in range(n):
        s = G[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = G[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            L[i, j] = s / L[j, j]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]
    return True


@_jit
def finite(x):
    for i in range(x.size):
        if not math.isfinite(x[i]):
            return False
    return True


@_jit
def combine(out, x, a, u, b=0.0, w=None, c=0.0, z=None):
    """``out = x + a·u + b·w + c·z`` elementwise (terms with a None vector are skipped)."""
    for i in range(x.size):
        s = x[i] + a * u[i]
        if w is not None:
            s += b * w[i]
        if z is not None:
            s += c * z[i]
        out[i] = s
    return out


@_jit
def natural(x, p, b, out):
    """``out = g(x)^{-1} b`` with the point checked: returns a status code."""
    if not finite(x):
        return NON_FINITE
    if not in_domain(x, p):
        return OUT_OF_DOMAIN
    if not chol_solve(metric(x, p), b, out):
        return NOT_PD
    if not finite(out):  # an infinite gradient or correction, or a metric that overflowed
        return NON_FINITE
    return OK


@_jit
def nat_dir(x, p, out):
    """``out = d(x) = -g(x)^{-1} ∇L(x)`` (paper eq. 5)."""
    g = grad(x, p)
    for i in range(g.size):
        g[i] = -g[i]
    return natural(x, p, g, out)


@_jit
def lu_solve(A, b, out):
    """Solve ``A out = b`` by Gaussian elimination with partial pivoting; False if ``A`` is
    (numerically) singular.  ``A`` and ``b`` are overwritten."""
    n = b.size
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(A[i, j]))
    if not (scale > 0.0 and math.isfinite(scale)):
        return False
    for c in range(n):
        r = c
        for i in range(c + 1, n):
            if abs(A[i, c]) > abs(A[r, c]):
                r = i
        if not abs(A[r, c]) > 1e-14 * scale:
            return False
        if r != c:
            for j in range(n):
                A[c, j], A[r, j] = A[r, j], A[c, j]
            b[c], b[r] = b[r], b[c]
        for i in range(c + 1, n):
            f = A[i, c] / A[c, c]
            for j in range(c, n):
                A[i, j] -= f * A[c, j]
            b[i] -= f * b[c]
    for i in range(n - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, n):
            s -= A[i, j] * out[j]
        out[i] = s / A[i, i]
    return True


@_jit
def ode_rhs(y, p, out):
    """The geodesic equation as a first-order system in ``y = (γ, γ̇)`` and, when ``y`` has a
    third block ``W``, parallel transport along it: ``Ẇ = −Γ(γ̇, W)``."""
    n = N
    x = y[:n]
    v = y[n : 2 * n]
    a = gamma_vv(x, v, p)
    for i in range(n):
        out[i] = v[i]
        out[n + i] = -a[i]
    if y.size == 3 * n:
        b = gamma_uv(x, v, y[2 * n :], p)
        for i in range(n):
            out[2 * n + i] = -b[i]


# Dormand–Prince 5(4) tableau (Dormand & Prince 1980); the 5th-order solution propagates.
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1 / 5, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3 / 40, 9 / 40, 0.0, 0.0, 0.0, 0.0],
        [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0, 0.0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0, 0.0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0.0],
        [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    ]
)
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_B4 = np.array([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])


@_jit
def dopri(y, t0, t1, h, p, rtol, atol, max_steps):
    """Advance ``y`` (see :func:`ode_rhs`) from ``t0`` to ``t1`` with adaptive Dormand–Prince 5(4)
    steps, at most ``max_steps`` of them (accepted or rejected).

    Returns ``(status, y, h, t, why, used)``: ``y`` is the state reached at time ``t`` (``t1``
    on success), ``h`` the last accepted step (a good first guess for a following segment),
    ``why`` one of the ``WHY_*`` codes on failure and ``used`` the number of steps taken.  Error
    control as in scipy: RMS of ``err / (atol + rtol·|y|)`` below 1.  Trial points outside the
    domain or not finite are rejected like steps with too large an error, so an accepted state is
    always valid.
    """
    m = y.size
    n = N
    k = np.zeros((7, m))
    ytmp = np.zeros(m)
    ynew = np.zeros(m)
    t = t0
    span = t1 - t0
    if span == 0.0:
        return OK, y.copy(), h, t1, WHY_TOLERANCE, 0
    direction_ = 1.0 if span > 0 else -1.0
    h = min(abs(h), abs(span)) if h > 0 else min(0.01, abs(span))
    y = y.copy()
    ode_rhs(y, p, k[0])
    why = WHY_TOLERANCE
    for used in range(max_steps):
        remaining = (t1 - t) * direction_
        if remaining <= 0.0:
            return OK, y, h, t1, why, used
        last = h >= remaining
        hs = remaining if last else h
        dt = hs * direction_
        ok = True
        for s in range(1, 7):
            for i in range(m):
                acc = 0.0
                for j in range(s):
                    acc += _A[s, j] * k[j, i]
                ytmp[i] = y[i] + dt * acc
            if not finite(ytmp):
                ok, why = False, WHY_NON_FINITE
                break
            if not in_domain(ytmp[:n], p):
                ok, why = False, WHY_DOMAIN
                break
            ode_rhs(ytmp, p, k[s])
        err = 0.0
        if ok:
            for i in range(m):
                acc5 = 0.0
                acc4 = 0.0
                for j in range(7):
                    acc5 += _B[j] * k[j, i]
                    acc4 += _B4[j] * k[j, i]
                ynew[i] = y[i] + dt * acc5
                sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
                e = dt * (acc5 - acc4) / sc
                err += e * e
            err = math.sqrt(err / m)
            if not math.isfinite(err):
                ok, why = False, WHY_NON_FINITE
        if ok and err <= 1.0:
            t = t1 if last else t + dt
            for i in range(m):
                y[i] = ynew[i]
                k[0, i] = k[6, i]  # first-same-as-last
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err**-0.2))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            if ok:
                why = WHY_TOLERANCE
            h = hs * (0.2 if not ok else max(0.2, 0.9 * err**-0.2))
            if h < 1e-14 * max(1.0, abs(t)):
                return EXPMAP_FAILED, y, h, t, why, used + 1
    if (t1 - t) * direction_ <= 0.0:
        return OK, y, h, t1, why, max_steps
    return EXPMAP_FAILED, y, h, t, WHY_STEP_CAP, max_steps


# Dormand–Prince 8(5,3) tableau (Hairer, Nørsett & Wanner, the DOP853 code), the published numbers as scipy ships them:
# 12 stages; the 8th-order solution propagates, and the error is estimated by the combined 5th-
# and 3rd-order differences E5, E3.  Row 12 of scipy's extended A equals B: the 13th "stage" is
# f at the new point, which DOP853 evaluates only after a step is accepted and reuses as the next
# first stage (E5[12] = E3[12] = 0, so the error estimate needs only the 12 stages).

_S8 = _dop853.N_STAGES
_C8 = np.ascontiguousarray(_dop853.C[:_S8], dtype=np.float64)
_A8 = np.ascontiguousarray(_dop853.A[:_S8, :_S8], dtype=np.float64)
_B8 = np.ascontiguousarray(_dop853.B[:_S8], dtype=np.float64)
_E5 = np.ascontiguousarray(_dop853.E5[:_S8], dtype=np.float64)
_E3 = np.ascontiguousarray(_dop853.E3[:_S8], dtype=np.float64)
del _dop853


@_jit
def dop853(y, t0, t1, h, p, rtol, atol, max_steps):
    """Advance ``y`` (see :func:`ode_rhs`) from ``t0`` to ``t1`` with adaptive Dormand–Prince
    8(5,3) steps (DOP853), at most ``max_steps`` of them (accepted or rejected).

    Same contract as :func:`dopri`: returns ``(status, y, h, t, why, used)``.  Error control as
    in DOP853 and scipy: with ``sc = atol + rtol·max(|y|, |ynew|)``, ``e5 = ‖E5·k / sc‖²`` and
    ``e3 = ‖E3·k / sc‖²``, the step is accepted when ``|h|·e5 / sqrt(m·(e5 + 0.01·e3)) ≤ 1``.
    Trial stage points, and the new point itself (where the next first stage is evaluated), that
    are outside the domain or not finite are rejected like steps with too large an error, so an
    accepted state is always valid.
    """
    m = y.size
    n = N
    k = np.zeros((_S8, m))
    ytmp = np.zeros(m)
    ynew = np.zeros(m)
    t = t0
    span = t1 - t0
    if span == 0.0:
        return OK, y.copy(), h, t1, WHY_TOLERANCE, 0
    direction_ = 1.0 if span > 0 else -1.0
    h = min(abs(h), abs(span)) if h > 0 else min(0.01, abs(span))
    y = y.copy()
    ode_rhs(y, p, k[0])
    why = WHY_TOLERANCE
    for used in range(max_steps):
        remaining = (t1 - t) * direction_
        if remaining <= 0.0:
            return OK, y, h, t1, why, used
        last = h >= remaining
        hs = remaining if last else h
        dt = hs * direction_
        ok = True
        for s in range(1, _S8):
            for i in range(m):
                acc = 0.0
                for j in range(s):
                    acc += _A8[s, j] * k[j, i]
                ytmp[i] = y[i] + dt * acc
            if not finite(ytmp):
                ok, why = False, WHY_NON_FINITE
                break
            if not in_domain(ytmp[:n], p):
                ok, why = False, WHY_DOMAIN
                break
            ode_rhs(ytmp, p, k[s])
        err = 0.0
        if ok:
            err5 = 0.0
            err3 = 0.0
            for i in range(m):
                acc = 0.0
                acc5 = 0.0
                acc3 = 0.0
                for j in range(_S8):
                    kj = k[j, i]
                    acc += _B8[j] * kj
                    acc5 += _E5[j] * kj
                    acc3 += _E3[j] * kj
                ynew[i] = y[i] + dt * acc
                sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
                e = acc5 / sc
                err5 += e * e
                e = acc3 / sc
                err3 += e * e
            if err5 != 0.0 or err3 != 0.0:
                err = hs * err5 / math.sqrt((err5 + 0.01 * err3) * m)
            # The new point is where the next first stage is evaluated: it must be valid too.
            if not finite(ynew):
                ok, why = False, WHY_NON_FINITE
            elif not in_domain(ynew[:n], p):
                ok, why = False, WHY_DOMAIN
            elif not math.isfinite(err):
                ok, why = False, WHY_NON_FINITE
        if ok and err <= 1.0:
            t = t1 if last else t + dt
            for i in range(m):
                y[i] = ynew[i]
            if not last:  # f at the new point: the next step's first stage
                ode_rhs(y, p, k[0])
            fac = 10.0 if err == 0.0 else min(10.0, max(0.2, 0.9 * err**-0.125))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            if ok:
                why = WHY_TOLERANCE
            h = hs * (0.2 if not ok else max(0.2, 0.9 * err**-0.125))
            if h < 1e-14 * max(1.0, abs(t)):
                return EXPMAP_FAILED, y, h, t, why, used + 1
    if (t1 - t) * direction_ <= 0.0:
        return OK, y, h, t1, why, max_steps
    return EXPMAP_FAILED, y, h, t, WHY_STEP_CAP, max_steps


@_jit
def solve(y, t1, p, rtol, atol, max_steps):
    """Integrate ``y`` from 0 to ``t1`` with the default integrator, DOP853 (the fastest at equal
    accuracy, see docs/benchmarks.md): ``(status, y, t, why)``."""
    status, y, _, t, why, _ = dop853(y, 0.0, t1, 0.0, p, rtol, atol, max_steps)
    return status, y, t, why


@_jit
def exp_map(x, v, p, rtol, atol, max_steps):
    """``Exp_x(v) = γ(1)`` for the geodesic with ``γ(0) = x, γ̇(0) = v``.

    Returns ``(status, y, t, why)``: the state ``y = (γ(t), γ̇(t))`` reached at ``t`` (1 on
    success) and, on failure, why the solver stopped (``WHY_*``).
    """
    n = x.size
    y = np.empty(2 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
    return solve(y, 1.0, p, rtol, atol, max_steps)


@_jit
def exp_map_dopri(x, v, p, rtol, atol, max_steps):
    """:func:`exp_map` with the Dormand–Prince 5(4) pair (for comparison)."""
    n = x.size
    y = np.empty(2 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
    status, y, _, t, why, _ = dopri(y, 0.0, 1.0, 0.0, p, rtol, atol, max_steps)
    return status, y, t, why


@_jit
def transport(x, v, w, p, rtol, atol, max_steps):
    """Parallel transport of ``w`` from ``x`` to ``Exp_x(v)``: the state ``y = (γ, γ̇, W)``
    integrated jointly from ``(x, v, w)`` to ``t = 1``; returns ``(status, y, t, why)`` as
    :func:`exp_map`."""
    n = x.size
    y = np.empty(3 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
        y[2 * n + i] = w[i]
    return solve(y, 1.0, p, rtol, atol, max_steps)


@_pjit
def exp_map_batch(X, V, p, rtol, atol, max_steps, Y, status, T, why):
    """:func:`exp_map` for each row of ``X`` and ``V``, in parallel; row ``b`` of ``Y`` receives
    the state reached, ``status[b]``, ``T[b]`` and ``why[b]`` the outcome."""
    for b in prange(X.shape[0]):
        s, y, t, w = exp_map(X[b], V[b], p, rtol, atol, max_steps)
        status[b], T[b], why[b] = s, t, w
        for i in range(y.size):
            Y[b, i] = y[i]


@_pjit
def transport_batch(X, V, W, p, rtol, atol, max_steps, Y, status, T, why):
    """:func:`transport` for each row of ``X``, ``V`` and ``W``, in parallel (as
    :func:`exp_map_batch`)."""
    for b in prange(X.shape[0]):
        s, y, t, w = transport(X[b], V[b], W[b], p, rtol, atol, max_steps)
        status[b], T[b], why[b] = s, t, w
        for i in range(y.size):
            Y[b, i] = y[i]


@_jit
def geodesic_path(x, v, ts, p, rtol, atol, max_steps, high_order, out):
    """Fill ``out[i]`` with ``(γ(ts[i]), γ̇(ts[i]))``, with at most ``max_steps`` solver steps in
    all, of DOP853 (``high_order``) or Dormand–Prince 5(4).

    Returns ``(status, count, y, t, why)``: how many rows were filled, the last state reached and
    its time, and why the solver stopped (``WHY_*``) on failure.
    """
    n = x.size
    y = np.empty(2 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
    t, h = 0.0, 0.0
    budget = max_steps
    for i in range(ts.size):
        if high_order:
            status, y, h, t, why, used = dop853(y, t, ts[i], h, p, rtol, atol, budget)
        else:
            status, y, h, t, why, used = dopri(y, t, ts[i], h, p, rtol, atol, budget)
        budget -= used
        if status != OK:
            return status, i, y, t, why
        for j in range(2 * n):
            out[i, j] = y[j]
    return OK, ts.size, y, t, WHY_TOLERANCE


# Step rules x_k → x_{k+1} (paper eq. 5–9; docs/mathematics.rst), one function per method of the registry
# (riemannopt.integrators.methods), all with the signature
#     step_<name>(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad) -> status
# ``xprev`` is x_{k-1} (x_0 at k = 0), ``out`` receives x_{k+1}.  When an exponential map fails,
# ``bad`` (length n + 2) receives (γ(t), t, why): where its geodesic stopped, when and why.


@_jit
def expmap_into(x, v, p, rtol, atol, max_steps, out, bad):
    """``out = Exp_x(v)``; on failure ``bad`` receives where, when and why the geodesic stopped."""
    n = x.size
    if not finite(v):
        return NON_FINITE
    status, y, t, why = exp_map(x, v, p, rtol, atol, max_steps)
    if status != OK:
        for i in range(n):
            bad[i] = y[i]
        bad[n] = t
        bad[n + 1] = why
        return status
    for i in range(n):
        out[i] = y[i]
    return OK


@_jit
def step_gd(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    combine(out, x, -lr, grad(x, p))
    return OK


@_jit
def step_ng(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    d = np.empty(x.size)
    status = nat_dir(x, p, d)
    if status == OK:
        combine(out, x, lr, d)
    return status


@_jit
def step_mid(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    dm = np.empty(n)
    status = nat_dir(combine(np.empty(n), x, 0.5 * lr, d), p, dm)
    if status == OK:
        combine(out, x, lr, dm)
    return status


@_jit
def step_geo(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    d = np.empty(x.size)
    status = nat_dir(x, p, d)
    if status == OK:
        combine(out, x, lr, d, -0.5 * lr * lr, gamma_vv(x, d, p))
    return status


@_jit
def step_geof(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    # eq. 8–9: the velocity of the previous step replaces d inside Γ, so one solve suffices.
    if k == 0:
        v = np.empty(n)
        status = nat_dir(x, p, v)
        if status != OK:
            return status
    else:
        v = combine(np.empty(n), np.zeros(n), 1.0 / lr, x, -1.0 / lr, xprev)
    b = combine(np.empty(n), np.zeros(n), -1.0, grad(x, p), -0.5 * lr, gamma_first_vv(x, v, p))
    w = np.empty(n)
    status = natural(x, p, b, w)
    if status == OK:
        combine(out, x, lr, w)
    return status


@_jit
def step_re(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    return expmap_into(x, combine(d, np.zeros(n), lr, d), p, rtol, atol, max_steps, out, bad)


@_jit
def step_rk4(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    tmp = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    status = nat_dir(combine(tmp, x, 0.5 * lr, d), p, k2)
    if status != OK:
        return status
    status = nat_dir(combine(tmp, x, 0.5 * lr, k2), p, k3)
    if status != OK:
        return status
    status = nat_dir(combine(tmp, x, lr, k3), p, k4)
    if status != OK:
        return status
    combine(tmp, d, 2.0, k2, 2.0, k3, 1.0, k4)
    combine(out, x, lr / 6.0, tmp)
    return OK


@_jit
def step_geo3(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    # Third-order Taylor expansion of the geodesic: γ⃛ = -∂Γ(v,v,v) + 2Γ(Γ(v,v), v).
    a = gamma_vv(x, d, p)
    jerk = combine(np.empty(n), np.zeros(n), -1.0, dgamma_vvv(x, d, p), 2.0, gamma_uv(x, a, d, p))
    combine(out, x, lr, d, -0.5 * lr * lr, a, lr * lr * lr / 6.0, jerk)
    return OK


@_jit
def step_rmid(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    # The half step along the geodesic: x½ = Exp_x(η/2 · d(x)), arriving with velocity u½.
    status, y, t, why = exp_map(x, combine(d, np.zeros(n), 0.5 * lr, d), p, rtol, atol, max_steps)
    if status == OK:
        dh = np.empty(n)
        status = nat_dir(y[:n], p, dh)
        if status != OK:
            return status
        # Back along the same geodesic (start x½, velocity −u½), carrying d(x½) by parallel transport.
        z = np.empty(3 * n)
        for i in range(n):
            z[i] = y[i]
            z[n + i] = -y[n + i]
            z[2 * n + i] = dh[i]
        status, y, t, why = solve(z, 1.0, p, rtol, atol, max_steps)
    if status != OK:
        for i in range(n):
            bad[i] = y[i]
        bad[n] = t
        bad[n + 1] = why
        return status
    return expmap_into(x, combine(np.empty(n), np.zeros(n), lr, y[2 * n :]), p, rtol, atol, max_steps, out, bad)


@_jit
def covariant_dd(x, d, p, out):
    """``out = ∇_d d``, the covariant derivative of the natural-gradient field along itself:
    differentiating ``g d = −∇L`` along ``d`` gives ``g ∇_d d = −H d − c`` with
    ``c_k = ½ ∂_k g(d, d) = Γ_{jik} d^i d^j``."""
    n = x.size
    H = hessian(x, p)
    F = christoffel_first(x, p)
    b = np.empty(n)
    for m in range(n):
        s = 0.0
        for i in range(n):
            s -= H[m, i] * d[i]
            for j in range(n):
                s -= F[j, i, m] * d[i] * d[j]
        b[m] = s
    return natural(x, p, b, out)


@_jit
def step_rtaylor(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    a = np.empty(n)
    status = covariant_dd(x, d, p, a)
    if status != OK:
        return status
    # The flow's second-order Taylor expansion, taken in normal coordinates: Exp_x(η d + ½η² ∇_d d).
    return expmap_into(x, combine(a, np.zeros(n), lr, d, 0.5 * lr * lr, a), p, rtol, atol, max_steps, out, bad)


@_jit
def step_newton(x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    n = x.size
    s = np.empty(n)
    if not lu_solve(hessian(x, p), grad(x, p), s):
        return SINGULAR
    if not finite(s):
        return NON_FINITE
    combine(out, x, -lr, s)
    return OK


@_jit
def check(uses_metric, x, p):
    """Status of an iterate: finite, in the domain, and (for methods that use it) a metric that is
    positive definite there."""
    if not finite(x):
        return NON_FINITE
    if not in_domain(x, p):
        return OUT_OF_DOMAIN
    if uses_metric:
        w = np.empty(x.size)
        if not chol_solve(metric(x, p), np.zeros(x.size), w):
            return NOT_PD
    return OK


@_jit
def check_point(uses_metric, x, p, L, row):
    """:func:`check` plus a finite loss, which is stored in ``L[row]``."""
    status = check(uses_metric, x, p)
    if status != OK:
        return status
    L[row] = loss(x, p)
    if not math.isfinite(L[row]):
        return NON_FINITE
    return OK


@_jit
def check_rows(uses_metric, X, count, p, L):
    """:func:`check_point` on the rows ``0..count-1`` of ``X`` (samples of the exact flow), losses
    into ``L``: ``(status, index of the first bad row or count)``."""
    for r in range(count):
        status = check_point(uses_metric, X[r], p, L, r)
        if status != OK:
            return status, r
    return OK, count


@_jit
def check_all(uses_metric, X, p, status):
    """:func:`check` of each row of ``X`` into ``status``; the index of the first bad row, or -1."""
    first = -1
    for b in range(X.shape[0]):
        status[b] = check(uses_metric, X[b], p)
        if status[b] != OK and first < 0:
            first = b
    return first


@_jit
def start_ok(x, v, p):
    """Whether ``x`` and ``v`` are finite, ``x`` in the domain with a positive definite metric:
    the checks of a start point in one call (the detailed checks run only when this fails, to
    name what is wrong)."""
    if not (finite(x) and finite(v) and in_domain(x, p)):
        return False
    w = np.empty(x.size)
    return chol_solve(metric(x, p), np.zeros(x.size), w)
