"""Fisher information metrics of parametric densities, derived symbolically."""

import sympy as sp

from riemannopt.errors import SymbolicError
from riemannopt.symbolic.metric import Metric, as_coords, as_expr
from riemannopt.symbolic.simplify import simplify as simplify_expr

__all__ = ["fisher_metric"]


def fisher_metric(log_density, variable, coords, expectations, simplify=True, data=None):
    """The Fisher information metric of a parametric density.

    Uses ``g_ij(θ) = -E[∂_i ∂_j log p(X; θ)]``.  For exponential families the Hessian of the
    log-density is affine in the sufficient statistics, so the expectation only needs
    ``E[T(X)]``, supplied in closed form by ``expectations``.

    Parameters
    ----------
    log_density : sympy expression
        ``log p(x; θ)`` in the data variable and the coordinates.
    variable : sympy.Symbol
        The data variable ``x``.
    coords : sequence of sympy.Symbol
        The parameters ``θ`` (the manifold's coordinates).
    expectations : dict
        ``{statistic: E[statistic]}``, e.g. ``{x: a/b, log(x): digamma(a) - log(b)}``: each
        statistic an expression of ``variable`` alone, each expectation one of the coordinates.
    simplify : bool
        Simplify the entries (default True).
    data : sequence of sympy.Symbol or dict, optional
        For a conditional model ``log p(y | x; θ)``: the symbols of the conditioning data ``x``
        (a dict's keys, so ``Problem``'s ``data`` dict may be passed as it is).  The log-density
        and the expectations may use them; the result is then one example's Fisher metric
        (``Metric(..., data=...)``), and a :class:`~riemannopt.symbolic.Problem` with those data
        averages it over the rows: the Fisher metric of the conditional model is the data
        average of the per-example Fisher.

    Returns
    -------
    Metric

    Raises
    ------
    SymbolicError
        If an argument is malformed (a string that does not parse, ``expectations`` not a dict),
        or if a Hessian entry is not affine in the given statistics (some dependence on the data
        variable is left over), so its expectation is not determined by them.

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
    if not isinstance(variable, sp.Symbol):
        raise SymbolicError(f"variable must be a sympy Symbol, got {variable!r}")
    if data is not None:
        data = as_coords(list(data.keys()) if hasattr(data, "keys") else data, "data")
        if variable in data:
            raise SymbolicError(f"the variable {variable} is the model's own, not conditioning data")
    log_density = as_expr(log_density, "log_density")
    if not hasattr(expectations, "items"):
        raise SymbolicError(f"expectations must be a dict {{statistic: expectation}}, got {expectations!r}")
    expectations = {
        as_expr(stat, "a statistic of expectations"): as_expr(value, f"the expectation of {stat}")
        for stat, value in expectations.items()
    }
    # Substitute the most complex statistics first, so that x**2 is not read as (x)**2.
    stats = sorted(expectations.items(), key=lambda kv: -sp.count_ops(kv[0]) - len(kv[0].args))
    placeholders = {stat: sp.Dummy(f"T{i}") for i, (stat, _) in enumerate(stats)}
    n = len(coords)
    g = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            h = sp.expand(-sp.diff(log_density, coords[i], coords[j]))
            for stat, _ in stats:
                h = h.xreplace({stat: placeholders[stat]})
            if variable in h.free_symbols:
                raise SymbolicError(
                    f"entry ({i}, {j}) of the negative Hessian, {h}, still depends on {variable} after "
                    f"replacing the statistics {list(expectations)}: add the missing statistic"
                )
            T = list(placeholders.values())
            if T and sp.Poly(h, *T).total_degree() > 1:
                raise SymbolicError(f"entry ({i}, {j}) of the negative Hessian is not affine in the statistics: {h}")
            e = h.subs({placeholders[stat]: val for stat, val in stats})
            g[i, j] = g[j, i] = simplify_expr(e) if simplify else e
    return Metric(coords, g, data=data)
