"""Fisher information metrics of parametric densities: in closed form where the expectations are
known or sympy can take them, otherwise as compiled numerical expectations (quadrature)."""

import subprocess
import sys

import sympy as sp

from riemannopt.errors import SymbolicError
from riemannopt.symbolic.metric import Metric, as_coords, as_expr
from riemannopt.symbolic.quadrature import QuadratureMetric, as_support
from riemannopt.symbolic.simplify import simplify as simplify_expr

__all__ = ["fisher_metric", "FISHER_METHODS"]

#: How :func:`fisher_metric` may take the expectation when no ``expectations`` are given.
FISHER_METHODS = ("auto", "closed", "quadrature")


def fisher_metric(
    log_density,
    variable,
    coords,
    expectations=None,
    simplify=True,
    data=None,
    *,
    support=None,
    substitution=None,
    method="auto",
    level=4,
    tol=1e-8,
    timeout=10.0,
):
    """The Fisher information metric of a parametric density, ``g_ij(θ) = −E[∂_i ∂_j log p(X; θ)]``.

    Three routes, tried in this order:

    1. **Sufficient statistics** (``expectations`` given): for an exponential family the Hessian of
       the log-density is affine in the sufficient statistics, so the expectation only needs
       ``E[T(X)]``, supplied in closed form.
    2. **sympy** (``method="auto"`` or ``"closed"``, ``support`` given): sympy integrates
       ``p · (−∂_i∂_j log p)`` over the support, in a separate process stopped after ``timeout``
       seconds; accepted only if it leaves no unevaluated integral and the density integrates to 1.
    3. **Quadrature** (``method="quadrature"``, or ``"auto"`` when sympy fails or runs out of
       time): a :class:`~riemannopt.symbolic.QuadratureMetric`, whose entries and derivatives
       compiled code computes by double-exponential quadrature over the support (a sum for a
       discrete variable) at every point; the derivatives are integrals of the integrand's
       derivatives, so Christoffel symbols, geodesics and every method work unchanged.

    Parameters
    ----------
    log_density : sympy expression
        ``log p(x; θ)`` in the data variable(s) and the coordinates (normalised: the quadrature
        checks that the probability sums to 1).
    variable : sympy.Symbol or tuple of Symbol
        The data variable ``x`` (several for a multivariate density).
    coords : sequence of sympy.Symbol
        The parameters ``θ`` (the manifold's coordinates).
    expectations : dict, optional
        ``{statistic: E[statistic]}``, e.g. ``{x: a/b, log(x): digamma(a) - log(b)}``: each
        statistic an expression of the variables alone, each expectation one of the coordinates.
    simplify : bool
        Simplify the closed-form entries (default True).
    data : sequence of sympy.Symbol or dict, optional
        For a conditional model ``log p(y | x; θ)`` (routes 1 and 2): the symbols of the
        conditioning data ``x`` (a dict's keys, so ``Problem``'s ``data`` dict may be passed as it
        is).  The result is then one example's Fisher metric (``Metric(..., data=...)``), and a
        :class:`~riemannopt.symbolic.Problem` with those data averages it over the rows: the
        Fisher metric of the conditional model is the data average of the per-example Fisher.
    support : optional
        The support of the variable (one per variable for several): ``(a, b)`` with numbers or
        ``±sympy.oo``, a sympy ``Interval``, ``sympy.Reals``; for a discrete variable a sympy
        ``Range(a, b)`` (``b`` may be ``oo``), ``sympy.Naturals0`` or ``sympy.Naturals``.  It must
        not depend on the parameters.  Required without ``expectations``.
    substitution : tuple, optional
        ``(u, X)``: integrate over new variables ``u`` (a Symbol, or a tuple for several), with
        ``x = X(u; θ)`` (an expression, or a tuple), increasing in ``u``; ``support`` is then the
        support of ``u``.  A substitution that standardises the density (``x = μ + σ u`` for a
        location-scale family, ``x = λ u^{1/k}`` for the Weibull) puts the quadrature's nodes where
        the mass is for every ``θ``, so the accuracy no longer depends on the parameters.
        Without one, the rule is placed for a density of scale about 1 (see
        :mod:`riemannopt.codegen.quadrature`).
    method : {"auto", "closed", "quadrature"}
        Without ``expectations``: try sympy and fall back on quadrature (``"auto"``), sympy only
        (``"closed"``: a SymbolicError if it fails), or quadrature only.
    level : int
        The quadrature's level, ``h = 2^−level`` (default 4: 145 nodes per variable; each level
        up doubles the nodes and roughly squares the error).
    tol : float
        The largest deviation of the quadrature's total probability from 1 accepted at a point;
        beyond it the metric is NaN there and a run stops with a NonFiniteError.
    timeout : float
        Seconds sympy may spend on the closed form (route 2).

    Returns
    -------
    Metric or QuadratureMetric

    Raises
    ------
    SymbolicError
        If an argument is malformed (a string that does not parse, ``expectations`` not a dict, a
        support that is empty or depends on the parameters), if neither ``expectations`` nor
        ``support`` is given, or if a Hessian entry is not affine in the given statistics (its
        expectation is not determined by them: the message names what is left and points to the
        quadrature route); with ``method="closed"``, if sympy cannot take the expectation in time.

    Notes
    -----
    Accuracy of the quadrature (``tests/symbolic/test_fisher_quadrature.py``, against closed
    forms and ``scipy.integrate.quad``): at the default level the catalogue's Weibull, von Mises,
    Student-t and negative binomial metrics are within ``1e-12`` relative of the reference, and
    their Christoffel symbols within ``1e-8`` of central differences of the metric.

    Examples
    --------
    >>> import sympy as sp
    >>> x, mu, s = sp.symbols("x mu sigma", positive=True)
    >>> logp = -sp.log(s) - (x - mu)**2 / (2 * s**2)
    >>> fisher_metric(logp, x, [mu, s], {x: mu, x**2: mu**2 + s**2}).matrix
    Matrix([
    [sigma**(-2),           0],
    [          0, 2/sigma**2]])
    """
    coords = as_coords(coords)
    variables = (variable,) if isinstance(variable, sp.Basic) else variable
    try:
        variables = tuple(variables)
    except TypeError:
        raise SymbolicError(f"variable must be a sympy Symbol or a tuple of them, got {variable!r}") from None
    for v in variables:
        if not isinstance(v, sp.Symbol):
            raise SymbolicError(f"variable must be a sympy Symbol or a tuple of them, got {variable!r}")
    variables = as_coords(variables, "variable")
    if data is not None:
        data = as_coords(list(data.keys()) if hasattr(data, "keys") else data, "data")
        inside = set(variables) & set(data)
        if inside:
            raise SymbolicError(f"the variable {sorted(map(str, inside))} is the model's own, not conditioning data")
    log_density = as_expr(log_density, "log_density")
    if method not in FISHER_METHODS:
        raise SymbolicError(f"unknown method {method!r}; choose one of {', '.join(FISHER_METHODS)}")
    if expectations is not None:
        return _from_statistics(log_density, variables, coords, expectations, simplify, data)
    if support is None:
        raise SymbolicError(
            "give either expectations= (the expectations of the sufficient statistics) or support= (the "
            "support of the variable, for sympy's integration or the quadrature)"
        )
    supports = _supports(support, variables if substitution is None else _substitution(substitution)[0])
    if method != "quadrature":
        metric = _closed_form(log_density, variables, coords, supports, substitution, data, simplify, timeout)
        if metric is not None:
            return metric
        if method == "closed":
            raise SymbolicError(
                f"sympy could not take the expectations in closed form within {timeout} s; use method='quadrature'"
            )
    if data:
        raise SymbolicError(
            "a conditional model with data is supported through expectations= or a closed form, not by "
            "quadrature (one expectation per data row)"
        )
    sub = _substitution(substitution) if substitution is not None else None
    return QuadratureMetric(log_density, variables, coords, supports, sub, level=level, tol=tol)


def _substitution(value):
    try:
        u, X = value
    except (TypeError, ValueError):
        raise SymbolicError(f"substitution must be a pair (u, X(u)), got {value!r}") from None
    u = (u,) if isinstance(u, sp.Basic) else tuple(u)
    X = (X,) if isinstance(X, (sp.Basic, str, int, float)) else tuple(X)
    return u, X


def _supports(support, variables):
    if len(variables) == 1:
        return (as_support(support),)
    try:
        items = list(support)
    except TypeError:
        items = None
    if items is None or len(items) != len(variables):
        raise SymbolicError(f"support must give one support per variable {variables}, got {support!r}")
    return tuple(as_support(s, f"the support of {v}") for s, v in zip(items, variables))


def _from_statistics(log_density, variables, coords, expectations, simplify, data):
    """Route 1: the Hessian's entries are affine in the statistics, whose expectations are given."""
    if not hasattr(expectations, "items"):
        raise SymbolicError(f"expectations must be a dict {{statistic: expectation}}, got {expectations!r}")
    expectations = {
        as_expr(stat, "a statistic of expectations"): as_expr(value, f"the expectation of {stat}")
        for stat, value in expectations.items()
    }
    for stat in expectations:
        if not stat.free_symbols & set(variables):
            raise SymbolicError(f"the statistic {stat} does not depend on the variables {list(variables)}")
    # Substitute the most complex statistics first, so that x**2 is not read as (x)**2.
    stats = sorted(expectations.items(), key=lambda kv: -sp.count_ops(kv[0]) - len(kv[0].args))
    placeholders = {stat: sp.Dummy(f"T{i}") for i, (stat, _) in enumerate(stats)}
    T = list(placeholders.values())
    n = len(coords)
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            h = sp.expand(-sp.diff(log_density, coords[i], coords[j]))
            for stat, _ in stats:
                h = h.xreplace({stat: placeholders[stat]})
            left = [t for t in sp.Add.make_args(h) if t.free_symbols & set(variables)]
            affine = not left
            if affine and T:
                try:
                    affine = sp.Poly(h, *T).total_degree() <= 1
                except sp.PolynomialError:  # the statistics appear inside other functions
                    affine = False
            if not affine:
                what = (
                    f"still depends on the variables through {sp.Add(*left)}, which is not one of the statistics "
                    f"{list(expectations)}"
                    if left
                    else f"is not affine in the statistics {list(expectations)}"
                )
                raise SymbolicError(
                    f"entry ({i}, {j}) of the negative Hessian, {h.xreplace({p: s for s, p in placeholders.items()})}, "
                    f"{what}: its expectation is not determined by them.  Add that statistic with its "
                    "expectation, or drop expectations= and give support= (sympy's integration, else a "
                    "compiled quadrature)"
                )
            e = h.subs({placeholders[stat]: val for stat, val in stats})
            g[i, j] = g[j, i] = simplify_expr(e) if simplify else e
    return Metric(coords, g, data=data)


# sympy's integration runs in a child process that can be stopped: it has no time limit of its
# own, and some integrals run for minutes.  The child reads and writes sympy's srepr.
_CHILD = r"""
import sys
import sympy as sp
from sympy import *
density, entries, limits = eval(sys.stdin.read())
def expectation(e):
    r = density * e
    for lim in limits:
        r = sp.integrate(r, lim, conds="none")
        if r.has(sp.Integral):
            return None
    return sp.simplify(r)
mass = expectation(sp.Integer(1))
if mass is None or sp.simplify(mass - 1) != 0:
    print("FAIL"); sys.exit()
out = []
for e in entries:
    r = expectation(e)
    if r is None or r.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        print("FAIL"); sys.exit()
    out.append(r)
print(sp.srepr(out))
"""


def _closed_form(log_density, variables, coords, supports, substitution, data, simplify, timeout):
    """Route 2: sympy's ``integrate`` of ``p · (−∂_i∂_j log p)`` over the support within
    ``timeout`` seconds, or None."""
    if any(s.discrete for s in supports) or substitution is not None:
        return None  # sympy's summation rarely closes; a substitution asks for the quadrature
    n = len(coords)
    upper = [(i, j) for i in range(n) for j in range(i, n)]
    entries = [-sp.diff(log_density, coords[i], coords[j]) for i, j in upper]
    limits = [(v, _sym(s.a), _sym(s.b)) for v, s in zip(variables, supports)]
    text = sp.srepr((sp.exp(log_density), entries, limits))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD], input=text, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None
    out = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not out or out[-1] == "FAIL":
        return None
    values = sp.sympify(out[-1])
    # srepr keeps the symbols' assumptions, so the child's symbols are the caller's
    g = sp.zeros(n, n)
    for (i, j), e in zip(upper, values):
        g[i, j] = g[j, i] = simplify_expr(e) if simplify else e
    return Metric(coords, g, data=data)


def _sym(end):
    return sp.oo if end == float("inf") else -sp.oo if end == float("-inf") else sp.nsimplify(end)
