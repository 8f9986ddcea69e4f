"""``minimize``: natural-gradient and Riemannian conjugate-gradient minimizers with line searches.

A :func:`scipy.optimize.minimize`-style front to the minimizers of :data:`MINIMIZERS` (issue 25
item 2), each run as one jitted loop (:mod:`riemannopt.minimizers.kernels`).

The methods, with ``∇L`` the gradient, ``g`` the metric, ``ξ = g⁻¹∇L`` the Riemannian gradient
(``−ξ`` the natural direction ``∇N`` of Pascanu & Bengio 2014) and ``⟨u, v⟩ = uᵀgv``:

``ng-ls``
    ``d_k = −ξ_k`` and ``x_{k+1} = Exp_{x_k}(α_k d_k)``, ``α_k`` an exact line search along the
    geodesic.  Searching along the geodesic (rather than the straight line of Pascanu & Bengio's
    NGD-L) makes the iterates invariant: ``φ(α) = L(Exp_x(α d))`` is the same function in every
    coordinate system.
``ncg-f``
    Pascanu & Bengio 2014 §9–10's NCG-F (Gonzalez & Dorronsoro 2006): nonlinear conjugate
    gradient with natural directions, ``d_k = −ξ_k + β_k d_{k−1}`` with Polak–Ribière in the
    metric at the current point, ignoring its change:
    ``β_k = ∇L_kᵀ(ξ_k − ξ_{k−1}) / ∇L_{k−1}ᵀξ_{k−1}`` (= ``⟨ξ_k, ξ_k − ξ_{k−1}⟩_{g_k} /
    ⟨ξ_{k−1}, ξ_{k−1}⟩_{g_{k−1}}``), clipped at 0 by default (``beta="pr+"``, as
    :mod:`riemannopt.nn.ncg`; ``"pr"``, ``"fr"`` too), and an exact line search along the
    straight line ``x_k + α d_k``.
``ncg-l``
    Pascanu & Bengio 2014 eq. 21–22: ``(α_k, β_k) = argmin L(x_k − α ξ_k + β d_{k−1})`` and
    ``d_k = −ξ_k + (β_k/α_k) d_{k−1}``, so ``x_{k+1} = x_k + α_k d_k``.  The seed solves the
    two-dimensional problem with COBYLA; here Newton's method on the plane, with the Hessian
    ``Uᵀ H U`` (``H`` the coordinate Hessian of the loss, ``U = [−ξ_k, d_{k−1}]``) made positive
    definite and a backtracking step: it converges quadratically to the plane's minimiser, which
    the conjugacy of eq. 23 assumes, and works from gradients where a derivative-free solver
    stalls (at a gradient norm of 1e-10 the loss changes by 1e-20, below its rounding).  The
    first iteration (no ``d_{−1}``) searches the line of ``−ξ_0``.
``rcg``
    Riemannian conjugate gradient (Absil, Mahony & Sepulchre 2008, §8.3, with parallel transport
    as the vector transport): ``x_{k+1} = Exp_{x_k}(α_k d_k)``, ``α_k`` an exact line search
    along the geodesic, ``d_{k+1} = −ξ_{k+1} + β_{k+1} P(d_k)`` with ``P(d_k) = γ̇(α_k)`` the
    geodesic's own velocity (a geodesic transports its velocity), and ``β`` in the metric at the
    new point: Polak–Ribière+ ``max(0, ⟨ξ_{k+1}, ξ_{k+1} − P(ξ_k)⟩ / ⟨ξ_k, ξ_k⟩)`` (default; one
    more solve per iteration transports ``ξ_k``) or Fletcher–Reeves
    ``⟨ξ_{k+1}, ξ_{k+1}⟩ / ⟨ξ_k, ξ_k⟩`` (``beta="fr"``).

The conjugate-gradient methods (``ncg-f``, ``rcg``) restart (``d = −ξ``) every ``n``
iterations (Nocedal & Wright 2006, §5.2; without it Fletcher–Reeves stalled for hundreds of
iterations on Gamma) and when ``d`` is not a descent direction (``∇L·d ≥ 0``).  Every method
stops when the Riemannian norm of the gradient ``‖ξ‖ = √(∇Lᵀg⁻¹∇L) ≤ tol``, a scalar invariant,
so that an invariant method stops at the same iteration in every parameterization.

The line search (``ng-ls``, ``ncg-f``, ``rcg``) looks for a root of ``φ'(α)``, ``φ(α)`` the loss
along the search curve and ``φ'(α) = ∇L(c(α))·ċ(α)`` (along a geodesic, ``ċ(α)`` is the
velocity the geodesic solver returns with the point, so a trial costs one solve).  It tries
``α = 1`` first (a unit step along a natural direction is Newton's step where the metric is the
loss's Hessian, as the Fisher metric is at a maximum-likelihood fit), grows the step to just past
the root of the secant of ``φ'`` until ``φ'`` changes sign (halving it after a point outside the
domain or a geodesic the solver cannot follow), then narrows the bracket by cubic interpolation
of ``φ`` and ``φ'`` (by the secant of ``φ'`` where values of ``φ`` differ by less than their
rounding, near a minimum; by bisection when an interpolation stalls) until
``|φ'(α)| ≤ line_search_tol·|φ'(0)|`` or the bracket is narrower than ``line_search_tol·α``.
Every decision depends only on values of ``φ`` and ``φ'``, which do not depend on the
coordinates: the invariant methods' iterates agree across parameterizations to the geodesic
solver's tolerance (1e-12 measured on Gamma), whatever ``line_search_tol``.
"""

import functools
import math

import numpy as np
from numba import njit

from riemannopt import errors
from riemannopt._checks import allocate, as_count, check_number
from riemannopt._numba_cache import heal_numba_cache
from riemannopt.errors import MethodError
from riemannopt.integrators import binding
from riemannopt.integrators.common import as_compiled, check_max_steps, check_start
from riemannopt.integrators.link import functions_used, kernels_for
from riemannopt.integrators.trajectory import Trajectory
from riemannopt.minimizers import kernels
from riemannopt.minimizers.registry import MINIMIZERS, get_minimizer

__all__ = ["minimize", "MINIMIZERS"]

_MESSAGES = {
    kernels.CONVERGED: "the Riemannian norm of the gradient √(∇Lᵀg⁻¹∇L) = {gn:.3g} is at most tol = {tol:g}",
    kernels.MAXITER: "maxiter = {maxiter} iterations without converging: √(∇Lᵀg⁻¹∇L) = {gn:.3g} > tol = {tol:g}",
    kernels.LINE_SEARCH_FAILED: (
        "the {search} from x_{k} found no point below it (√(∇Lᵀg⁻¹∇L) = {gn:.3g} > tol = {tol:g}): "
        "the loss or its gradient is at its rounding there, or the search curve leaves the domain at once"
    ),
    kernels.STALLED: (
        "the {search} from x_{k} moved it by less than its rounding: √(∇Lᵀg⁻¹∇L) = {gn:.3g} > tol = {tol:g} "
        "is as far as the rounding of the gradient lets the run go (a larger tol ends it)"
    ),
}
_SEARCHES = {"geodesic": "line search along the geodesic", "line": "line search", "plane": "two-dimensional search"}


@functools.cache
def _loop():
    """The jitted loop: from numba's disk cache when it was compiled for this layout of the
    address array (``kernels.LAYOUT == binding.LAYOUT``), else compiled afresh in memory, since
    the cached machine code would read the problem's functions at the wrong places."""
    heal_numba_cache(kernels)
    if kernels.LAYOUT == binding.LAYOUT:
        return kernels.minimize_loop
    return njit(error_model="numpy")(kernels._minimize_loop)


def _functions(entry, beta_code):
    """The problem functions the loop calls for ``entry``."""
    names = {"loss", "grad", "metric", "in_domain"}
    if entry.curve == "geodesic":
        # the geodesic solver (and Γ(u, v) for rcg's transport of the gradient)
        transport = entry.name == "rcg" and beta_code != kernels.BETA_FR
        names |= functions_used("transport" if transport else "exp_map")
    if entry.uses_hessian:
        names.add("hessian")
    return frozenset(names)


def minimize(
    problem,
    method,
    x0,
    *,
    tol=1e-10,
    maxiter=1000,
    beta=None,
    line_search_tol=1e-8,
    line_search_maxiter=50,
    rtol=1e-12,
    atol=1e-14,
    max_steps=None,
):
    """Minimise the problem's loss from ``x0`` with ``method`` until the Riemannian norm of the
    gradient ``√(∇Lᵀg⁻¹∇L) ≤ tol``.

    Parameters
    ----------
    problem : Problem or CompiledProblem
    method : str
        One of :data:`MINIMIZERS` (:mod:`riemannopt.minimizers.registry`):

    {methods}
    x0 : array_like, shape (n,)
        Start point: finite, in the domain, with a positive definite metric.
    tol : float
        Stop when ``‖ξ‖ = √(∇Lᵀg⁻¹∇L) ≤ tol`` (> 0), the Riemannian norm of the gradient, the same
        in every coordinate system.
    maxiter : int
        At most this many iterations (≥ 1); the result then has ``success`` False.
    beta : str, optional
        The β rule of ``ncg-f`` and ``rcg``: ``"pr+"`` (default), ``"pr"`` or ``"fr"``
        (Polak–Ribière+, Polak–Ribière, Fletcher–Reeves); an error for the other methods.
    line_search_tol : float
        The line search stops when ``|φ'(α)| ≤ line_search_tol·|φ'(0)|`` (NCG-L's plane search
        when ``|∇ψ| ≤ line_search_tol·|∇ψ(0)|``), in ``(0, 1)``.
    line_search_maxiter : int
        Trial points of one line search (Newton steps of one plane search), ≥ 1.
    rtol, atol : float
        Tolerances of every geodesic solve (as :func:`~riemannopt.exp_map`).
    max_steps : int, optional
        Step cap of every geodesic solve (default 100 000); a trial point whose geodesic needs more
        is treated as invalid (the step is shortened).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (the last iterate), ``fun`` (its loss), ``jac`` (its gradient ``∇L``),
        ``grad_norm`` (its ``√(∇Lᵀg⁻¹∇L)``), ``nit`` (iterations), ``nfev``, ``njev``, ``nhev``
        (loss, gradient and Hessian evaluations), ``nmev`` (metric evaluations), ``nsolves``
        (geodesic solves: trial points of the geodesic line searches and ``rcg``'s transports),
        ``ntrials`` (trial points of all searches), ``nexact`` (searches that met
        ``line_search_tol``; the others stopped at the rounding of ``φ'``), ``success``,
        ``status`` (0 converged, 1 maxiter, 2 the search failed, 5 a step below the rounding
        of the iterate: ``tol`` is below what the gradient's rounding allows) and ``message``, ``method`` and
        ``beta``, and the run: ``trajectory`` (a :class:`~riemannopt.Trajectory`: ``x`` of shape
        ``(nit + 1, n)`` and ``loss``; its ``lr`` is NaN, the steps being searched),
        ``grad_norms`` (``nit + 1``), ``directions`` (``(nit, n)``: ``d_k`` from ``x_k``),
        ``steps`` (``α_k``, ``x_{k+1} = Exp_{x_k}(α_k d_k)`` or ``x_k + α_k d_k``) and ``betas``
        (the coefficient of ``d_{k−1}`` in ``d_k``; 0 for a steepest-descent step or a restart).

    Raises
    ------
    MethodError
        Unknown method or beta rule, or a bad option (``tol``, ``maxiter``, line-search settings,
        ``rtol``, ``atol``).
    InputError, ShapeError, DomainError, NotPositiveDefiniteError
        A bad ``x0``: not numeric or finite, of the wrong shape, outside the domain, or with a
        metric that is not positive definite.
    NotPositiveDefiniteError, NonFiniteError
        When the metric at an accepted iterate (or the start point) is not positive definite or
        its loss, gradient or natural gradient is not finite; trial points of a search that are
        invalid only shorten the step.  The exception names the iteration and the point and
        carries the run so far: ``.trajectory`` (the valid iterates; none when the start point
        failed) and ``.result`` (the OptimizeResult up to the last valid iterate).
    """
    entry = get_minimizer(method)
    beta_code = entry.beta(beta)
    C = as_compiled(problem)
    K = kernels_for(C)
    tol = check_number(tol, "tol", low=0, strict=True, cls=MethodError)
    maxiter = as_count(maxiter, "maxiter", MethodError)
    ls_tol = check_number(
        line_search_tol, "line_search_tol", low=0, high=1, strict=True, strict_high=True, cls=MethodError
    )
    ls_maxiter = as_count(line_search_maxiter, "line_search_maxiter", MethodError)
    rtol = check_number(rtol, "rtol", low=0, strict=True, cls=MethodError)
    atol = check_number(atol, "atol", low=0, strict=True, cls=MethodError)
    max_steps = check_max_steps(max_steps, scipy=False)
    x0 = check_start(C, K, x0, "x0")
    n = C.n
    what = f"maxiter = {maxiter} keeps up to {maxiter + 1} iterates, which"
    X, D, L, GN, A, B = allocate([(maxiter + 1, n), (maxiter + 1, n), *[(maxiter + 1,)] * 4], what)
    for a in (X, D, L, GN, A, B):
        a.fill(np.nan)
    counts = np.zeros(len(kernels.COUNTERS), dtype=np.int64)
    K.bind(_functions(entry, beta_code))
    status, k, nexact = _loop()(
        K.F, entry.code, beta_code, x0, C.p, tol, maxiter, ls_tol, ls_maxiter, rtol, atol, max_steps,
        X, L, GN, D, A, B, counts,
    )  # fmt: skip
    status, k, nexact = int(status), int(k), int(nexact)
    failed = status in (kernels.NOT_PD, kernels.NON_FINITE)
    last = k - 1 if failed else k  # the last valid iterate (-1: x0 itself failed)
    beta_name = None if not entry.betas else (beta or entry.betas[0])
    res = _result(C, entry.name, beta_name, status, last, nexact, X, L, GN, D, A, B, counts, tol, maxiter, entry)
    if failed:
        _raise(C, entry.name, status, k, X[k], res)
    return res


def _result(C, name, beta, status, last, nexact, X, L, GN, D, A, B, counts, tol, maxiter, entry):
    """The OptimizeResult of a run whose last valid iterate is ``last`` (-1: none, the start
    point failed; the result then describes ``x0`` with an empty trajectory)."""
    from scipy.optimize import OptimizeResult  # not at import: scipy.optimize takes 0.6 s to import

    k = max(last, 0)
    rows = last + 1
    x = X[k].copy()
    traj = Trajectory(x=X[:rows].copy(), loss=L[:rows].copy(), method=name, lr=math.nan, last=last)
    gn = float(GN[k])
    message = _MESSAGES.get(status, "the run failed after x_{k}").format(
        gn=gn, tol=tol, maxiter=maxiter, k=k, search=_SEARCHES[entry.curve]
    )
    try:
        jac = C.grad(x)
    except errors.RiemannOptError:
        jac = np.full(C.n, np.nan)
    return OptimizeResult(
        x=x,
        fun=float(L[k]),
        jac=jac,
        grad_norm=gn,
        nit=k,
        success=status == kernels.CONVERGED,
        status=status,
        message=message,
        method=name,
        beta=beta,
        nexact=nexact,
        **{name_: int(c) for name_, c in zip(kernels.COUNTERS, counts)},
        trajectory=traj,
        grad_norms=GN[:rows].copy(),
        directions=D[:k].copy(),
        steps=A[:k].copy(),
        betas=B[:k].copy(),
    )


def _raise(C, method, status, k, point, res):
    """Raise the error of a run whose iterate ``k`` (``point``) failed with ``status``."""
    if status == kernels.NOT_PD:
        cls, text = errors.NotPositiveDefiniteError, "has a metric that is singular or not positive definite"
    else:
        cls, text = errors.NonFiniteError, "has a loss, a gradient or a natural gradient g⁻¹∇L that is not finite"
    msg = (
        f"minimize {method!r} failed at iteration {k}: x_{k} = {np.asarray(point)} {text}; the run so far "
        f"({len(res.trajectory)} iterates) is in the exception's .trajectory and .result"
    )
    raise cls(msg, method=method, step=k, point=np.array(point), trajectory=res.trajectory, result=res)


def _method_list(indent):
    return "\n".join(f"{indent}- ``{name}``: {m.description};" for name, m in MINIMIZERS.items())


minimize.__doc__ = minimize.__doc__.replace("    {methods}", _method_list("        "))
