"""Jitted step rules, trajectory loops and the exponential map: a template, not a module to import.

The integrators link this source against one problem's generated module (``from <problem> import
*`` is prepended, see :mod:`riemannopt.integrators.link`), so that ``metric``, ``grad``,
``gamma_vv``, ... resolve to that problem's numba functions at compile time and whole trajectories
run inside one jitted loop that numba can cache on disk.  Every name used below that is not
defined here comes from the problem module (see ``riemannopt.codegen.emit.FUNCTIONS``).

The code is written with explicit loops rather than array expressions: numba compiles slice
assignments of array expressions several times slower, and this module is compiled once per
problem.

Status codes returned by the loops (``OK`` when a step succeeded) are mapped to exceptions by
:mod:`riemannopt.integrators.optimize`.
"""
# ruff: noqa: F821  (metric, grad, gamma_vv, ... come from the problem module linked in)
import math

import numpy as np
from numba import njit

OK = 0
OUT_OF_DOMAIN = 1
NOT_PD = 2
NON_FINITE = 3
EXPMAP_FAILED = 4

# Method codes, in the order of riemannopt.integrators.optimize.LOOP_METHODS.
GD, NG, MID, GEO, GEOF, RE, RK4, GEO3 = 0, 1, 2, 3, 4, 5, 6, 7


@njit(cache=True)
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


@njit(cache=True)
def finite(x):
    for i in range(x.size):
        if not math.isfinite(x[i]):
            return False
    return True


@njit(cache=True)
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


@njit(cache=True)
def natural(x, p, b, out):
    """``out = g(x)^{-1} b`` with the point checked: returns a status code."""
    if not finite(x):
        return NON_FINITE
    if not in_domain(x, p):
        return OUT_OF_DOMAIN
    if not chol_solve(metric(x, p), b, out):
        return NOT_PD
    return OK


@njit(cache=True)
def nat_dir(x, p, out):
    """``out = d(x) = -g(x)^{-1} ∇L(x)`` (paper eq. 5)."""
    g = grad(x, p)
    for i in range(g.size):
        g[i] = -g[i]
    return natural(x, p, g, out)


@njit(cache=True)
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


@njit(cache=True)
def dopri_geodesic(y, t0, t1, h, p, rtol, atol, max_steps):
    """Advance ``y = (γ, γ̇)`` along the geodesic from ``t0`` to ``t1`` with adaptive
    Dormand–Prince 5(4) steps.

    Returns ``(status, y, h)``: ``h`` is the last accepted step, a good first guess for a
    following segment.  Error control as in scipy: RMS of ``err / (atol + rtol·|y|)`` below 1.
    """
    m = y.size
    n = m // 2
    k = np.zeros((7, m))
    ytmp = np.zeros(m)
    ynew = np.zeros(m)
    t = t0
    span = t1 - t0
    if span == 0.0:
        return OK, y.copy(), h
    direction_ = 1.0 if span > 0 else -1.0
    h = min(abs(h), abs(span)) if h > 0 else min(0.01, abs(span))
    y = y.copy()
    geodesic_rhs(y, p, k[0])
    for _ in range(max_steps):
        remaining = (t1 - t) * direction_
        if remaining <= 0.0:
            return OK, y, h
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
            if not finite(ytmp) or not in_domain(ytmp[:n], p):
                ok = False
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
            ok = math.isfinite(err)
        if ok and err <= 1.0:
            t = t1 if last else t + dt
            for i in range(m):
                y[i] = ynew[i]
                k[0, i] = k[6, i]  # first-same-as-last
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err**-0.2))
            if not last or fac < 1.0:
                h = hs * fac
        else:
            h = hs * (0.2 if not ok else max(0.2, 0.9 * err**-0.2))
            if h < 1e-14 * max(1.0, abs(t)):
                return EXPMAP_FAILED, y, h
    return EXPMAP_FAILED, y, h


@njit(cache=True)
def exp_map(x, v, p, rtol, atol, max_steps):
    """``Exp_x(v) = γ(1)`` for the geodesic with ``γ(0) = x, γ̇(0) = v``: ``(status, point)``."""
    n = x.size
    y = np.empty(2 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
    status, y, _ = dopri_geodesic(y, 0.0, 1.0, 0.0, p, rtol, atol, max_steps)
    return status, y[:n].copy()


@njit(cache=True)
def geodesic_path(x, v, ts, p, rtol, atol, max_steps, out):
    """Fill ``out[i]`` with ``(γ(ts[i]), γ̇(ts[i]))``; returns ``(status, count filled)``."""
    n = x.size
    y = np.empty(2 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
    t, h = 0.0, 0.0
    for i in range(ts.size):
        status, y, h = dopri_geodesic(y, t, ts[i], h, p, rtol, atol, max_steps)
        if status != OK:
            return status, i
        for j in range(2 * n):
            out[i, j] = y[j]
        t = ts[i]
    return OK, ts.size


@njit(cache=True)
def step(code, x, xprev, lr, k, p, rtol, atol, max_steps, out):
    """One update ``x_k → x_{k+1}`` of the method ``code`` (DESIGN §1, paper eq. 5–9)."""
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
        status, y = exp_map(x, combine(tmp, np.zeros(n), lr, d), p, rtol, atol, max_steps)
        if status != OK:
            return status
        combine(out, y, 0.0, y)
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


@njit(cache=True)
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


@njit(cache=True)
def run(code, x0, lr, steps, p, rtol, atol, max_steps, X, L):
    """Fill ``X[0..steps]`` and ``L`` with the trajectory of ``code`` from ``x0``.

    Returns ``(status, k, computed)``: on failure ``k`` is the index of the iterate that failed,
    ``computed`` says whether ``X[k]`` was produced (and is the offending point) or the step from
    ``X[k-1]`` failed before producing it; ``X[:k]`` and ``L[:k]`` hold the valid part.
    """
    for i in range(x0.size):
        X[0, i] = x0[i]
    status = check(code, x0, p)
    if status != OK:
        return status, 0, True
    L[0] = loss(x0, p)
    for k in range(steps):
        status = step(code, X[k], X[k - 1] if k > 0 else X[k], lr, k, p, rtol, atol, max_steps, X[k + 1])
        if status != OK:
            return status, k + 1, False
        status = check(code, X[k + 1], p)
        if status != OK:
            return status, k + 1, True
        L[k + 1] = loss(X[k + 1], p)
        if not math.isfinite(L[k + 1]):
            return NON_FINITE, k + 1, True
    return OK, steps + 1, True
