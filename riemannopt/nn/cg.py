"""Truncated preconditioned conjugate gradient on a damped curvature system.

Solves ``(F + λ D) x = b`` given only ``v ↦ F v`` (e.g. :meth:`riemannopt.nn.Linearization.fisher_vp`),
in the style of Martens (2010), *Deep learning via Hessian-free optimization*: CG minimizes
the quadratic ``q(x) = ½ xᵀ A x − bᵀ x`` (``A = F + λ D``) and is stopped when ``q`` stops making
relative progress, long before the residual is small, because the quadratic is itself only a
local model.  Paper Appendix D uses ``D = diag(F)``; Martens uses ``D = I``.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from riemannopt._checks import as_float_array, check_finite
from riemannopt.errors import InputError, NonFiniteError, ShapeError

__all__ = ["CGResult", "solve_damped"]


@dataclass
class CGResult:
    """What :func:`solve_damped` returns.

    Attributes
    ----------
    x : ndarray
        The last iterate.
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
    """

    x: np.ndarray
    iterations: int
    converged: bool
    reason: str
    q: np.ndarray


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
):
    """Truncated preconditioned CG on ``(F + damping · D) x = b`` (Martens 2010).

    Stops after step ``i`` when ``i > k``, ``q_i < 0`` and ``(q_i − q_{i−k}) / q_i < k · eps``
    with ``k = max(min_gap, ⌈gap_ratio · i⌉)``; or when ``‖r_i‖ ≤ tol ‖b‖`` if ``tol`` is given;
    or after ``max_iter`` steps.

    Parameters
    ----------
    matvec : callable
        ``v ↦ F v`` for a symmetric positive semi-definite ``F``.
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

    Returns
    -------
    CGResult

    Raises
    ------
    ShapeError
        If ``b`` is not a vector, or ``diag``, ``x0``, ``precond`` or ``matvec``'s result do not
        match it.
    InputError
        For a NaN or infinite entry in ``b``, ``diag``, ``x0`` or ``precond``; a ``damping``,
        ``eps`` or ``tol`` that is not a finite number ≥ 0; a negative or non-integer
        ``max_iter``; a negative ``diag`` or a non-positive preconditioner.
    NonFiniteError
        If ``matvec`` returns a NaN or an infinity mid-run; ``.point`` holds the last iterate.
    """
    b = as_float_array(b, "b", None)
    if b.ndim != 1:
        raise ShapeError(f"b must be a vector, got shape {b.shape}")
    dtype = b.dtype if b.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    b = check_finite(b.astype(dtype, copy=False), "b")
    n = b.shape[0]

    def vector(x, name):
        x = as_float_array(x, name, dtype)
        if x.shape != (n,):
            raise ShapeError(f"{name} must have shape ({n},) like b, got {x.shape}")
        return check_finite(x, name)

    for name, value in (("damping", damping), ("eps", eps), ("tol", tol)):
        if value is None and name == "tol":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 0:
        raise InputError(f"max_iter must be an integer >= 0, got {max_iter!r}")
    if diag is not None:
        diag = vector(diag, "diag")
        if np.any(diag < 0):
            raise InputError(f"diag must be non-negative, but diag[{int(np.argmax(diag < 0))}] < 0")
    if precond is not None:
        precond = vector(precond, "precond")
        if not np.all(precond > 0):
            raise InputError(f"the preconditioner must be positive, but precond[{int(np.argmax(~(precond > 0)))}] <= 0")

    def apply(v, step, iterate):
        y = as_float_array(matvec(v), "matvec(x)", dtype)
        if y.shape != (n,):
            raise ShapeError(f"matvec(x) must have shape ({n},) like b, got {y.shape}")
        if not np.isfinite(y).all():
            raise NonFiniteError(
                f"solve_damped: the curvature product F·p is not finite at CG step {step}; "
                "the last finite iterate is in the exception's .point",
                method="cg",
                step=step,
                point=iterate.copy(),
            )
        if damping:
            y = y + damping * (v if diag is None else diag * v)
        return y

    def q_of(x, r):
        # q = ½ xᵀAx − bᵀx with Ax = b − r: no extra product needed.
        return -0.5 * float(x @ (b + r))

    if x0 is None:
        x = np.zeros(n, dtype=dtype)
        r = b.copy()
    else:
        x = vector(x0, "x0").copy()
        r = b - apply(x, 0, x)
    q = [q_of(x, r)]
    b_norm = float(np.linalg.norm(b))

    def solved(r, rz):
        return rz == 0 or (tol is not None and np.linalg.norm(r) <= tol * b_norm)

    z = r if precond is None else r / precond
    p = z.copy()
    rz = float(r @ z)
    reason = "residual" if solved(r, rz) else None
    i = 0
    while reason is None:
        if i == max_iter:
            reason = "max_iter"
            break
        i += 1
        ap = apply(p, i, x)
        pap = float(p @ ap)
        if not pap > 0:
            reason = "negative_curvature"
            break
        alpha = rz / pap
        x += alpha * p
        r -= alpha * ap
        q.append(q_of(x, r))
        z = r if precond is None else r / precond
        rz_new = float(r @ z)
        k = max(min_gap, math.ceil(gap_ratio * i))
        if solved(r, rz_new):
            reason = "residual"
        elif i > k and q[i] < 0 and (q[i] - q[i - k]) / q[i] < k * eps:
            reason = "progress"
        p *= rz_new / rz
        p += z
        rz = rz_new
    return CGResult(
        x=x,
        iterations=len(q) - 1,
        converged=reason in ("residual", "progress"),
        reason=reason,
        q=np.array(q),
    )
