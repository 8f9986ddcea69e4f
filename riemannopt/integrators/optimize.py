"""``optimize``: run one of the paper's integrators of the natural-gradient flow."""

import numbers

import numpy as np

from ..errors import MethodError
from .common import as_compiled, check_positive, raise_status
from .link import kernels_for
from .flows import ivp_samples
from .trajectory import make_trajectory

__all__ = ["optimize", "METHODS", "LOOP_METHODS"]

#: Methods run inside one jitted loop, in the order of the codes in ``_kernels.py``.
LOOP_METHODS = ("gd", "ng", "mid", "geo", "geof", "re", "rk4", "geo3")

#: Every method :func:`optimize` knows (DESIGN §1).
METHODS = ("gd", "ng", "mid", "geo", "geof", "re", "exact", "rk4", "geo3")

_EXPMAPS = ("dopri", "solve_ivp")


def check_method(method):
    if method not in METHODS:
        raise MethodError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def check_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise MethodError(f"steps must be an integer ≥ 1, got {steps!r}")
    return int(steps)


def optimize(problem, method, x0, lr, steps, *, expmap="dopri", rtol=1e-12, atol=1e-14, max_steps=100_000):
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
        - ``exact``: the flow ``ẋ = d(x)`` solved by ``solve_ivp`` (DOP853), sampled at ``t_k``;
        - ``rk4``: classical Runge–Kutta on the flow (order 4);
        - ``geo3``: third-order geodesic correction, ``geo`` plus ``η³/6 · γ⃛(0)``.
    x0 : array_like, shape (n,)
        Start point, in the problem's coordinates.
    lr : float
        Learning rate ``η = hλ``; iterate ``k`` approximates the flow at ``t_k = kη``.
    steps : int
        Number of iterations (≥ 1).
    expmap : {"dopri", "solve_ivp"}
        Exponential map used by ``re`` (see :func:`exp_map`).
    rtol, atol : float
        Tolerances of the ODE solvers (``re``, ``exact``).
    max_steps : int
        Step cap of the jitted exponential map.

    Returns
    -------
    Trajectory
        ``x`` of shape ``(steps + 1, n)`` with ``x[0] == x0``, and the loss at each iterate.

    Raises
    ------
    MethodError
        Unknown method, ``lr`` not positive, ``steps`` < 1.
    ShapeError
        ``x0`` of the wrong shape.
    DomainError, NotPositiveDefiniteError, NonFiniteError, ExpMapError
        When an iterate leaves the domain, the metric is not positive definite there, a value is
        not finite, or an ODE solve fails; the exception names the method, the step and the point
        and carries the partial trajectory in ``.trajectory``.
    """
    method = check_method(method)
    if expmap not in _EXPMAPS:
        raise MethodError(f"unknown exponential map {expmap!r}; choose one of {', '.join(_EXPMAPS)}")
    C = as_compiled(problem)
    x0 = C.vector(x0, "x0")
    lr = check_positive(lr, "lr")
    steps = check_steps(steps)
    rtol = check_positive(rtol, "rtol")
    atol = check_positive(atol, "atol")
    K = kernels_for(C)
    n = C.n
    X = np.full((steps + 1, n), np.nan)
    L = np.full(steps + 1, np.nan)
    if method == "exact":
        return _exact(C, K, x0, lr, steps, rtol, atol, X, L)
    if method == "re" and expmap == "solve_ivp":
        return _re_ivp(C, K, x0, lr, steps, rtol, atol, X, L)
    code = LOOP_METHODS.index(method)
    status, k, computed = K.run(code, x0, lr, steps, C.p, rtol, atol, int(max_steps), X, L)
    traj = make_trajectory(X, L, method, lr, k)
    if status != K.OK:
        raise_status(status, C, method=method, step=k, point=X[k] if computed else X[k - 1], trajectory=traj, during=not computed)
    return traj


def _validated(C, K, method, X, L, count, lr, start=0):
    """Check the iterates ``start..count-1`` (domain, metric, loss); raise on the first bad one."""
    code = LOOP_METHODS.index("ng")  # the same checks as the metric-using loop methods
    for k in range(start, count):
        status = K.check(code, X[k], C.p)
        if status == K.OK:
            L[k] = K.loss(X[k], C.p)
            if not np.isfinite(L[k]):
                status = K.NON_FINITE
        if status != K.OK:
            raise_status(status, C, method=method, step=k, point=X[k], trajectory=make_trajectory(X, L, method, lr, k))


def _exact(C, K, x0, lr, steps, rtol, atol, X, L):
    def rhs(x):
        d = np.empty(C.n)
        return d if K.nat_dir(x, C.p, d) == K.OK else np.full(C.n, np.nan)

    Y, count, message = ivp_samples(rhs, x0, lr * np.arange(steps + 1), rtol, atol)
    X[:count] = Y[:count]
    _validated(C, K, "exact", X, L, count, lr)
    traj = make_trajectory(X, L, "exact", lr, count)
    if count < steps + 1:
        raise_status(K.EXPMAP_FAILED, C, method="exact", step=count, point=X[count - 1], trajectory=traj, during=True)
    return traj


def _re_ivp(C, K, x0, lr, steps, rtol, atol, X, L):
    from .expmap import exp_map_ivp

    X[0] = x0
    _validated(C, K, "re", X, L, 1, lr)
    d = np.empty(C.n)
    for k in range(steps):
        status = K.nat_dir(X[k], C.p, d)
        y = exp_map_ivp(C, K, X[k], lr * d, rtol, atol) if status == K.OK else None
        if y is None:
            traj = make_trajectory(X, L, "re", lr, k + 1)
            raise_status(status if status != K.OK else K.EXPMAP_FAILED, C, method="re", step=k + 1, point=X[k], trajectory=traj, during=True)
        X[k + 1] = y
        _validated(C, K, "re", X, L, k + 2, lr, start=k + 1)
    return make_trajectory(X, L, "re", lr, steps + 1)
