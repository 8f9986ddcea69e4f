"""Jitted loop of the minimizers (:func:`riemannopt.minimize`): line searches, directions, counts.

One entry point, :func:`minimize_loop`, runs a whole minimization inside numba: the per-iteration
linear algebra (a Cholesky solve for the natural gradient ``g⁻¹∇L``), the line search along a
geodesic or a straight line (a safeguarded root finder on ``φ'``), the two-dimensional
Newton search of NCG-L and the conjugate-gradient recurrences.  The problem's functions are
reached through the int64 address array ``F`` of :mod:`riemannopt.integrators.binding` (as the
integrator kernels reach them), so this module is compiled once per machine and cached, whatever
the problem; the geodesic solves go through ``F.solve``, the integrators' DOP853 solver.

The helpers are plain jitted functions (not cached themselves: they are compiled into the entry
point, whose cached machine code holds them).  Nothing here raises: every outcome is a status
code (:data:`CONVERGED`, ...), which :mod:`riemannopt.minimizers.api` turns into a result or an
error carrying the trajectory.

Notation: ``∇L`` the coordinate gradient (a covector), ``ξ = g⁻¹∇L`` the Riemannian gradient
(the natural direction is ``−ξ``), ``‖ξ‖² = ∇Lᵀg⁻¹∇L`` its squared Riemannian norm, ``d`` the
search direction, ``φ(α) = L(c(α))`` the loss along the search curve ``c`` (the geodesic
``Exp_x(αd)`` or the line ``x + αd``) and ``φ'(α) = ∇L(c(α))·ċ(α)``.
"""

import math

import numpy as np
from numba import njit

from riemannopt._numba_cache import compiles_whole
from riemannopt.integrators.binding import bind
from riemannopt.integrators.outcomes import OK

__all__ = ["minimize_loop", "LAYOUT", "STATUSES", "COUNTERS"]

# The layout of the address array (riemannopt.integrators.binding.LAYOUT: the problem functions'
# types, the outcome codes) that the cached machine code of minimize_loop was compiled for.  numba
# sees edits of this file only; when binding's layout differs, riemannopt.minimizers.api compiles
# the loop afresh without the disk cache (correct, slower) and tests/test_minimize.py fails until
# this line is updated.
LAYOUT = "96ee19334930"

# The helpers: compiled into minimize_loop (numpy's error model: a division by zero gives inf/NaN,
# never an exception that would lose the trajectory).
_jit = njit(error_model="numpy")

# Methods (riemannopt.minimizers.registry: each entry's ``code``).
NG_LS, NCG_F, NCG_L, RCG = 0, 1, 2, 3
# Conjugate-gradient β rules.
BETA_NONE, BETA_PR_PLUS, BETA_PR, BETA_FR = 0, 1, 2, 3

# Outcomes of a run.
CONVERGED = 0  # ‖ξ‖ ≤ tol
MAXITER = 1  # maxiter iterations without converging
LINE_SEARCH_FAILED = 2  # no acceptable point along the search curve (or subspace)
NOT_PD = 3  # the metric at an accepted iterate is not positive definite
NON_FINITE = 4  # the gradient or the natural gradient at an accepted iterate is not finite
STALLED = 5  # a step below the rounding of the iterate
STATUSES = {
    "CONVERGED": CONVERGED,
    "MAXITER": MAXITER,
    "LINE_SEARCH_FAILED": LINE_SEARCH_FAILED,
    "NOT_PD": NOT_PD,
    "NON_FINITE": NON_FINITE,
    "STALLED": STALLED,
}

# Entries of the counters array.
FEV, JEV, HEV, MEV, SOLVES, TRIALS = 0, 1, 2, 3, 4, 5
COUNTERS = ("nfev", "njev", "nhev", "nmev", "nsolves", "ntrials")

_EPS = 2.220446049250313e-16


@_jit
def finite(x):
    for v in x.flat:
        if not math.isfinite(v):
            return False
    return True


@_jit
def dot(u, v):
    s = 0.0
    for i in range(u.size):
        s += u[i] * v[i]
    return s


# A copy of integrators.kernels.chol_solve, on purpose: numba caches the loop below keyed by this
# file alone, so a jitted helper imported from another cached module would be linked in from the
# cache unchanged after an edit of that module (stale machine code, no error).  Sharing it needs
# that module's source folded into this file's LAYOUT check first.
@_jit
def chol_solve(G, b, out):
    """Solve ``G out = b`` by Cholesky; False if ``G`` is not (numerically) positive definite."""
    n = b.size
    Lc = np.zeros((n, n))
    for j in range(n):
        s = G[j, j]
        for k in range(j):
            s -= Lc[j, k] * Lc[j, k]
        if not s > 0.0:
            return False
        Lc[j, j] = math.sqrt(s)
        for i in range(j + 1, n):
            s = G[i, j]
            for k in range(j):
                s -= Lc[i, k] * Lc[j, k]
            Lc[i, j] = s / Lc[j, j]
    for i in range(n):
        s = b[i]
        for k in range(i):
            s -= Lc[i, k] * out[k]
        out[i] = s / Lc[i, i]
    for i in range(n - 1, -1, -1):
        s = out[i]
        for k in range(i + 1, n):
            s -= Lc[k, i] * out[k]
        out[i] = s / Lc[i, i]
    return True


@_jit
def natural_gradient(F, x, p, grad, G, xi, counts):
    """``xi = g(x)⁻¹ ∇L`` (``G`` receives the metric); a status and ``‖ξ‖² = ∇Lᵀξ``."""
    F.metric(x, p, G)
    counts[MEV] += 1
    if not finite(G):
        return NON_FINITE, math.nan
    if not chol_solve(G, grad, xi):
        return NOT_PD, math.nan
    if not finite(xi):
        return NON_FINITE, math.nan
    return CONVERGED, dot(grad, xi)


@_jit
def value_and_grad(F, z, p, g, counts):
    """``(ok, L(z))`` with ``g = ∇L(z)``; ok is False for a point that is not finite, outside the
    domain, or where the loss or its gradient is not finite."""
    if not finite(z) or not F.in_domain(z, p):
        return False, math.nan
    f = F.loss(z, p)
    counts[FEV] += 1
    if not math.isfinite(f):
        return False, f
    F.grad(z, p, g)
    counts[JEV] += 1
    if not finite(g):
        return False, f
    return True, f


@_jit
def curve_point(F, geodesic, x, d, alpha, p, rtol, atol, max_steps, z, vel, g, counts):
    """The point ``c(α)`` of the search curve (``z``), its velocity (``vel``: ``γ̇(α)``, the
    parallel transport of ``d`` along the geodesic, or ``d``) and gradient (``g``): ``(ok, φ(α),
    φ'(α))``.  A geodesic the solver cannot follow to ``α`` (out of the domain, not finite, the
    step cap) gives ok False, as an invalid point does."""
    n = x.size
    counts[TRIALS] += 1
    if geodesic:
        y = np.empty(2 * n)
        for i in range(n):
            y[i] = x[i]
            y[n + i] = d[i]
        status, y1, _, _ = F.solve(F.addresses, y, alpha, p, rtol, atol, max_steps)
        counts[SOLVES] += 1
        if status != OK:
            return False, math.nan, math.nan
        for i in range(n):
            z[i] = y1[i]
            vel[i] = y1[n + i]
    else:
        for i in range(n):
            z[i] = x[i] + alpha * d[i]
            vel[i] = d[i]
    ok, f = value_and_grad(F, z, p, g, counts)
    if not ok:
        return False, f, math.nan
    return True, f, dot(g, vel)


@_jit
def _free(s1, s2):
    """A slot of four that is neither ``s1`` nor ``s2``."""
    for s in range(4):
        if s != s1 and s != s2:
            return s
    return 0


@_jit
def _cubic_min(a, fa, da, b, fb, db):
    """The minimiser of the cubic with values ``fa``, ``fb`` and slopes ``da``, ``db`` at ``a``
    and ``b`` (Nocedal & Wright 2006, eq. 3.59); NaN when it has none."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    r = d1 * d1 - da * db
    if not r >= 0.0:
        return math.nan
    d2 = math.copysign(math.sqrt(r), b - a)
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2)


@_jit
def line_search(
    F, geodesic, x, d, f0, g0, df0, alpha0, p, ls_tol, ls_maxiter, rtol, atol, max_steps, z, vel, g, counts
):
    """An exact line search: a root of ``φ'`` on the search curve from ``x`` along ``d``
    (``φ(0) = f0``, ``∇L(x) = g0``, ``φ'(0) = df0 < 0``), trying ``alpha0`` first.

    Bracketing: while ``φ' < 0`` the step grows, to just past the root of the secant of ``φ'``
    through the last two points (at most 4 times the step); a point that is invalid (out of the
    domain, a geodesic the solver cannot follow, a loss that is not finite) or above ``φ(0)``
    bounds the step from above, and the step is halved towards the last descending point.  Once
    ``φ'`` changes sign, the bracket ``[lo, hi]`` (``φ'(lo) < 0 < φ'(hi)``) shrinks around the
    root: each trial is the minimiser of the cubic through the last two points (their values and
    slopes), or the root of the secant of ``φ'`` where the values differ by less than their
    rounding (near a minimum, where differences of ``φ`` are lost and only ``φ'`` can decide);
    a trial outside the bracket, or one after an interpolation that did not halve ``|φ'|``, is
    the bracket's midpoint.

    Stops when ``|φ'(α)| ≤ ls_tol·|φ'(0)|`` or the bracket is narrower than ``ls_tol·hi`` (for a
    quadratic ``φ`` the same accuracy; it also ends the search where rounding hides the sign of
    ``φ'``, in the last iterations of a run); after ``ls_maxiter`` trial points, with the better
    end of the bracket, or else the last descending point.  Returns ``(status, α, φ(α), φ'(α),
    exact)`` with ``z``, ``vel``, ``g`` at the point (``exact``: a tolerance was met); status
    ``LINE_SEARCH_FAILED`` when no trial point was valid and descending.
    """
    n = x.size
    # Four slots of points: position, φ, φ', the point, its velocity and gradient.
    Z = np.empty((4, n))
    V = np.empty((4, n))
    Gr = np.empty((4, n))
    pos = np.zeros(4)
    fv = np.zeros(4)
    dv = np.zeros(4)
    lo = 3  # the lower end: the last valid descending point (x itself at first)
    Z[lo] = x
    V[lo] = d
    Gr[lo] = g0
    pos[lo], fv[lo], dv[lo] = 0.0, f0, df0
    hi = -1  # the upper end, once φ' > 0 was seen
    limit = math.inf  # a bound on the step from an invalid (or uphill) point
    target = ls_tol * abs(df0)
    noise = 64.0 * _EPS * (1.0 + abs(f0))  # rounding of φ: a rise below it is no rise
    # the last two valid points, for interpolation
    q1, fq1, dq1 = 0.0, f0, df0
    q2, fq2, dq2 = 0.0, f0, df0
    best = abs(df0)
    interpolated = False
    alpha = alpha0
    evals = 0
    while evals < ls_maxiter:
        s = _free(lo, hi)
        ok, f, df = curve_point(F, geodesic, x, d, alpha, p, rtol, atol, max_steps, Z[s], V[s], Gr[s], counts)
        evals += 1
        pos[s], fv[s], dv[s] = alpha, f, df
        if ok and abs(df) <= target and f <= f0 + noise:
            return _accept(Z, V, Gr, pos, fv, dv, s, z, vel, g, True)
        if not ok or (df < 0.0 and f > f0 + noise):
            limit = alpha
            a = pos[lo]
            if limit - a <= 4.0 * _EPS * limit:
                break
            alpha = a + 0.5 * (limit - a)
            continue
        stalled = interpolated and abs(df) > 0.5 * best
        best = min(best, abs(df))
        q2, fq2, dq2 = q1, fq1, dq1
        q1, fq1, dq1 = alpha, f, df
        if df < 0.0:
            lo = s
        else:
            hi = s
        if hi < 0:
            a, da = pos[lo], dv[lo]
            if dq1 > dq2:  # φ' increasing: just past the root of its secant, beyond a
                t = a - da * (q1 - q2) / (dq1 - dq2)
                alpha = min(a + 1.05 * (t - a), 4.0 * a)
            else:
                alpha = 4.0 * a
            if alpha >= limit:
                alpha = a + 0.5 * (limit - a)
            continue
        a, b = pos[lo], pos[hi]
        if b - a <= max(4.0 * _EPS * b, ls_tol * b):
            return _accept(Z, V, Gr, pos, fv, dv, lo if abs(dv[lo]) < abs(dv[hi]) else hi, z, vel, g, True)
        if abs(fq1 - fq2) > 1e3 * noise:
            t = _cubic_min(q2, fq2, dq2, q1, fq1, dq1)
        else:
            t = q1 - dq1 * (q1 - q2) / (dq1 - dq2)
        interpolated = not stalled and a < t < b
        alpha = t if interpolated else 0.5 * (a + b)
    if hi >= 0 and pos[lo] > 0.0:
        return _accept(Z, V, Gr, pos, fv, dv, lo if abs(dv[lo]) < abs(dv[hi]) else hi, z, vel, g, False)
    if hi >= 0:
        return _accept(Z, V, Gr, pos, fv, dv, hi, z, vel, g, False)
    if pos[lo] > 0.0:
        return _accept(Z, V, Gr, pos, fv, dv, lo, z, vel, g, False)
    return LINE_SEARCH_FAILED, 0.0, f0, df0, False


@_jit
def _accept(Z, V, Gr, pos, fv, dv, s, z, vel, g, exact):
    z[:] = Z[s]
    vel[:] = V[s]
    g[:] = Gr[s]
    return CONVERGED, pos[s], fv[s], dv[s], exact


@_jit
def _sym_solve(H, gp, m, step):
    """``step = −M⁻¹ gp`` for the ``m × m`` (1 or 2) symmetric ``H`` with its eigenvalues replaced
    by their absolute values, floored at 1e-12 of the largest (a modified Newton step, always a
    descent direction of the model).  False if ``H`` is zero or not finite."""
    if m == 1:
        lam = abs(H[0, 0])
        if not (lam > 0.0 and math.isfinite(lam)):
            return False
        step[0] = -gp[0] / lam
        return True
    a, b, c = H[0, 0], H[0, 1], H[1, 1]
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return False
    mean = 0.5 * (a + c)
    rad = math.sqrt(0.25 * (a - c) * (a - c) + b * b)
    l1, l2 = mean + rad, mean - rad
    big = max(abs(l1), abs(l2))
    if not big > 0.0:
        return False
    # the eigenvector of l1: (b, l1 − a) or (l1 − c, b), whichever is longer (both are exact)
    if abs(l1 - a) >= abs(l1 - c):
        u0, u1 = b, l1 - a
    else:
        u0, u1 = l1 - c, b
    nu = math.sqrt(u0 * u0 + u1 * u1)
    if not nu > 0.0:
        u0, u1, nu = 1.0, 0.0, 1.0
    u0, u1 = u0 / nu, u1 / nu
    w0, w1 = -u1, u0  # the eigenvector of l2
    floor = 1e-12 * big
    m1, m2 = max(abs(l1), floor), max(abs(l2), floor)
    p1 = (u0 * gp[0] + u1 * gp[1]) / m1
    p2 = (w0 * gp[0] + w1 * gp[1]) / m2
    step[0] = -(u0 * p1 + w0 * p2)
    step[1] = -(u1 * p1 + w1 * p2)
    return True


@_jit
def _inner(u, G, w):
    """``uᵀ G w``."""
    s = 0.0
    for i in range(u.size):
        for j in range(u.size):
            s += u[i] * G[i, j] * w[j]
    return s


@_jit
def subspace_newton(F, x, U, m, G, f0, g0, p, ls_tol, ls_maxiter, z, g, coef, counts):
    """Minimise ``ψ = L(x + c₀U₀ + c₁U₁)`` over the plane (``m = 2``; the line of ``U₀`` when
    ``m = 1``) from ``x`` (``ψ = f0``, ``∇L(x) = g0``) by Newton's method.

    The plane gets a basis ``Q`` orthonormal in the metric ``G`` at ``x`` (Gram–Schmidt; ``U₁`` is
    dropped when it is parallel to ``U₀`` to 1e-8), in which the Hessian ``Qᵢᵀ H Qⱼ`` (``H`` the
    coordinate Hessian of the loss, ``F.hessian``) is well conditioned, near the identity where
    the metric is the loss's Hessian.  Each Newton step has its eigenvalues made positive
    (:func:`_sym_solve`) and is halved until the point is valid and the loss decreases (Armijo,
    10⁻⁴) or, at the rounding of the loss, until ``|∇ψ|`` decreases.

    Stops when ``|∇ψ| ≤ ls_tol·|∇ψ(0)|``, when a step no longer moves the point beyond rounding, or
    after ``ls_maxiter`` Newton steps.  Returns ``(status, ψ, exact)`` with ``coef`` the
    coefficients of ``U₀`` and ``U₁`` (0 when dropped), ``z`` the point and ``g = ∇L(z)``;
    ``LINE_SEARCH_FAILED`` if no step decreased ``ψ``.
    """
    n = x.size
    Q = np.zeros((2, n))
    r11 = math.sqrt(_inner(U[0], G, U[0]))
    for i in range(n):
        Q[0, i] = U[0, i] / r11
    r12, r22 = 0.0, 0.0
    if m == 2:
        ww = math.sqrt(_inner(U[1], G, U[1]))
        r12 = _inner(Q[0], G, U[1])
        for i in range(n):
            Q[1, i] = U[1, i] - r12 * Q[0, i]
        r22 = math.sqrt(max(_inner(Q[1], G, Q[1]), 0.0))
        if r22 > 1e-8 * ww and math.isfinite(r22):
            for i in range(n):
                Q[1, i] /= r22
        else:
            m = 1
    H = np.empty((n, n))
    Hs = np.zeros((2, 2))
    HQ = np.empty((2, n))
    c = np.zeros(2)
    gp = np.zeros(2)
    step = np.zeros(2)
    trial = np.zeros(2)
    zt = np.empty(n)
    gt = np.empty(n)
    z[:] = x
    g[:] = g0
    f = f0
    for i in range(m):
        gp[i] = dot(g, Q[i])
    target = ls_tol * math.sqrt(dot(gp[:m], gp[:m]))
    noise = 64.0 * _EPS * (1.0 + abs(f0))
    moved = False
    exact = False
    for _ in range(ls_maxiter):
        gnorm = math.sqrt(dot(gp[:m], gp[:m]))
        if gnorm <= target:
            exact = True
            break
        F.hessian(z, p, H)
        counts[HEV] += 1
        for i in range(m):
            for k in range(n):
                s = 0.0
                for l in range(n):
                    s += H[k, l] * Q[i, l]
                HQ[i, k] = s
        for i in range(m):
            for j in range(m):
                Hs[i, j] = dot(Q[i], HQ[j])
        if not _sym_solve(Hs, gp, m, step):
            # no usable Hessian (zero or not finite): the metric's model, the identity in Q
            for i in range(m):
                step[i] = -gp[i]
        slope = dot(gp[:m], step[:m])
        # Below the rounding of the loss (a predicted decrease under ``noise``) only |∇ψ| can
        # tell a better point: a step must then decrease it, and a few halvings are enough.
        rounding = -slope <= noise
        t = 1.0
        accepted = False
        for _half in range(3 if rounding else 40):
            for i in range(m):
                trial[i] = c[i] + t * step[i]
            for k in range(n):
                s = x[k]
                for i in range(m):
                    s += trial[i] * Q[i, k]
                zt[k] = s
            counts[TRIALS] += 1
            ok, ft = value_and_grad(F, zt, p, gt, counts)
            if ok:
                if rounding:
                    gnew = 0.0
                    for i in range(m):
                        gi = dot(gt, Q[i])
                        gnew += gi * gi
                    accepted = ft <= f + noise and math.sqrt(gnew) < gnorm
                else:
                    accepted = ft <= f + 1e-4 * t * slope
                if accepted:
                    break
            t *= 0.5
        if not accepted:
            break
        same = True
        for k in range(n):
            if zt[k] != z[k]:
                same = False
        for i in range(m):
            c[i] = trial[i]
        z[:] = zt
        g[:] = gt
        f = ft
        moved = True
        for i in range(m):
            gp[i] = dot(g, Q[i])
        if same:
            break
    if not moved:
        return LINE_SEARCH_FAILED, f, False
    # back to the coefficients of U: c₀Q₀ + c₁Q₁ = U₀(c₀ − c₁r₁₂/r₂₂)/r₁₁ + U₁c₁/r₂₂
    if m == 2:
        coef[0] = (c[0] - c[1] * r12 / r22) / r11
        coef[1] = c[1] / r22
    else:
        coef[0] = c[0] / r11
        coef[1] = 0.0
    if not exact:
        exact = math.sqrt(dot(gp[:m], gp[:m])) <= target
    return CONVERGED, f, exact


def _minimize_loop(
    F, method, beta_rule, x0, p, tol, maxiter, ls_tol, ls_maxiter, rtol, atol, max_steps, X, L, GN, D, A, B, counts
):
    """Run ``method`` from ``x0`` until ``‖ξ‖ = √(∇Lᵀg⁻¹∇L) ≤ tol`` or ``maxiter`` iterations.

    Row ``k`` of ``X``, ``L``, ``GN`` receives iterate ``k``, its loss and ``‖ξ‖``; row ``k`` of
    ``D``, ``A`` and ``B`` the search direction ``d_k`` from ``x_k``, its step ``α_k`` and the
    coefficient ``β_k`` of the previous direction in ``d_k`` (0: a steepest-descent step).
    Returns ``(status, k, exact)``: the outcome, the index of the last iterate, and how many of
    the line searches met their tolerance.  See :mod:`riemannopt.minimizers.api` for the methods.
    """
    F = bind(F)
    n = x0.size
    x = x0.copy()
    grad = np.empty(n)
    G = np.empty((n, n))
    xi = np.empty(n)  # the Riemannian gradient g⁻¹∇L at x
    d = np.empty(n)
    z = np.empty(n)
    vel = np.empty(n)
    gz = np.empty(n)
    xiz = np.empty(n)
    dprev = np.zeros(n)  # NCG-L's d_{t−1}
    U = np.empty((2, n))
    coef = np.zeros(2)
    exact = 0
    X[0] = x
    ok, f = value_and_grad(F, x, p, grad, counts)
    L[0] = f
    if not ok:
        return NON_FINITE, 0, exact
    status, gn2 = natural_gradient(F, x, p, grad, G, xi, counts)
    if status != CONVERGED:
        return status, 0, exact
    if not gn2 >= 0.0:
        return NOT_PD, 0, exact
    GN[0] = math.sqrt(gn2)
    if GN[0] <= tol:
        return CONVERGED, 0, exact
    for i in range(n):
        d[i] = -xi[i]
    beta = 0.0
    geodesic = method == NG_LS or method == RCG
    for k in range(maxiter):
        df0 = dot(grad, d)
        if method == NCG_L:
            for i in range(n):
                U[0, i] = -xi[i]
                U[1, i] = dprev[i]
            st, fz, ex = subspace_newton(
                F, x, U, 1 if k == 0 else 2, G, f, grad, p, ls_tol, ls_maxiter, z, gz, coef, counts
            )
            if st != CONVERGED:
                return LINE_SEARCH_FAILED, k, exact
            # eq. 22: d_t = ∇N_t + (β/α) d_{t−1} and x_{t+1} = x_t + α d_t, computed from the step
            # taken, z − x = α ∇N_t + β d_{t−1}
            alpha = coef[0]
            beta = coef[1] / coef[0] if coef[0] != 0.0 else 0.0
            if alpha == 0.0 or not math.isfinite(beta):
                alpha, beta = 1.0, 0.0
            for i in range(n):
                d[i] = (z[i] - x[i]) / alpha
        else:
            # first trial α = 1, the natural scale: a unit step along a natural direction is
            # Newton's where the metric is the loss's Hessian (the Fisher metric at a
            # maximum-likelihood fit)
            st, alpha, fz, _, ex = line_search(
                F, geodesic, x, d, f, grad, df0, 1.0, p, ls_tol, ls_maxiter, rtol, atol, max_steps, z, vel, gz, counts
            )  # fmt: skip
            if st != CONVERGED:
                return LINE_SEARCH_FAILED, k, exact
        if ex:
            exact += 1
        # a step below the rounding of x: the gradient's rounding hides the way on (a tol too small)
        moved, scale = 0.0, 0.0
        for i in range(n):
            moved = max(moved, abs(z[i] - x[i]))
            scale = max(scale, abs(x[i]))
        if moved <= 8.0 * _EPS * scale:
            return STALLED, k, exact
        # the new point
        status, gn2z = natural_gradient(F, z, p, gz, G, xiz, counts)
        D[k] = d
        A[k] = alpha
        B[k] = beta
        X[k + 1] = z
        L[k + 1] = fz
        if status != CONVERGED:
            return status, k + 1, exact
        if not gn2z >= 0.0:
            return NOT_PD, k + 1, exact
        GN[k + 1] = math.sqrt(gn2z)
        if GN[k + 1] <= tol:
            return CONVERGED, k + 1, exact
        # the next direction
        if method == NG_LS:
            beta = 0.0
            for i in range(n):
                d[i] = -xiz[i]
        elif method == NCG_L:
            for i in range(n):
                dprev[i] = d[i]
        else:
            # every n iterations a restart (Nocedal & Wright 2006, §5.2), else β:
            # ⟨ξ_{k+1}, P(ξ_k)⟩ = ∇L_{k+1}·P(ξ_k) needs the previous gradient at the new point, for
            # rcg its parallel transport (one more solve: (γ, γ̇, W) from (x, d, ξ) to α), for
            # ncg-f ξ_k itself
            beta = 0.0
            if (k + 1) % n != 0:
                gn2_old = GN[k] * GN[k]
                if beta_rule == BETA_FR:
                    beta = gn2z / gn2_old
                else:
                    cross = math.nan
                    if method == RCG:
                        y = np.empty(3 * n)
                        for i in range(n):
                            y[i] = x[i]
                            y[n + i] = d[i]
                            y[2 * n + i] = xi[i]
                        st, y1, _, _ = F.solve(F.addresses, y, alpha, p, rtol, atol, max_steps)
                        counts[SOLVES] += 1
                        if st == OK:
                            cross = dot(gz, y1[2 * n :])
                    else:
                        cross = dot(gz, xi)
                    beta = (gn2z - cross) / gn2_old
                    if beta_rule == BETA_PR_PLUS and beta < 0.0:
                        beta = 0.0
                if not math.isfinite(beta):  # (a transport that failed)
                    beta = 0.0
            # the previous direction at the new point: its parallel transport along the geodesic
            # (the geodesic's velocity γ̇(α)) for rcg, d itself for ncg-f
            for i in range(n):
                d[i] = -xiz[i] + beta * vel[i]
            if beta != 0.0 and not dot(gz, d) < 0.0:  # not a descent direction: restart
                beta = 0.0
                for i in range(n):
                    d[i] = -xiz[i]
        x[:] = z
        grad[:] = gz
        xi[:] = xiz
        f = fz
    return MAXITER, maxiter, exact


#: The entry point, cached on disk (compiled once per machine whatever the problem).
minimize_loop = compiles_whole(njit(cache=True, error_model="numpy"))(_minimize_loop)
