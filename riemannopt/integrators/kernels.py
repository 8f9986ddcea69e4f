"""Jitted step rules, the trajectory loop and the exponential map, compiled once for every problem.

Every kernel takes first the problem's functions ``F`` (see :mod:`riemannopt.integrators.binding`):
from Python, the int64 array of their addresses that :func:`riemannopt.integrators.link.kernels_for`
keeps for a compiled problem; inside, the named tuple ``bind(F)`` of first-class functions
``F.metric(x, p, out)``, ``F.loss(x, p)``, ... (``riemannopt.codegen.emit.FUNCTIONS``) and the
dimension ``F.n``.  The kernels called from Python bind ``F`` on entry; binding bound functions
is a no-op.  So nothing here depends on the problem: numba compiles each kernel once per machine
and caches it, and whole trajectories still run inside one jitted loop.  The kernels that many
others call, the geodesic solver (:func:`solve_at`), the natural direction (:func:`nat_dir_at`),
the facts at an iterate (:func:`facts_at`) and the solve with them (:func:`natural_here_at`), are
called through their addresses in ``F`` too (:func:`solve`, :func:`nat_dir`, :func:`facts`,
:func:`natural_here`): numba would otherwise compile their code again into every caller.

The trajectory loop (:func:`run`) evaluates the problem once per iterate where it can: the check
of a new iterate calls the problem's ``state`` there (loss, gradient and metric in one call), and
the step from that iterate reads them (the *facts* at it, :func:`facts`) instead of evaluating the
gradient and the metric again.  On a problem with data every evaluation is a pass over the rows,
so this is what a step costs: a ``geo`` step makes two passes (``state`` at the new iterate and
``Γ_first(d, d)`` for the correction, solved with the metric's factor from the facts), where
evaluating each quantity where it is used made five.

The code is written with explicit loops rather than array expressions: numba compiles slice
assignments of array expressions several times slower.

Nothing here raises: every function is compiled with numba's numpy error model (a division by
zero gives an infinity or a NaN instead of a ``ZeroDivisionError`` that would lose the
trajectory), and every failure is a status code (``OK`` when a step succeeded) of
:mod:`riemannopt.integrators.outcomes`, which :mod:`riemannopt.integrators.common` maps to an
exception carrying what was computed.

The ODE solvers are one adaptive Runge–Kutta loop (:func:`_adaptive`) compiled for each tableau
of :mod:`riemannopt.integrators.tableaus`.
"""

import math

import numpy as np
from numba import njit, prange

from riemannopt._numba_cache import compiles_whole
from riemannopt.integrators import outcomes
from riemannopt.integrators.binding import bind, bind_step
from riemannopt.integrators.outcomes import (
    EXPMAP_FAILED,
    NON_FINITE,
    NOT_PD,
    OK,
    OUT_OF_DOMAIN,
    SINGULAR,
    WHY_DOMAIN,
    WHY_NON_FINITE,
    WHY_STEP_CAP,
    WHY_TOLERANCE,
)
from riemannopt.integrators.tableaus import DOP853, DOPRI5, EMBEDDED

# Every dispatcher compiles whole (compiles_whole): a Ctrl-C during a cold first run would
# otherwise break numba's cache write with "no compiled object yet".
# Batches of independent solves run in parallel threads (numba.prange).  Their loop bodies receive
# F unbound: numba's parallel lowering cannot rebuild the named tuple's type.
_pjit = compiles_whole(njit(cache=True, error_model="numpy", parallel=True))

# A ZeroDivisionError raised inside a jitted loop would lose the whole trajectory: with the numpy
# error model divisions give inf/NaN, which the status checks below turn into an error that keeps it.
_jit = compiles_whole(njit(cache=True, error_model="numpy"))

# Inlined by numba into their callers: the helpers of every Runge-Kutta stage (called on their
# own they cost a third of a geodesic solve, the named tuple F being passed on each call), the
# one-line calls of solve_at, nat_dir_at, facts_at and natural_here_at through their addresses,
# and for the same reason the check of an iterate in the trajectory loop (check_here) and the
# reading of the facts at it in the step rules (facts, nat_dir_here): called, they made a step of
# the cheapest methods slower than before the facts were kept.
_inline = njit(cache=True, error_model="numpy", inline="always")

# What the machine code of these kernels takes from other modules: the layout of F and the step
# signature (binding), the outcome codes (outcomes) and the Runge–Kutta tableaus (tableaus), as
# digested by riemannopt.integrators.binding.LAYOUT.  numba's cache sees changes to this file
# only, so a change of any of them must edit this line (link.py checks it).
LAYOUT = "96ee19334930"


@_jit
def cholesky(G, L):
    """``G = L Lᵀ`` into the lower triangle of ``L`` (the rest is not read or written); False if
    ``G`` is not (numerically) positive definite."""
    n = G.shape[0]
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
    return True


@_jit
def cholesky_solve(L, b, out):
    """``out = (L Lᵀ)^{-1} b`` with the factor ``L`` of :func:`cholesky` (its lower triangle)."""
    n = b.size
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


@_jit
def chol_solve(G, b, out):
    """Solve ``G out = b`` by Cholesky; False if ``G`` is not (numerically) positive definite."""
    n = b.size
    L = np.zeros((n, n))
    if not cholesky(G, L):
        return False
    cholesky_solve(L, b, out)
    return True


@_inline
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


@_inline
def pack(x, v, w=None):
    """The state ``y = (x, v)`` of a geodesic, or ``(x, v, w)`` of a geodesic and a vector
    transported along it, as one new vector (see :func:`ode_rhs`)."""
    n = x.size
    y = np.empty(2 * n if w is None else 3 * n)
    for i in range(n):
        y[i] = x[i]
        y[n + i] = v[i]
        if w is not None:
            y[2 * n + i] = w[i]
    return y


@_jit
def natural(F, x, p, b, out):
    """``out = g(x)^{-1} b`` with the point checked: returns a status code."""
    if not finite(x):
        return NON_FINITE
    if not F.in_domain(x, p):
        return OUT_OF_DOMAIN
    G = np.empty((x.size, x.size))
    F.metric(x, p, G)
    if not chol_solve(G, b, out):
        return NOT_PD
    if not finite(out):  # an infinite gradient or correction, or a metric that overflowed
        return NON_FINITE
    return OK


@_inline
def nat_dir(F, x, p, out):
    """``out = d(x) = -g(x)^{-1} ∇L(x)`` (paper eq. 5): :func:`nat_dir_at` through its address
    (binding.KERNEL_SIGNATURES), compiled once rather than into every step rule."""
    F = bind(F)
    return F.nat_dir(F.addresses, x, p, out)


@_jit
def nat_dir_at(F, x, p, out):
    """``out = d(x) = -g(x)^{-1} ∇L(x)``, with the address array ``F``: a status code."""
    F = bind(F)
    g = np.empty(x.size)
    F.grad(x, p, g)
    for i in range(g.size):
        g[i] = -g[i]
    return natural(F, x, p, g, out)


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


@_inline
def ode_rhs(F, y, p, out):
    """The right-hand side ``out = f(y)`` of the ODEs the solvers integrate, by the size of ``y``:

    * ``y = x`` (``n``): the natural-gradient flow ``ẋ = d(x)`` (paper eq. 5);
    * ``y = (γ, γ̇)`` (``2n``): the geodesic equation as a first-order system;
    * ``y = (γ, γ̇, W)`` (``3n``): the geodesic and parallel transport along it, ``Ẇ = −Γ(γ̇, W)``.

    Returns a status code: ``OK``, or (the flow only) the natural direction's failure there.
    """
    F = bind(F)
    n = F.n
    if y.size == n:
        return nat_dir(F, y, p, out)
    x = y[:n]
    v = y[n : 2 * n]
    F.gamma_vv(x, v, p, out[n : 2 * n])
    for i in range(n):
        out[i] = v[i]
        out[n + i] = -out[n + i]
    if y.size == 3 * n:
        F.gamma_uv(x, v, y[2 * n :], p, out[2 * n :])
        for i in range(2 * n, 3 * n):
            out[i] = -out[i]
    return OK


# The WHY_* code of a right-hand side that failed with a status (one definition, in outcomes).
why_failed = _inline(outcomes.why_failed)


@_inline
def stages(F, A, y, dt, p, k, ytmp):
    """The stages ``k[1:s]`` of an explicit Runge–Kutta step of size ``dt`` from ``y`` with the
    ``s × s`` coefficients ``A`` (``k[0]``, f at ``y``, is given): ``(ok, why)``, with ``ok`` False
    and ``why`` a ``WHY_*`` code when a stage point is not finite, outside the domain, or where the
    right-hand side fails (the step is then rejected).  ``ytmp`` is scratch space."""
    m = y.size
    for s in range(1, A.shape[0]):
        for i in range(m):
            acc = 0.0
            for j in range(s):
                acc += A[s, j] * k[j, i]
            ytmp[i] = y[i] + dt * acc
        if not finite(ytmp):
            return False, WHY_NON_FINITE
        if not F.in_domain(ytmp[: F.n], p):
            return False, WHY_DOMAIN
        status = ode_rhs(F, ytmp, p, k[s])
        if status != OK:
            return False, why_failed(status)
    return True, WHY_TOLERANCE


def _adaptive(T):
    """The one adaptive Runge–Kutta loop, for the tableau ``T`` (a
    :class:`~riemannopt.integrators.tableaus.Tableau`): the Python function that :func:`dopri` and
    :func:`dop853` compile.  ``T``'s coefficients and options are variables of the closure, which
    numba freezes into the machine code as it does globals, and it drops the branches of the
    options ``T`` does not have before compiling: each solver compiles as if written for its
    tableau alone (the same code, and the same floating-point operations, as when they were two
    copies of the loop)."""
    A, b, e = T.A, T.b, T.e
    s = b.size
    # The stages; without FSAL one more row, f at the new point, the next step's first stage.
    rows = s if T.fsal else s + 1
    first = s - 1 if T.fsal else s
    fsal = T.fsal
    embedded = T.estimator == EMBEDDED
    exponent, max_factor = T.exponent, T.max_factor

    def adaptive(F, y, t0, t1, h, p, rtol, atol, max_steps):
        m = y.size
        k = np.zeros((rows, m))
        ytmp = np.zeros(m)
        ynew = np.zeros(m)
        t = t0
        span = t1 - t0
        if span == 0.0:
            return OK, y.copy(), h, t1, WHY_TOLERANCE, 0
        direction_ = 1.0 if span > 0 else -1.0
        h = min(abs(h), abs(span)) if h > 0 else min(0.01, abs(span))
        y = y.copy()
        status = ode_rhs(F, y, p, k[0])
        if status != OK:
            return EXPMAP_FAILED, y, h, t, why_failed(status), 0
        why = WHY_TOLERANCE
        for used in range(max_steps):
            remaining = (t1 - t) * direction_
            if remaining <= 0.0:
                return OK, y, h, t1, why, used
            last = h >= remaining
            hs = remaining if last else h
            dt = hs * direction_
            ok, failure = stages(F, A, y, dt, p, k, ytmp)
            if not ok:
                why = failure
            err = 0.0
            if ok:
                # sums of squares of the scaled error rows: one (the embedded difference) or two
                # (DOP853's E5 and E3 differences)
                s1 = 0.0
                s2 = 0.0
                for i in range(m):
                    acc = 0.0
                    acc1 = 0.0
                    acc2 = 0.0
                    for j in range(s):
                        kj = k[j, i]
                        acc += b[j] * kj
                        acc1 += e[0, j] * kj
                        if not embedded:
                            acc2 += e[1, j] * kj
                    ynew[i] = y[i] + dt * acc
                    sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
                    if embedded:
                        d = dt * (acc - acc1) / sc
                        s1 += d * d
                    else:
                        d = acc1 / sc
                        s1 += d * d
                        d = acc2 / sc
                        s2 += d * d
                if embedded:
                    err = math.sqrt(s1 / m)
                elif s1 != 0.0 or s2 != 0.0:
                    err = hs * s1 / math.sqrt((s1 + 0.01 * s2) * m)
                if not fsal:
                    # The new point is where the next first stage is evaluated: it must be valid too.
                    if not finite(ynew):
                        ok, why = False, WHY_NON_FINITE
                    elif not F.in_domain(ynew[: F.n], p):
                        ok, why = False, WHY_DOMAIN
                if ok and not math.isfinite(err):
                    ok, why = False, WHY_NON_FINITE
            if not fsal and ok and err <= 1.0 and not last:
                # f at the new point, the next step's first stage, evaluated before the step is
                # accepted: the flow's field can fail there (a metric that is not positive definite)
                status = ode_rhs(F, ynew, p, k[s])
                if status != OK:
                    ok, why = False, why_failed(status)
            if ok and err <= 1.0:
                t = t1 if last else t + dt
                for i in range(m):
                    y[i] = ynew[i]
                if fsal or not last:
                    for i in range(m):
                        k[0, i] = k[first, i]
                fac = max_factor if err == 0.0 else min(max_factor, max(0.2, 0.9 * err**exponent))
                if not last or fac < 1.0:
                    h = hs * fac
            else:
                if ok:
                    why = WHY_TOLERANCE
                h = hs * (0.2 if not ok else max(0.2, 0.9 * err**exponent))
                if h < 1e-14 * max(1.0, abs(t)):
                    return EXPMAP_FAILED, y, h, t, why, used + 1
        if (t1 - t) * direction_ <= 0.0:
            return OK, y, h, t1, why, max_steps
        return EXPMAP_FAILED, y, h, t, WHY_STEP_CAP, max_steps

    return adaptive


_SOLVER_DOC = """Advance ``y`` (see :func:`ode_rhs`) from ``t0`` to ``t1`` with adaptive {what} steps, at
    most ``max_steps`` of them (accepted or rejected): the one loop of :func:`_adaptive`.

    Returns ``(status, y, h, t, why, used)``: ``y`` is the state reached at time ``t`` (``t1``
    on success), ``h`` the last accepted step (a good first guess for a following segment),
    ``why`` one of the ``WHY_*`` codes on failure and ``used`` the number of steps taken.  Error
    control as in scipy and DOP853, with ``sc = atol + rtol·max(|y|, |ynew|)``: {control}, at
    most 1.  Trial stage points, and the new point itself (where the next first stage is
    evaluated, unless the last stage is already there: FSAL), that are outside the domain, not
    finite or where the right-hand side fails are rejected like steps with too large an error, so
    an accepted state is always valid.
    """


def _solver(name, T, what, control):
    """:func:`_adaptive` for ``T``, named ``name`` (numba's cache files are named after it) and
    compiled."""
    function = _adaptive(T)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = _SOLVER_DOC.format(what=what, control=control)
    return _jit(function)


dopri = _solver(
    "dopri",
    DOPRI5,
    "Dormand–Prince 5(4)",
    "the RMS of ``h·(b − b̂)·k / sc`` (the 5th-order solution propagates; kept for comparison)",
)
dop853 = _solver(
    "dop853",
    DOP853,
    "Dormand–Prince 8(5,3) (DOP853, the default solver)",
    "with ``e5 = ‖E5·k / sc‖²`` and ``e3 = ‖E3·k / sc‖²``, ``|h|·e5 / sqrt(m·(e5 + 0.01·e3))``",
)


@_jit
def solve_at(F, y, t1, p, rtol, atol, max_steps):
    """Integrate ``y`` from 0 to ``t1`` with the default integrator, DOP853 (the fastest at equal
    accuracy, see docs/benchmarks.md): ``(status, y, t, why)``.  Called through ``F.solve``
    (:func:`solve`), with the address array ``F``."""
    F = bind(F)
    status, y, _, t, why, _ = dop853(F, y, 0.0, t1, 0.0, p, rtol, atol, max_steps)
    return status, y, t, why


@_inline
def solve(F, y, t1, p, rtol, atol, max_steps):
    """:func:`solve_at` through its address (binding.KERNEL_SIGNATURES): compiled once, not
    into every kernel that solves a geodesic."""
    return F.solve(F.addresses, y, t1, p, rtol, atol, max_steps)


@_jit
def exp_map(F, x, v, p, rtol, atol, max_steps):
    """``Exp_x(v) = γ(1)`` for the geodesic with ``γ(0) = x, γ̇(0) = v``.

    Returns ``(status, y, t, why)``: the state ``y = (γ(t), γ̇(t))`` reached at ``t`` (1 on
    success) and, on failure, why the solver stopped (``WHY_*``).
    """
    F = bind(F)
    return solve(F, pack(x, v), 1.0, p, rtol, atol, max_steps)


@_jit
def exp_map_dopri(F, x, v, p, rtol, atol, max_steps):
    """:func:`exp_map` with the Dormand–Prince 5(4) pair (for comparison)."""
    F = bind(F)
    status, y, _, t, why, _ = dopri(F, pack(x, v), 0.0, 1.0, 0.0, p, rtol, atol, max_steps)
    return status, y, t, why


@_jit
def transport(F, x, v, w, p, rtol, atol, max_steps):
    """Parallel transport of ``w`` from ``x`` to ``Exp_x(v)``: the state ``y = (γ, γ̇, W)``
    integrated jointly from ``(x, v, w)`` to ``t = 1``; returns ``(status, y, t, why)`` as
    :func:`exp_map`."""
    F = bind(F)
    return solve(F, pack(x, v, w), 1.0, p, rtol, atol, max_steps)


@_pjit
def exp_map_batch(F, X, V, p, rtol, atol, max_steps, Y, status, T, why):
    """:func:`exp_map` for each row of ``X`` and ``V``, in parallel; row ``b`` of ``Y`` receives
    the state reached, ``status[b]``, ``T[b]`` and ``why[b]`` the outcome."""
    for b in prange(X.shape[0]):
        s, y, t, w = exp_map(F, X[b], V[b], p, rtol, atol, max_steps)
        status[b], T[b], why[b] = s, t, w
        for i in range(y.size):
            Y[b, i] = y[i]


@_pjit
def transport_batch(F, X, V, W, p, rtol, atol, max_steps, Y, status, T, why):
    """:func:`transport` for each row of ``X``, ``V`` and ``W``, in parallel (as
    :func:`exp_map_batch`)."""
    for b in prange(X.shape[0]):
        s, y, t, w = transport(F, X[b], V[b], W[b], p, rtol, atol, max_steps)
        status[b], T[b], why[b] = s, t, w
        for i in range(y.size):
            Y[b, i] = y[i]


@_jit
def geodesic_path(F, x, v, ts, p, rtol, atol, max_steps, high_order, out):
    """Fill ``out[i]`` with ``(γ(ts[i]), γ̇(ts[i]))``, with at most ``max_steps`` solver steps in
    all, of DOP853 (``high_order``) or Dormand–Prince 5(4).

    Returns ``(status, count, y, t, why)``: how many rows were filled, the last state reached and
    its time, and why the solver stopped (``WHY_*``) on failure.
    """
    F = bind(F)
    n = x.size
    y = pack(x, v)
    t, h = 0.0, 0.0
    budget = max_steps
    for i in range(ts.size):
        if high_order:
            status, y, h, t, why, used = dop853(F, y, t, ts[i], h, p, rtol, atol, budget)
        else:
            status, y, h, t, why, used = dopri(F, y, t, ts[i], h, p, rtol, atol, budget)
        budget -= used
        if status != OK:
            return status, i, y, t, why
        for j in range(2 * n):
            out[i, j] = y[j]
    return OK, ts.size, y, t, WHY_TOLERANCE


# The facts at an iterate: the trajectory loop checks each new iterate, and the check evaluates
# there, in one call of the problem's ``state``, the loss, its gradient and (for a method that uses
# it) the metric, whose Cholesky factor decides positive definiteness; the step from that iterate
# reads them rather than evaluating them again.  On a problem with data every evaluation of a
# problem function is a pass over the rows: a ``geo`` step made five (the gradient and the metric
# for d, the metric again with Γ_first(d, d) for the correction, then the metric and the loss at
# the new point) and makes two (Γ_first(d, d) for the correction, solved with the factor from
# here, and ``state`` at the new point, which also serves the next step).  Layout of the workspace
# ``here`` (length 2 + n + 2n², made by new_facts):
#     [known, L, ∇L (n), g (n × n, row by row), its Cholesky factor (n × n, lower triangle)]
# where ``known`` says how much of it holds for the point it was computed at:
KNOWN_NOTHING = 0.0
KNOWN_GRAD = 1.0  # the loss and its gradient
KNOWN_METRIC = 2.0  # those, and the metric, positive definite, with its factor


@_inline
def new_facts(n):
    """A workspace for the facts at a point of dimension ``n`` (see :func:`facts`) that knows
    nothing yet."""
    here = np.empty(2 + n + 2 * n * n)
    here[0] = KNOWN_NOTHING
    return here


@_inline
def grad_here(here, n):
    """The gradient held by the facts ``here`` (a view)."""
    return here[2 : 2 + n]


@_inline
def chol_here(here, n):
    """The Cholesky factor of the metric held by the facts ``here`` (an ``n × n`` view, lower
    triangle)."""
    return here[2 + n + n * n : 2 + n + 2 * n * n].reshape((n, n))


@_inline
def evaluate_facts(F, x, p, here, with_metric):
    """Make ``here`` hold the facts at ``x`` (the loss and its gradient and, ``with_metric``, the
    metric and its Cholesky factor) from one call of the problem's ``state``: a status code, with
    the checks of :func:`natural` in its order (``x`` finite, in the domain, a positive definite
    metric).  Inlined where it is compiled once: the trajectory loop's check of an iterate
    (:func:`check_here`) and :func:`facts_at`."""
    here[0] = KNOWN_NOTHING
    if not finite(x):
        return NON_FINITE
    if not F.in_domain(x, p):
        return OUT_OF_DOMAIN
    n = x.size
    if not with_metric:
        F.state(x, p, here[1 : 2 + n])
        here[0] = KNOWN_GRAD
        return OK
    F.state(x, p, here[1 : 2 + n + n * n])
    if not cholesky(here[2 + n : 2 + n + n * n].reshape((n, n)), chol_here(here, n)):
        return NOT_PD
    here[0] = KNOWN_METRIC
    return OK


@_jit
def facts_at(F, x, p, here, with_metric):
    """:func:`evaluate_facts` with the address array ``F``, called through its address
    (:func:`facts`)."""
    F = bind(F)
    return evaluate_facts(F, x, p, here, with_metric)


@_inline
def facts(F, x, p, here, with_metric):
    """Make ``here`` hold the facts at ``x`` (see :func:`evaluate_facts`) unless it holds them
    already: a status code.  The trajectory loop passes each step the facts that its check of
    the iterate computed, so a step evaluates nothing here; a caller without them (a step rule
    called on its own) passes :func:`new_facts`, and they are computed by :func:`facts_at`
    through its address (binding.KERNEL_SIGNATURES), compiled once rather than into every step
    rule.  ``here`` must hold nothing or the facts at this very ``x``."""
    if here[0] == KNOWN_METRIC or (here[0] == KNOWN_GRAD and not with_metric):
        return OK
    F = bind(F)
    return F.facts(F.addresses, x, p, here, with_metric)


@_jit
def natural_here_at(F, x, p, here, b, out):
    """:func:`natural` with the facts at ``x`` (``here``, computed if it does not hold them):
    ``out = g(x)^{-1} b`` by the metric's Cholesky factor there, without evaluating the metric
    again; a status code.  With the address array ``F``, called through its address
    (:func:`natural_here`)."""
    status = facts(F, x, p, here, True)
    if status != OK:
        return status
    cholesky_solve(chol_here(here, x.size), b, out)
    if not finite(out):  # an infinite gradient or correction, or a metric that overflowed
        return NON_FINITE
    return OK


@_inline
def natural_here(F, x, p, here, b, out):
    """:func:`natural_here_at` through its address (binding.KERNEL_SIGNATURES): compiled once,
    not into every step rule."""
    F = bind(F)
    return F.natural_here(F.addresses, x, p, here, b, out)


@_inline
def nat_dir_here(F, x, p, here, out):
    """:func:`nat_dir` with the facts at ``x`` (``here``, computed if it does not hold them):
    ``out = d(x) = -g(x)^{-1} ∇L(x)`` from the gradient and the metric's factor held there, the
    same numbers as :func:`nat_dir_at`'s; a status code."""
    F = bind(F)
    status = facts(F, x, p, here, True)
    if status != OK:
        return status
    n = x.size
    g = np.empty(n)
    grad = grad_here(here, n)
    for i in range(n):
        g[i] = -grad[i]
    return natural_here(F, x, p, here, g, out)


# Step rules x_k → x_{k+1} (paper eq. 5–9; docs/mathematics.rst), one function per method of the registry
# (riemannopt.integrators.methods), all with the signature (binding.STEP_SIGNATURE, with which
# they are compiled to be passed to the loop)
#     step_<name>(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad) -> status
# ``xprev`` is x_{k-1} (x_0 at k = 0), ``here`` the facts at x (see facts: what the check of x
# computed), ``out`` receives x_{k+1}.  A rule takes the gradient and the metric at x from
# ``here`` (nat_dir_here, natural_here, grad_here, chol_here) and evaluates the problem's
# functions only at other points or for other quantities.  When an ODE solve fails (an
# exponential map, or exact's flow), ``bad`` (length n + 2) receives (y(t), t, why): where its
# solution stopped, when and why.


@_inline
def stopped(y, t, why, bad):
    """Record in ``bad`` where (the first ``n`` entries of the state ``y``), when and why an ODE
    solve stopped."""
    n = bad.size - 2
    for i in range(n):
        bad[i] = y[i]
    bad[n] = t
    bad[n + 1] = why


@_inline
def end_into(status, y, t, why, out, bad):
    """The outcome ``(status, y, t, why)`` of an ODE solve: ``out`` receives the first
    ``out.size`` entries of its final state, or on failure ``bad`` where, when and why it stopped."""
    if status != OK:
        stopped(y, t, why, bad)
        return status
    for i in range(out.size):
        out[i] = y[i]
    return OK


@_jit
def expmap_into(F, x, v, p, rtol, atol, max_steps, out, bad):
    """``out = Exp_x(v)``; on failure ``bad`` receives where, when and why the geodesic stopped."""
    if not finite(v):
        return NON_FINITE
    status, y, t, why = exp_map(F, x, v, p, rtol, atol, max_steps)
    return end_into(status, y, t, why, out, bad)


@_jit
def step_gd(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    status = facts(F, x, p, here, False)
    if status == OK:
        combine(out, x, -lr, grad_here(here, x.size))
    return status


@_jit
def step_ng(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    d = np.empty(x.size)
    status = nat_dir_here(F, x, p, here, d)
    if status == OK:
        combine(out, x, lr, d)
    return status


@_jit
def step_mid(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    dm = np.empty(n)
    status = nat_dir(F, combine(np.empty(n), x, 0.5 * lr, d), p, dm)
    if status == OK:
        combine(out, x, lr, dm)
    return status


@_jit
def step_geo(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status == OK:
        a = np.empty(n)
        F.gamma_vv_chol(x, d, chol_here(here, n), p, a)
        combine(out, x, lr, d, -0.5 * lr * lr, a)
    return status


@_jit
def step_geof(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    # eq. 8–9: the velocity of the previous step replaces d inside Γ, so one solve suffices.
    if k == 0:
        v = np.empty(n)
        status = nat_dir_here(F, x, p, here, v)
    else:
        v = combine(np.empty(n), np.zeros(n), 1.0 / lr, x, -1.0 / lr, xprev)
        status = facts(F, x, p, here, True)
    if status != OK:
        return status
    c = np.empty(n)
    F.gamma_first_vv(x, v, p, c)
    b = combine(np.empty(n), np.zeros(n), -1.0, grad_here(here, n), -0.5 * lr, c)
    w = np.empty(n)
    status = natural_here(F, x, p, here, b, w)
    if status == OK:
        combine(out, x, lr, w)
    return status


@_jit
def step_re(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    return expmap_into(F, x, combine(d, np.zeros(n), lr, d), p, rtol, atol, max_steps, out, bad)


@_jit
def step_exact(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    # The flow ẋ = d(x) (eq. 5) from x_k over [0, η], solved afresh at each step: the iterates are
    # its samples at t_k = kη, to the solver's tolerance, and every solve is bounded work.
    status, y, t, why = solve(F, x, lr, p, rtol, atol, max_steps)
    return end_into(status, y, t, why, out, bad)


@_jit
def step_rk4(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    tmp = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    status = nat_dir(F, combine(tmp, x, 0.5 * lr, d), p, k2)
    if status != OK:
        return status
    status = nat_dir(F, combine(tmp, x, 0.5 * lr, k2), p, k3)
    if status != OK:
        return status
    status = nat_dir(F, combine(tmp, x, lr, k3), p, k4)
    if status != OK:
        return status
    combine(tmp, d, 2.0, k2, 2.0, k3, 1.0, k4)
    combine(out, x, lr / 6.0, tmp)
    return OK


@_jit
def step_geo3(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    # Third-order Taylor expansion of the geodesic: γ⃛ = -∂Γ(v,v,v) + 2Γ(Γ(v,v), v).
    a = np.empty(n)
    F.gamma_vv_chol(x, d, chol_here(here, n), p, a)
    da = np.empty(n)
    F.dgamma_vvv(x, d, p, da)
    aa = np.empty(n)
    F.gamma_uv(x, a, d, p, aa)
    jerk = combine(np.empty(n), np.zeros(n), -1.0, da, 2.0, aa)
    combine(out, x, lr, d, -0.5 * lr * lr, a, lr * lr * lr / 6.0, jerk)
    return OK


@_jit
def step_rmid(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    # The half step along the geodesic: x½ = Exp_x(η/2 · d(x)), arriving with velocity u½.
    status, y, t, why = exp_map(F, x, combine(d, np.zeros(n), 0.5 * lr, d), p, rtol, atol, max_steps)
    if status == OK:
        dh = np.empty(n)
        status = nat_dir(F, y[:n], p, dh)
        if status != OK:
            return status
        # Back along the same geodesic (start x½, velocity −u½), carrying d(x½) by parallel transport.
        z = pack(y[:n], y[n : 2 * n], dh)
        for i in range(n, 2 * n):
            z[i] = -z[i]
        status, y, t, why = solve(F, z, 1.0, p, rtol, atol, max_steps)
    if status != OK:
        stopped(y, t, why, bad)
        return status
    return expmap_into(F, x, combine(np.empty(n), np.zeros(n), lr, y[2 * n :]), p, rtol, atol, max_steps, out, bad)


@_jit
def covariant_dd(F, x, d, p, here, out):
    """``out = ∇_d d``, the covariant derivative of the natural-gradient field along itself:
    differentiating ``g d = −∇L`` along ``d`` gives ``g ∇_d d = −H d − c`` with
    ``c_k = ½ ∂_k g(d, d) = Γ_{jik} d^i d^j`` (solved with the metric's factor from the facts at
    ``x``, ``here``)."""
    n = x.size
    H = np.empty((n, n))
    F.hessian(x, p, H)
    Gf = np.empty((n, n, n))
    F.christoffel_first(x, p, Gf)
    b = np.empty(n)
    for m in range(n):
        s = 0.0
        for i in range(n):
            s -= H[m, i] * d[i]
            for j in range(n):
                s -= Gf[j, i, m] * d[i] * d[j]
        b[m] = s
    return natural_here(F, x, p, here, b, out)


@_jit
def step_rtaylor(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    d = np.empty(n)
    status = nat_dir_here(F, x, p, here, d)
    if status != OK:
        return status
    a = np.empty(n)
    status = covariant_dd(F, x, d, p, here, a)
    if status != OK:
        return status
    # The flow's second-order Taylor expansion, taken in normal coordinates: Exp_x(η d + ½η² ∇_d d).
    return expmap_into(F, x, combine(a, np.zeros(n), lr, d, 0.5 * lr * lr, a), p, rtol, atol, max_steps, out, bad)


@_jit
def step_newton(F, x, xprev, lr, k, p, rtol, atol, max_steps, here, out, bad):
    n = x.size
    status = facts(F, x, p, here, False)
    if status != OK:
        return status
    s = np.empty(n)
    H = np.empty((n, n))
    F.hessian(x, p, H)
    g = grad_here(here, n).copy()  # lu_solve overwrites it
    if not lu_solve(H, g, s):
        return SINGULAR
    if not finite(s):
        return NON_FINITE
    combine(out, x, -lr, s)
    return OK


@_jit
def check(F, uses_metric, x, p):
    """Status of a point: finite, in the domain, and (``uses_metric``) a metric that is positive
    definite there (the checks of :func:`check_point` without the loss)."""
    F = bind(F)
    if not finite(x):
        return NON_FINITE
    if not F.in_domain(x, p):
        return OUT_OF_DOMAIN
    if uses_metric:
        w = np.empty(x.size)
        G = np.empty((x.size, x.size))
        F.metric(x, p, G)
        if not chol_solve(G, np.zeros(x.size), w):
            return NOT_PD
    return OK


@_inline
def check_here(F, uses_metric, x, p, here):
    """Status of an iterate: finite, in the domain, (for methods that use it) a metric that is
    positive definite there, and a finite loss, all from one call of the problem's ``state``,
    whose values ``here`` receives (:func:`facts`; ``here[1]`` is the loss) for the step from
    that iterate.  Inlined into the trajectory loop (:func:`check_point` from Python)."""
    status = evaluate_facts(F, x, p, here, uses_metric)
    if status != OK:
        return status
    if not math.isfinite(here[1]):
        return NON_FINITE
    return OK


@_jit
def check_point(F, uses_metric, x, p, here):
    """:func:`check_here`, called from Python: the status of the iterate ``x``, and its facts in
    ``here``."""
    F = bind(F)
    return check_here(F, uses_metric, x, p, here)


@_jit
def check_all(F, uses_metric, X, p, status):
    """:func:`check` of each row of ``X`` into ``status``; the index of the first bad row, or -1."""
    F = bind(F)
    first = -1
    for b in range(X.shape[0]):
        status[b] = check(F, uses_metric, X[b], p)
        if status[b] != OK and first < 0:
            first = b
    return first


@_jit
def start_ok(F, x, v, p):
    """Whether ``x`` and ``v`` are finite, ``x`` in the domain with a positive definite metric:
    the checks of a start point in one call (the detailed checks run only when this fails, to
    name what is wrong)."""
    F = bind(F)
    if not (finite(x) and finite(v) and F.in_domain(x, p)):
        return False
    w = np.empty(x.size)
    G = np.empty((x.size, x.size))
    F.metric(x, p, G)
    return chol_solve(G, np.zeros(x.size), w)


@_jit
def run(F, S, x0, lr, steps, every, p, rtol, atol, max_steps, uses_metric, X, L, bad):
    """Run ``steps`` updates of the method from ``x0``, keeping every ``every``-th iterate.

    Rows of ``X`` and ``L`` receive ``x_0, x_every, x_2·every, ...`` and the last iterate (``x_steps``
    when the run completes, the last valid iterate when it fails), so they need
    ``1 + ceil(steps / every)`` rows; only three iterates and the facts at the current one
    (:func:`facts`: what its check computed, which the step from it reads) are held otherwise, so
    memory does not grow with ``steps``.  ``bad`` (length ``n + 2``) receives the offending point
    of a failure (and, when an exponential map failed, the time and the reason it stopped).

    Returns ``(status, k, computed, rows)``: ``k`` is the index of the iterate that failed
    (``steps`` on success), ``computed`` says whether ``x_k`` was produced (and is the offending
    point, in ``bad``) or the step from ``x_{k-1}`` failed before producing it, and ``rows`` how
    many rows of ``X`` and ``L`` were filled.  ``S`` is the step rule, as addresses (see
    :func:`~riemannopt.integrators.binding.bind_step`).
    """
    F = bind(F)
    step = bind_step(S)
    n = x0.size
    prev = x0.copy()
    cur = x0.copy()
    nxt = x0.copy()
    here = new_facts(n)
    for i in range(n):
        bad[i] = x0[i]
    status = check_here(F, uses_metric, cur, p, here)
    if status != OK:
        return status, 0, True, 0
    loss = here[1]
    for i in range(n):
        X[0, i] = cur[i]
    L[0] = loss
    rows = 1
    for k in range(steps):
        status = step(F, cur, prev, lr, k, p, rtol, atol, max_steps, here, nxt, bad)
        computed = status == OK
        if computed:
            # the facts at the new iterate replace those at the current one, which the step used
            status = check_here(F, uses_metric, nxt, p, here)
        if status != OK:
            if computed:
                for i in range(n):
                    bad[i] = nxt[i]
            if k % every != 0:  # keep the last valid iterate even off the recording grid
                for i in range(n):
                    X[rows, i] = cur[i]
                L[rows] = loss
                rows += 1
            return status, k + 1, computed, rows
        prev, cur, nxt = cur, nxt, prev
        loss = here[1]
        if (k + 1) % every == 0 or k + 1 == steps:
            for i in range(n):
                X[rows, i] = cur[i]
            L[rows] = loss
            rows += 1
    return OK, steps, True, rows


@_pjit
def run_batch(F, S, X0, lr, steps, every, p, rtol, atol, max_steps, uses_metric, X, L, bad, out):
    """:func:`run` from each row of ``X0``, in parallel: member ``b`` fills ``X[b]``, ``L[b]`` and
    ``bad[b]``, and ``out[b]`` receives its ``(status, k, computed, rows)``."""
    for b in prange(X0.shape[0]):
        status, k, computed, rows = run(
            F, S, X0[b], lr, steps, every, p, rtol, atol, max_steps, uses_metric, X[b], L[b], bad[b]
        )
        out[b, 0] = status
        out[b, 1] = k
        out[b, 2] = computed
        out[b, 3] = rows
