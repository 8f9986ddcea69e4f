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
from numba import njit

# A ZeroDivisionError raised inside a jitted loop would lose the whole trajectory: with the numpy
# error model divisions give inf/NaN, which the status checks below turn into an error that keeps it.
_jit = njit(cache=True, error_model="numpy")

OK = 0
OUT_OF_DOMAIN = 1
NOT_PD = 2
NON_FINITE = 3
EXPMAP_FAILED = 4

# Why a geodesic solve stopped short (reported with EXPMAP_FAILED): every trial step was rejected
# by the error control until the step size vanished, or the trial points left the domain, or they
# were not finite; or the step cap was used up.
WHY_TOLERANCE, WHY_DOMAIN, WHY_NON_FINITE, WHY_STEP_CAP = 0, 1, 2, 3

# Method codes, in the order of riemannopt.integrators.optimize.LOOP_METHODS.
GD, NG, MID, GEO, GEOF, RE, RK4, GEO3 = 0, 1, 2, 3, 4, 5, 6, 7


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
def geodesic_rhs(y, p, out):
    """The geodesic equation as a first-order system in ``y = (γ, γ̇)``."""
    n = y.size // 2
    a = gamma_vv(y[:n], y[n:], p)
    for i in range(n):
        out[i] = y[n + i]
        out[n + i] = -a[i]


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
def dopri_geodesic(y, t0, t1, h, p, rtol, atol, max_steps):
    """Advance ``y = (γ, γ̇)`` along the geodesic from ``t0`` to ``t1`` with adaptive
    Dormand–Prince 5(4) steps, at most ``max_steps`` of them (accepted or rejected).

    Returns ``(status, y, h, t, why, used)``: ``y`` is the state reached at time ``t`` (``t1``
    on success), ``h`` the last accepted step (a good first guess for a following segment),
    ``why`` one of the ``WHY_*`` codes on failure and ``used`` the number of steps taken.  Error
    control as in scipy: RMS of ``err / (atol + rtol·|y|)`` below 1.  Trial points outside the
    domain or not finite are rejected like steps with too large an error, so an accepted state is
    always valid.
    """
    m = y.size
    n = m // 2
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
    geodesic_rhs(y, p, k[0])
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
            geodesic_rhs(ytmp, p, k[s])
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
    status, y, _, t, why, _ = dopri_geodesic(y, 0.0, 1.0, 0.0, p, rtol, atol, max_steps)
    return status, y, t, why


@_jit
def geodesic_path(x, v, ts, p, rtol, atol, max_steps, out):
    """Fill ``out[i]`` with ``(γ(ts[i]), γ̇(ts[i]))``, with at most ``max_steps`` solver steps in
    all.

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
        status, y, h, t, why, used = dopri_geodesic(y, t, ts[i], h, p, rtol, atol, budget)
        budget -= used
        if status != OK:
            return status, i, y, t, why
        for j in range(2 * n):
            out[i, j] = y[j]
    return OK, ts.size, y, t, WHY_TOLERANCE


@_jit
def step(code, x, xprev, lr, k, p, rtol, atol, max_steps, out, bad):
    """One update ``x_k → x_{k+1}`` of the method ``code`` (DESIGN §1, paper eq. 5–9).

    When ``re``'s exponential map fails, ``bad`` receives ``(γ(t), t, why)``: where its geodesic
    stopped, at which time, and why.
    """
    n = x.size
    if code == GD:
        combine(out, x, -lr, grad(x, p))
        return OK
    d = np.empty(n)
    status = nat_dir(x, p, d)
    if status != OK:
        return status
    tmp = np.empty(n)
    if code == NG:
        combine(out, x, lr, d)
    elif code == MID:
        dm = np.empty(n)
        status = nat_dir(combine(tmp, x, 0.5 * lr, d), p, dm)
        if status != OK:
            return status
        combine(out, x, lr, dm)
    elif code == GEO:
        combine(out, x, lr, d, -0.5 * lr * lr, gamma_vv(x, d, p))
    elif code == GEOF:
        # eq. 8–9: the velocity of the previous step replaces d inside Γ, so one solve suffices.
        v = d if k == 0 else combine(np.empty(n), np.zeros(n), 1.0 / lr, x, -1.0 / lr, xprev)
        b = combine(tmp, np.zeros(n), -1.0, grad(x, p), -0.5 * lr, gamma_first_vv(x, v, p))
        w = np.empty(n)
        status = natural(x, p, b, w)
        if status != OK:
            return status
        combine(out, x, lr, w)
    elif code == RE:
        v = combine(tmp, np.zeros(n), lr, d)
        if not finite(v):
            return NON_FINITE
        status, y, t, why = exp_map(x, v, p, rtol, atol, max_steps)
        if status != OK:
            for i in range(n):
                bad[i] = y[i]
            bad[n] = t
            bad[n + 1] = why
            return status
        combine(out, y[:n], 0.0, y)
    elif code == RK4:
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
    elif code == GEO3:
        # Third-order Taylor expansion of the geodesic: γ⃛ = -∂Γ(v,v,v) + 2Γ(Γ(v,v), v).
        a = gamma_vv(x, d, p)
        jerk = combine(tmp, np.zeros(n), -1.0, dgamma_vvv(x, d, p), 2.0, gamma_uv(x, a, d, p))
        combine(out, x, lr, d, -0.5 * lr * lr, a, lr * lr * lr / 6.0, jerk)
    return OK


@_jit
def check(code, x, p):
    """Status of an iterate: finite, in the domain, and (for methods that use it) a metric that is
    positive definite there."""
    if not finite(x):
        return NON_FINITE
    if not in_domain(x, p):
        return OUT_OF_DOMAIN
    if code != GD:
        w = np.empty(x.size)
        if not chol_solve(metric(x, p), np.zeros(x.size), w):
            return NOT_PD
    return OK


@_jit
def check_point(code, x, p, L, row):
    """:func:`check` plus a finite loss, which is stored in ``L[row]``."""
    status = check(code, x, p)
    if status != OK:
        return status
    L[row] = loss(x, p)
    if not math.isfinite(L[row]):
        return NON_FINITE
    return OK


@_jit
def check_rows(code, X, count, p, L):
    """:func:`check_point` on the rows ``0..count-1`` of ``X`` (samples of the exact flow), losses
    into ``L``: ``(status, index of the first bad row or count)``."""
    for r in range(count):
        status = check_point(code, X[r], p, L, r)
        if status != OK:
            return status, r
    return OK, count


@_jit
def run(code, x0, lr, steps, every, p, rtol, atol, max_steps, X, L, bad):
    """Run ``steps`` updates of ``code`` from ``x0``, keeping every ``every``-th iterate.

    Rows of ``X`` and ``L`` receive ``x_0, x_every, x_2·every, ...`` and the last iterate (``x_steps``
    when the run completes, the last valid iterate when it fails), so they need
    ``1 + ceil(steps / every)`` rows; only three iterates are held otherwise, so memory does not
    grow with ``steps``.  ``bad`` (length ``n + 2``) receives the offending point of a failure
    (see :func:`step` for ``re``).

    Returns ``(status, k, computed, rows)``: ``k`` is the index of the iterate that failed
    (``steps`` on success), ``computed`` says whether ``x_k`` was produced (and is the offending
    point, in ``bad``) or the step from ``x_{k-1}`` failed before producing it, and ``rows`` how
    many rows of ``X`` and ``L`` were filled.
    """
    n = x0.size
    prev = x0.copy()
    cur = x0.copy()
    nxt = np.empty(n)
    for i in range(n):
        bad[i] = x0[i]
    status = check_point(code, cur, p, L, 0)
    if status != OK:
        return status, 0, True, 0
    for i in range(n):
        X[0, i] = cur[i]
    rows = 1
    here = L[0]
    for k in range(steps):
        status = step(code, cur, prev, lr, k, p, rtol, atol, max_steps, nxt, bad)
        computed = status == OK
        if computed:
            # the next row is scratch space for the loss until the iterate is known to be kept
            status = check_point(code, nxt, p, L, rows)
        if status != OK:
            if computed:
                for i in range(n):
                    bad[i] = nxt[i]
            if k % every != 0:  # keep the last valid iterate even off the recording grid
                for i in range(n):
                    X[rows, i] = cur[i]
                L[rows] = here
                rows += 1
            return status, k + 1, computed, rows
        prev, cur, nxt = cur, nxt, prev
        here = L[rows]
        if (k + 1) % every == 0 or k + 1 == steps:
            for i in range(n):
                X[rows, i] = cur[i]
            rows += 1
    return OK, steps, True, rows
