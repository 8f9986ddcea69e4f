"""Truncated preconditioned conjugate gradient on a damped curvature system.

Solves ``(F + λ D) x = b`` given only ``v ↦ F v`` (e.g. :meth:`riemannopt.nn.Linearization.fisher_vp`),
in the style of Martens (2010), *Deep learning via Hessian-free optimization*: CG minimizes
the quadratic ``q(x) = ½ xᵀ A x − bᵀ x`` (``A = F + λ D``) and is stopped when ``q`` stops making
relative progress, long before the residual is small, because the quadratic is itself only a
local model.  Paper Appendix D uses ``D = diag(F)``; Martens uses ``D = I``.

With ``save=True`` the solver also keeps copies of the iterates at steps ``i = ⌈5·1.3ʲ⌉``
(Martens 2010, "CG iteration backtracking"): the last CG iterate minimizes the quadratic
model best, but an earlier one is often better for the true objective, because the model was
built on one curvature minibatch; :func:`riemannopt.nn.search.backtrack` picks among them.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from riemannopt._checks import check_finite, check_number
from riemannopt.errors import InputError, NonFiniteError, ShapeError

__all__ = ["CGResult", "solve_damped", "save_schedule", "check_cg_options"]


def check_cg_options(eps=5e-4, tol=None, min_gap=10, gap_ratio=0.1, *, name="{}"):
    """The stopping options of :func:`solve_damped`, checked: ``eps`` and ``gap_ratio`` finite
    numbers ≥ 0, ``tol`` one or ``None``, ``min_gap`` an integer ≥ 1.

    Parameters
    ----------
    name : str
        How a message names an option: ``name.format(option)`` (e.g. ``"cg_options[{!r}]"``).

    Returns
    -------
    dict
        The four options as Python numbers (``tol`` possibly ``None``).

    Raises
    ------
    InputError
        Naming the first bad option and its value.
    """
    return dict(
        eps=check_number(eps, name.format("eps"), low=0),
        tol=None if tol is None else check_number(tol, name.format("tol"), low=0),
        min_gap=check_number(min_gap, name.format("min_gap"), integer=True, low=1),
        gap_ratio=check_number(gap_ratio, name.format("gap_ratio"), low=0),
    )


def save_schedule(max_iter, first=5, ratio=1.3):
    """The CG steps ``i = ⌈first · ratioʲ⌉ ≤ max_iter`` (``j = 0, 1, ...``) at which
    :func:`solve_damped` saves iterates for backtracking (Martens 2010, "CG iteration
    backtracking"): 5, 7, 9, 11, 15, 19, 25, 32, 41, 54, ...

    Returns
    -------
    list of int
        Increasing, distinct steps.
    """
    steps = []
    j = 0
    while True:
        i = math.ceil(first * ratio**j)
        if i > max_iter:
            return steps
        if not steps or i > steps[-1]:
            steps.append(i)
        j += 1


@dataclass
class CGResult:
    """What :func:`solve_damped` returns.

    Attributes
    ----------
    x : array
        The last iterate (an array of the vector operations' kind: numpy unless ``ops`` was
        given).
    iterations : int
        Number of CG steps taken (matrix-vector products after the initial residual).
    converged : bool
        True when a stopping rule fired (``reason`` ``"residual"`` or ``"progress"``).
    reason : str
        ``"residual"`` (``‖b − A x‖ ≤ tol ‖b‖``, or an exact zero residual), ``"progress"``
        (Martens' relative-progress rule), ``"max_iter"``, or ``"negative_curvature"``
        (``pᵀ A p ≤ 0``: ``A`` is not positive definite along the search direction; ``x`` is the
        iterate before that step).
    q : ndarray
        ``q(x_i)`` for ``i = 0, ..., iterations`` (``q[0]`` at the warm start).
    saved : list of (int, array)
        With ``save=True``: ``(i, x_i)`` at the steps of :func:`save_schedule` that were reached,
        then the last iterate ``(iterations, x)`` (the same array as :attr:`x`), in increasing
        ``i``.  Empty otherwise.
    """

    x: np.ndarray
    iterations: int
    converged: bool
    reason: str
    q: np.ndarray
    saved: list = field(default_factory=list)


def solve_damped(
    matvec,
    b,
    damping=0.0,
    *,
    diag=None,
    x0=None,
    precond=None,
    max_iter=250,
    eps=5e-4,
    tol=None,
    min_gap=10,
    gap_ratio=0.1,
    ops=None,
    save=False,
):
    """Truncated preconditioned CG on ``(F + damping · D) x = b`` (Martens 2010).

    Stops after step ``i`` when ``i > k``, ``q_i < 0`` and ``(q_i − q_{i−k}) / q_i < k · eps``
    with ``k = max(min_gap, ⌈gap_ratio · i⌉)``; or when ``‖r_i‖ ≤ tol ‖b‖`` if ``tol`` is given;
    or after ``max_iter`` steps.

    Parameters
    ----------
    matvec : callable
        ``v ↦ F v`` for a symmetric positive semi-definite ``F``; returns a new vector (the
        solver may overwrite it).
    b : array_like, shape (n,)
        Right-hand side (for a natural-gradient step, minus the gradient).
    damping : float
        λ ≥ 0.
    diag : array_like, shape (n,), optional
        Non-negative diagonal of ``D``; the identity when omitted.
    x0 : array_like, shape (n,), optional
        Warm start (Martens re-uses the previous step's solution, decayed); zero when omitted.
    precond : array_like, shape (n,), optional
        Positive diagonal ``m`` of a preconditioner ``M ≈ A``; each step solves ``M z = r``.
    max_iter : int
        Cap on the number of CG steps.
    eps : float
        ε of the relative-progress rule (Martens: 5e-4); 0 disables it.
    tol : float, optional
        Relative residual tolerance.
    min_gap, gap_ratio : int, float
        The window ``k = max(min_gap, ⌈gap_ratio · i⌉)`` of the progress rule (Martens: 10, 0.1).
    ops : riemannopt.nn.backends.base.VectorOps, optional
        The vector operations to run with, e.g. ``net.backend``: the vectors then stay in that
        backend's memory (on a GPU for ``cuda``) and only scalars reach the host.  Default:
        numpy, in ``b``'s floating type (float64 for other types).
    save : bool
        Keep copies of the iterates at the steps of :func:`save_schedule` and the last iterate
        in :attr:`CGResult.saved`, for CG-iterate backtracking (Martens 2010).

    Returns
    -------
    CGResult

    Raises
    ------
    ShapeError
        If ``b`` is not a vector, or ``diag``, ``x0``, ``precond`` or ``matvec``'s result do not
        match it.
    InputError
        For a non-numeric argument; a NaN or infinite entry in ``b``, ``diag``, ``x0`` or
        ``precond``; a ``damping``, ``eps``, ``tol`` or ``gap_ratio`` that is not a finite
        number ≥ 0; a negative or non-integer ``max_iter``; a ``min_gap`` that is not an integer
        ≥ 1; a negative ``diag`` or a non-positive preconditioner.
    NonFiniteError
        If ``matvec`` returns a NaN or an infinity mid-run; ``.point`` holds the last iterate
        (as a numpy array).
    """
    if ops is None:
        from riemannopt.nn.backends.numpy_backend import NumpyVectors

        kind = getattr(b, "dtype", None) or np.asarray(b).dtype
        ops = NumpyVectors(np.dtype(kind) if np.dtype(kind) in (np.float32, np.float64) else np.dtype(np.float64))
    b = ops.asarray(b, "b")
    if len(b.shape) != 1:
        raise ShapeError(f"b must be a vector, got shape {tuple(b.shape)}")
    n = b.shape[0]

    def finite(x, name):
        if not ops.all_finite(x):
            check_finite(ops.to_numpy(x), name)  # names the first offending entry
        return x

    def vector(x, name):
        x = ops.asarray(x, name)
        if tuple(x.shape) != (n,):
            raise ShapeError(f"{name} must have shape ({n},) like b, got {tuple(x.shape)}")
        return finite(x, name)

    b = finite(b, "b")
    damping = check_number(damping, "damping", low=0)
    max_iter = check_number(max_iter, "max_iter", integer=True, low=0)
    eps, tol, min_gap, gap_ratio = check_cg_options(eps, tol, min_gap, gap_ratio).values()
    if diag is not None:
        diag = vector(diag, "diag")
        if n and ops.min_max(diag)[0] < 0:
            i = int(np.argmax(ops.to_numpy(diag) < 0))
            raise InputError(f"diag must be non-negative, but diag[{i}] < 0")
    if precond is not None:
        precond = vector(precond, "precond")
        if n and not ops.min_max(precond)[0] > 0:
            i = int(np.argmax(~(ops.to_numpy(precond) > 0)))
            raise InputError(f"the preconditioner must be positive, but precond[{i}] <= 0")

    def apply(v, step, iterate):
        y = matvec(v)
        if tuple(y.shape) != (n,):
            raise ShapeError(f"matvec(x) must have shape ({n},) like b, got {tuple(y.shape)}")
        if not ops.all_finite(y):
            raise NonFiniteError(
                f"solve_damped: the curvature product F·p is not finite at CG step {step}; "
                "the last finite iterate is in the exception's .point",
                method="cg",
                step=step,
                point=ops.to_numpy(ops.copy(iterate)),
            )
        if damping:
            ops.axpy_(damping, v if diag is None else ops.multiply(diag, v), y)
        return y

    def q_of(x, r):
        # q = ½ xᵀAx − bᵀx with Ax = b − r: no extra product needed.
        return -0.5 * (ops.dot(x, b) + ops.dot(x, r))

    if x0 is None:
        x = ops.zeros(n)
        r = ops.copy(b)
    else:
        x = ops.copy(vector(x0, "x0"))
        r = ops.axpby(1.0, b, -1.0, apply(x, 0, x))
    q = [q_of(x, r)]
    b_norm = math.sqrt(ops.dot(b, b))

    def solved(r, rz):
        return rz == 0 or (tol is not None and math.sqrt(ops.dot(r, r)) <= tol * b_norm)

    def preconditioned(r):
        return r if precond is None else ops.divide(r, precond)

    z = preconditioned(r)
    p = ops.copy(z)
    rz = ops.dot(r, z)
    to_save = set(save_schedule(max_iter)) if save else ()
    saved = []
    reason = "residual" if solved(r, rz) else None
    i = 0
    while reason is None:
        if i == max_iter:
            reason = "max_iter"
            break
        i += 1
        ap = apply(p, i, x)
        pap = ops.dot(p, ap)
        if not pap > 0:
            reason = "negative_curvature"
            break
        alpha = rz / pap
        ops.axpy_(alpha, p, x)
        ops.axpy_(-alpha, ap, r)
        q.append(q_of(x, r))
        if i in to_save:
            saved.append((i, ops.copy(x)))
        z = preconditioned(r)
        rz_new = ops.dot(r, z)
        k = max(min_gap, math.ceil(gap_ratio * i))
        if solved(r, rz_new):
            reason = "residual"
        elif i > k and q[i] < 0 and (q[i] - q[i - k]) / q[i] < k * eps:
            reason = "progress"
        ops.scale_(rz_new / rz, p)
        ops.axpy_(1.0, z, p)
        rz = rz_new
    iterations = len(q) - 1
    if save:
        if saved and saved[-1][0] == iterations:
            saved.pop()  # its copy is replaced by x itself
        saved.append((iterations, x))
    return CGResult(
        x=x,
        iterations=iterations,
        converged=reason in ("residual", "progress"),
        reason=reason,
        q=np.array(q),
        saved=saved,
    )
