"""Truncated preconditioned conjugate gradient on a damped curvature system.

Solves ``(F + λ D) x = b`` given only ``v ↦ F v`` (e.g. :meth:`riemannopt.nn.Linearization.fisher_vp`),
in the style of Martens (2010), *Deep learning via Hessian-free optimization*: CG minimizes
the quadratic ``q(x) = ½ xᵀ A x − bᵀ x`` (``A = F + λ D``) and is stopped when ``q`` stops making
relative progress, long before the residual is small, because the quadratic is itself only a
local model.  Paper Appendix D uses ``D = diag(F)``; Martens uses ``D = I``.
"""

import math
from dataclasses import dataclass

import numpy as np

from riemannopt.errors import MethodError, ShapeError

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
    MethodError
        For negative ``damping``, ``eps`` or ``tol``, a non-positive preconditioner, or a
        negative ``max_iter``.
    """
    b = np.asarray(b)
    if b.ndim != 1:
        raise ShapeError(f"b must be a vector, got shape {b.shape}")
    dtype = b.dtype if b.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    b = b.astype(dtype, copy=False)
    n = b.shape[0]

    def vector(x, name):
        x = np.asarray(x, dtype=dtype)
        if x.shape != (n,):
            raise ShapeError(f"{name} must have shape ({n},) like b, got {x.shape}")
        return x

    if damping < 0 or eps < 0 or (tol is not None and tol < 0):
        raise MethodError(f"damping, eps and tol must be >= 0, got {damping}, {eps}, {tol}")
    if max_iter < 0:
        raise MethodError(f"max_iter must be >= 0, got {max_iter}")
    if diag is not None:
        diag = vector(diag, "diag")
    if precond is not None:
        precond = vector(precond, "precond")
        if not np.all(precond > 0):
            raise MethodError("the preconditioner's diagonal must be positive")

    def apply(x):
        y = vector(matvec(x), "matvec(x)")
        if damping:
            y = y + damping * (x if diag is None else diag * x)
        return y

    def q_of(x, r):
        # q = ½ xᵀAx − bᵀx with Ax = b − r: no extra product needed.
        return -0.5 * float(x @ (b + r))

    if x0 is None:
        x = np.zeros(n, dtype=dtype)
        r = b.copy()
    else:
        x = vector(x0, "x0").copy()
        r = b - apply(x)
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
        ap = apply(p)
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
