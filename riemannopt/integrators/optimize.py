"""``optimize``: run one of the paper's integrators of the natural-gradient flow."""

import numpy as np

from .._checks import allocate, as_count, as_float_array, check_finite
from ..errors import ExpMapError, MethodError
from .common import as_compiled, check_max_steps, check_positive, domain_text, raise_status, why_text
from .expmap import exp_map_ivp
from .flows import WHY_DOMAIN, ivp_samples
from .link import kernels_for
from .trajectory import make_trajectory

__all__ = ["optimize", "METHODS", "LOOP_METHODS"]

#: Methods run inside one jitted loop, in the order of the codes in ``_kernels.py``.
LOOP_METHODS = ("gd", "ng", "mid", "geo", "geof", "re", "rk4", "geo3")

#: Every method :func:`optimize` knows (DESIGN §1).
METHODS = ("gd", "ng", "mid", "geo", "geof", "re", "exact", "rk4", "geo3")

_EXPMAPS = ("dopri", "solve_ivp")

# The metric-using checks (finite, domain, positive definite metric) of the loop methods.
_CHECKED = LOOP_METHODS.index("ng")


def check_method(method):
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def _buffers(steps, every, n):
    """The trajectory buffers for ``1 + ceil(steps / every)`` kept iterates, checked to fit in
    memory before they are allocated."""
    rows = 1 + -(-steps // every)
    what = f"steps = {steps} keeps {rows} iterates (pass record_every=k to keep every k-th), which"
    return allocate([(rows, n), (rows,)], what)


def optimize(
    problem, method, x0, lr, steps, *, expmap="dopri", rtol=1e-12, atol=1e-14, max_steps=None, record_every=1
):
    """Run ``steps`` iterations of ``method`` from ``x0`` with learning rate ``lr``.

    Parameters
    ----------
    problem : Problem or CompiledProblem
        A Problem is compiled on demand (through the on-disk cache).
    method : str
        One of :data:`METHODS` (DESIGN §1):

        - ``gd``: gradient descent ``x − η∇L`` (not invariant; for contrast);
        - ``ng``: forward Euler on the natural-gradient flow, ``x + η d(x)`` (paper eq. 5);
        - ``mid``: midpoint integrator ``x + η d(x + η/2 · d(x))`` (§3);
        - ``re``: Riemannian Euler ``Exp_x(η d(x))`` (eq. 6), exactly invariant;
        - ``geo``: geodesic correction ``x + η d − ½η² Γ(d, d)`` (eq. 7);
        - ``geof``: faster geodesic correction with the previous step's velocity and one linear
          solve, ``x + η g⁻¹(−∇L − ½η Γ_first(v_k, v_k))`` (eq. 8–9), ``v_0 = d(x_0)``;
        - ``exact``: the flow ``ẋ = d(x)`` solved by scipy's DOP853 (``solve_ivp``'s method),
          sampled at ``t_k``;
        - ``rk4``: classical Runge–Kutta on the flow (order 4);
        - ``geo3``: third-order geodesic correction, ``geo`` plus ``η³/6 · γ⃛(0)``.
    x0 : array_like, shape (n,)
        Start point, in the problem's coordinates (finite numbers).
    lr : float
        Learning rate ``η = hλ``; iterate ``k`` approximates the flow at ``t_k = kη``.
    steps : int
        Number of iterations (≥ 1).
    expmap : {"dopri", "solve_ivp"}
        Exponential map used by ``re`` (see :func:`exp_map`).
    rtol, atol : float
        Tolerances of the ODE solvers (``re``, ``exact``).
    max_steps : int, optional
        Step cap of each ODE solve: of every exponential map of ``re``, and of the whole flow of
        ``exact``; a solve that needs more fails with an ExpMapError instead of running on.
        Default 100 000 for the jitted exponential map, 20 000 for scipy's DOP853 (``exact``, and
        ``re`` with ``expmap="solve_ivp"``), whose steps cost about a hundred times more.
    record_every : int
        Keep only every ``record_every``-th iterate, and the last: the trajectory then holds
        iterates ``0, k, 2k, ...`` and ``steps`` (see :attr:`Trajectory.iterations`), and the
        memory of a long run no longer grows with ``steps`` (the jitted loop holds three iterates).
        The iterates themselves do not change.

    Returns
    -------
    Trajectory
        ``x`` of shape ``(steps + 1, n)`` with ``x[0] == x0`` (``1 + ceil(steps / record_every)``
        rows when recording sparsely), and the loss at each kept iterate.

    Raises
    ------
    MethodError
        Unknown method, ``lr`` not positive, ``steps`` < 1, ``lr · steps`` not finite.
    InputError
        ``x0`` not numeric or not finite, ``max_steps`` or ``record_every`` not an integer ≥ 1, or
        a trajectory too large for the machine's memory (checked before allocating it).
    ShapeError
        ``x0`` of the wrong shape.
    DomainError, NotPositiveDefiniteError, NonFiniteError, ExpMapError
        When an iterate leaves the domain, the metric is not positive definite there, a value is
        not finite, or an ODE solve fails; the exception names the method, the step and the point
        and carries the partial trajectory in ``.trajectory`` (its kept iterates and the last valid
        one).  A bad start point fails at step 0 with an empty trajectory.
    """
    method = check_method(method)
    if expmap not in _EXPMAPS:
        raise MethodError(f"unknown exponential map {expmap!r}; choose one of {', '.join(_EXPMAPS)}")
    C = as_compiled(problem)
    x0 = C.vector(check_finite(as_float_array(x0, "x0"), "x0"), "x0")
    lr = check_positive(lr, "lr")
    steps = as_count(steps, "steps", MethodError)
    if not np.isfinite(lr * steps):
        raise MethodError(f"lr · steps, the run's time span, overflows: lr = {lr}, steps = {steps}")
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    max_steps = check_max_steps(max_steps, scipy=method == "exact" or (method == "re" and expmap == "solve_ivp"))
    every = as_count(record_every, "record_every")
    X, L = _buffers(steps, every, C.n)
    K = kernels_for(C)
    if method == "exact":
        return _exact(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L)
    if method == "re" and expmap == "solve_ivp":
        return _re_ivp(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L)
    code = LOOP_METHODS.index(method)
    bad = np.empty(C.n + 2)
    status, k, computed, rows = K.run(code, x0, lr, steps, every, C.p, rtol, atol, max_steps, X, L, bad)
    traj = make_trajectory(X, L, method, lr, rows, every, k if status == K.OK else k - 1)
    if status == K.OK:
        return traj
    point = bad[: C.n] if computed else X[rows - 1]
    detail = ""
    if status == K.EXPMAP_FAILED:
        v = lr * C.module.direction(point, C.p)
        detail = _expmap_detail(v, bad[C.n], bad[: C.n], bad[C.n + 1], max_steps)
    raise_status(status, C, method=method, step=k, point=point, trajectory=traj, during=not computed, detail=detail)


def _expmap_detail(v, t, y, why, max_steps):
    return (
        f" (the geodesic from there with velocity lr·d = {v} stopped at t = {t:.6g} of 1, at "
        f"{y}, because {why_text(why, max_steps)})"
    )


def _exact(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L):
    n = C.n
    status = K.check_point(_CHECKED, x0, C.p, L, 0)
    if status != K.OK:
        raise_status(status, C, method="exact", step=0, point=x0, trajectory=make_trajectory(X, L, "exact", lr, 0, every))
    iterations = np.arange(0, steps + 1, every, dtype=np.int64)
    if iterations[-1] != steps:
        iterations = np.append(iterations, steps)
    ts = lr * iterations

    def rhs(x):
        d = np.empty(n)
        if K.nat_dir(x, C.p, d) != K.OK:
            d[:] = np.nan
        return d

    res = ivp_samples(rhs, lambda x: K.check(_CHECKED, x, C.p), x0, ts, rtol, atol, max_steps, X)
    status, count = K.check_rows(_CHECKED, X, res.count, C.p, L)
    traj = make_trajectory(X, L, "exact", lr, count, every, iterations[count - 1] if count else -1)
    if count == len(iterations):
        return traj
    step = int(iterations[count])
    if status != K.OK:  # a sample with a non-finite loss
        raise_status(status, C, method="exact", step=step, point=X[count], trajectory=traj)
    if res.status == K.EXPMAP_FAILED:
        where = (
            f"the ODE solver of the flow ẋ = d(x) stopped at t = {res.t:.6g}, x = {res.y}, before "
            f"t_{step} = {ts[count]:.6g}, because {why_text(res.why, max_steps)}"
        )
        if res.why == WHY_DOMAIN:
            where += domain_text(C)
        msg = f"method 'exact' failed at step {step}: {where}; the partial trajectory ({len(traj)} iterates) is in the exception's .trajectory"
        raise ExpMapError(msg, method="exact", step=step, point=np.array(res.y), trajectory=traj, t=float(res.t))
    where = f"on the way to t_{step} = {ts[count]:.6g} the flow reached x = {res.bad}, which"
    raise_status(res.status, C, method="exact", step=step, point=res.bad, trajectory=traj, where=where)


def _re_ivp(C, K, x0, lr, steps, every, rtol, atol, max_steps, X, L):
    n = C.n
    here = np.empty(1)
    status = K.check_point(_CHECKED, x0, C.p, here, 0)
    if status != K.OK:
        raise_status(status, C, method="re", step=0, point=x0, trajectory=make_trajectory(X, L, "re", lr, 0, every))
    X[0], L[0] = x0, here[0]
    rows, cur, L_cur, d = 1, x0, here[0], np.empty(n)
    for k in range(steps):
        status = K.nat_dir(cur, C.p, d)
        computed, detail = False, ""
        if status == K.OK:
            status, y, t, why = exp_map_ivp(C, K, cur, lr * d, rtol, atol, max_steps)
            if status != K.OK:
                detail = _expmap_detail(lr * d, t, y[:n], why, max_steps)
        if status == K.OK:
            nxt, computed = y[:n].copy(), True
            status = K.check_point(_CHECKED, nxt, C.p, here, 0)
        if status != K.OK:
            if k % every:
                X[rows], L[rows] = cur, L_cur
                rows += 1
            traj = make_trajectory(X, L, "re", lr, rows, every, k)
            raise_status(status, C, method="re", step=k + 1, point=nxt if computed else cur, trajectory=traj, during=not computed, detail=detail)
        cur, L_cur = nxt, here[0]
        if (k + 1) % every == 0 or k + 1 == steps:
            X[rows], L[rows] = cur, L_cur
            rows += 1
    return make_trajectory(X, L, "re", lr, rows, every, steps)
