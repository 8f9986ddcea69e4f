"""Convergence order and order of invariance (paper Theorem 1 and §2's definition).

Both studies run a method at a geometric sequence of step counts over a fixed time ``T`` and fit
the least-squares slope of ``log(error)`` against ``log(h)``, ``h = T / steps``.
"""

from dataclasses import dataclass, field

import numpy as np

from riemannopt._checks import as_float_array, check_finite, check_number
from riemannopt.errors import MethodError, SymbolicError
from riemannopt.integrators import optimize
from riemannopt.integrators.common import as_compiled
from riemannopt.integrators.optimize import check_method
from riemannopt.progress import progress

__all__ = ["fit_order", "convergence_order", "invariance_order", "ConvergenceStudy", "InvarianceStudy"]


def fit_order(h, error):
    """Least-squares slope of ``log(error)`` on ``log(h)``.

    Entries with a zero or non-finite error are left out (they carry no slope information);
    returns NaN when fewer than two remain.
    """
    h = np.asarray(h, dtype=np.float64)
    error = np.asarray(error, dtype=np.float64)
    ok = (error > 0) & np.isfinite(error) & (h > 0)
    if ok.sum() < 2:
        return float("nan")
    lh, le = np.log(h[ok]), np.log(error[ok])
    lh0 = lh - lh.mean()
    return float(lh0 @ (le - le.mean()) / (lh0 @ lh0))


@dataclass
class ConvergenceStudy:
    """Global error at time ``T`` of ``method`` against ``reference``, for each step count.

    Attributes
    ----------
    method, reference : str
    T : float
    steps : ndarray of int
    h : ndarray
        Step sizes ``T / steps``.
    error : ndarray
        ``‖x_method(T) − x_reference(T)‖₂`` for each step size.
    order : float
        Least-squares slope of ``log error`` on ``log h``.
    x_method, x_reference : ndarray, shape (len(steps), n)
        The raw end points behind each error.
    """

    method: str
    reference: str
    T: float
    steps: np.ndarray
    h: np.ndarray
    error: np.ndarray
    order: float
    x_method: np.ndarray = field(repr=False)
    x_reference: np.ndarray = field(repr=False)


@dataclass
class InvarianceStudy:
    """Gap at time ``T`` between a method run in two parameterizations (mapped to the same
    coordinates), for each step count.

    Attributes
    ----------
    method : str
    T : float
    steps : ndarray of int
    h : ndarray
    gap : ndarray
        ``‖x(T) − φ(ξ(T))‖₂`` in the original coordinates.
    order : float
        Least-squares slope of ``log gap`` on ``log h`` (the order of invariance); meaningless
        when the gap is at round-off, as for ``re`` and ``exact``.
    x_base, x_reparam : ndarray, shape (len(steps), n)
        End points of both runs in the original coordinates.
    """

    method: str
    T: float
    steps: np.ndarray
    h: np.ndarray
    gap: np.ndarray
    order: float
    x_base: np.ndarray = field(repr=False)
    x_reparam: np.ndarray = field(repr=False)


def _steps(steps_list):
    """At least two distinct positive integers (each gives one point of the fitted line; equal
    step sizes carry no slope)."""
    try:
        steps = np.asarray(list(steps_list))
    except TypeError:
        steps = None
    if steps is None or steps.dtype.kind not in "iuf" or steps.ndim != 1:
        raise MethodError(f"steps_list must be a sequence of positive integers, got {steps_list!r}")
    if steps.size < 2 or np.any(~np.isfinite(steps)) or np.any(steps < 1) or np.any(steps != np.round(steps)):
        raise MethodError(f"steps_list must hold at least two positive integers, got {steps_list!r}")
    values, counts = np.unique(steps, return_counts=True)
    if np.any(counts > 1):
        raise MethodError(
            f"steps_list must hold distinct step counts, but {[int(v) for v in values[counts > 1]]} "
            f"{'is' if np.sum(counts > 1) == 1 else 'are'} repeated in {list(steps_list)!r}"
        )
    return steps.astype(int)


def _start(x0):
    return check_finite(as_float_array(x0, "x0"), "x0")


def final_point(C, method, x0, T, steps, memo=None, **options):
    """``x(T)`` of ``method`` with ``steps`` steps of ``T / steps``; memoised in ``memo``."""
    # p's bytes, not a tuple of its floats: for a problem with data it holds every data column
    key = (C.key, C.p.tobytes(), method, tuple(np.asarray(x0, float)), T, int(steps))
    if memo is not None and key in memo:
        return memo[key]
    x = optimize(C, method, x0, T / steps, int(steps), **options).x[-1]
    if memo is not None:
        memo[key] = x
    return x


def convergence_order(problem, method, reference, x0, T, steps_list, memo=None, show_progress=None, **options):
    """Measure the order at which ``method`` converges to ``reference`` (paper Theorem 1).

    Parameters
    ----------
    problem : Problem or CompiledProblem
    method, reference : str
        Any of :data:`riemannopt.METHODS` (e.g. ``geo`` against ``re``, ``ng`` against ``exact``).
    x0 : array_like
        Start point in the problem's coordinates.
    T : float
        The fixed time at which the global error is taken.
    steps_list : sequence of int
        Step counts (a geometric sequence such as 16, 32, 64, 128 is best).
    memo : dict, optional
        Shared between calls to reuse runs (e.g. the reference's) across studies.
    show_progress : bool, optional
        Progress bar (default: when attached to a terminal).
    **options
        Passed to :func:`riemannopt.optimize` (``expmap``, ``rtol``, ``atol``).

    Returns
    -------
    ConvergenceStudy

    Raises
    ------
    MethodError
        An unknown method, ``method == reference`` (the error would be zero by construction),
        ``T`` not a positive number, ``steps_list`` without two distinct positive step counts.
    """
    check_method(method)
    check_method(reference)
    if method == reference:
        raise MethodError(f"method and reference are both {method!r}: the error would be zero by construction")
    C = as_compiled(problem)
    steps = _steps(steps_list)
    T = check_number(T, "T", low=0, strict=True, cls=MethodError)
    x0 = C.vector(_start(x0), "x0")
    xm, xr = [], []
    for s in progress(steps, desc=f"{method}→{reference}", enable=show_progress):
        xm.append(final_point(C, method, x0, T, s, memo, **options))
        xr.append(final_point(C, reference, x0, T, s, memo, **options))
    xm, xr = np.array(xm), np.array(xr)
    h = T / steps
    error = np.linalg.norm(xm - xr, axis=1)
    return ConvergenceStudy(method, reference, T, steps, h, error, fit_order(h, error), xm, xr)


def invariance_order(problem, reparam, method, x0, T, steps_list, memo=None, show_progress=None, **options):
    """Measure the order of invariance of ``method`` under the reparameterization ``reparam``.

    Runs ``method`` in the problem's coordinates from ``x0`` and in the reparameterized ones from
    ``from_base(x0)``, maps the second run back with ``to_base``, and fits the slope of the gap
    at time ``T`` against the step size.  An exactly invariant method (``re``, ``exact``) leaves a
    gap at round-off; ``ng`` has order 1, ``mid``/``geo``/``geof`` order 2 (paper §2–4).

    Parameters
    ----------
    problem : Problem
        The symbolic problem (a CompiledProblem's ``.problem`` is used if one is given).
    reparam : tuple
        ``(new_coords, phi)`` as in :data:`riemannopt.models.GAMMA_REPARAMS`, or an already
        reparameterized Problem whose ``base`` is ``problem``.
    method : str
    x0 : array_like
        Start point in the problem's coordinates.
    T : float
    steps_list : sequence of int
    memo, show_progress, **options
        As in :func:`convergence_order`.

    Returns
    -------
    InvarianceStudy

    Raises
    ------
    SymbolicError
        ``reparam`` is a problem that is not a reparameterization of ``problem`` (its ``base`` is
        another problem), or not a ``(new_coords, phi)`` pair.
    MethodError
        As in :func:`convergence_order`.
    """
    check_method(method)
    P = getattr(problem, "problem", problem)
    Q = _reparameterization(P, reparam)
    CP, CQ = as_compiled(P), as_compiled(Q)
    steps = _steps(steps_list)
    T = check_number(T, "T", low=0, strict=True, cls=MethodError)
    x0 = CP.vector(_start(x0), "x0")
    xi0 = Q.from_base(x0)
    xb, xq = [], []
    for s in progress(steps, desc=f"{method} invariance", enable=show_progress):
        xb.append(final_point(CP, method, x0, T, s, memo, **options))
        xq.append(Q.to_base(final_point(CQ, method, xi0, T, s, memo, **options)))
    xb, xq = np.array(xb), np.array(xq)
    h = T / steps
    gap = np.linalg.norm(xb - xq, axis=1)
    return InvarianceStudy(method, T, steps, h, gap, fit_order(h, gap), xb, xq)


def _reparameterization(P, reparam):
    """``reparam`` as a Problem reparameterizing ``P``: a ``(new_coords, phi[, inverse])`` tuple
    is applied to ``P``; a given Problem must have ``P`` (or an equal problem with the same
    parameter values) as its base, or the gap would compare two different problems."""
    if hasattr(reparam, "to_base"):
        base = reparam.base
        if base is None:
            raise SymbolicError(f"reparam {reparam!r} is not a reparameterization: it has no base problem")
        if base is not P and (base.key != P.key or not np.array_equal(base.runtime_values, P.runtime_values)):
            raise SymbolicError(f"reparam is a reparameterization of {base!r}, not of the problem studied, {P!r}")
        return reparam
    if isinstance(reparam, (tuple, list)) and len(reparam) in (2, 3):
        return P.reparameterize(*reparam)
    raise SymbolicError(f"reparam must be (new_coords, phi) or a reparameterized Problem, got {reparam!r}")
