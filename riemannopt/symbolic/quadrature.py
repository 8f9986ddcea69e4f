"""Fisher metrics of any parametric family, as expectations that compiled code computes by
quadrature (issue 22)."""

import math

import sympy as sp

from riemannopt.errors import SymbolicError
from riemannopt.symbolic.metric import Metric, as_coords, as_expr

__all__ = ["QuadratureMetric", "Support", "as_support"]


class Support:
    """The support of one variable: an interval ``(a, b)`` (ends may be infinite) or, with
    ``discrete=True``, the integers ``a, a + 1, …, b`` (``b`` may be infinite)."""

    def __init__(self, a, b, discrete=False):
        self.a, self.b, self.discrete = float(a), float(b), bool(discrete)

    def __repr__(self):
        return f"Support({self.a}, {self.b}{', discrete=True' if self.discrete else ''})"

    def __eq__(self, other):
        return isinstance(other, Support) and (self.a, self.b, self.discrete) == (other.a, other.b, other.discrete)

    def __hash__(self):
        return hash((self.a, self.b, self.discrete))


def _end(value, what):
    try:
        e = sp.sympify(value)
    except (sp.SympifyError, TypeError, ValueError):
        raise SymbolicError(f"{what} {value!r} is not a number") from None
    if e.free_symbols:
        raise SymbolicError(
            f"{what} {e} depends on {sorted(map(str, e.free_symbols))}: a support must not depend on the "
            "parameters; map a parameter-dependent support onto a fixed one with substitution="
        )
    if e in (sp.oo, -sp.oo):
        return math.inf if e == sp.oo else -math.inf
    if not e.is_real:
        raise SymbolicError(f"{what} {e} is not a real number")
    return float(e)


def as_support(value, what="support"):
    """A :class:`Support` from ``(a, b)`` (numbers or ``±sympy.oo``), a sympy ``Interval``,
    ``sympy.Reals``, a sympy ``Range(a, b)`` (the integers ``a … b − 1``; ``b`` may be ``oo``),
    ``sympy.Naturals0`` or ``sympy.Naturals``; or a SymbolicError naming ``what``."""
    if isinstance(value, Support):
        return value
    if value is sp.Reals:
        return Support(-math.inf, math.inf)
    if value is sp.Naturals0:
        return Support(0, math.inf, discrete=True)
    if value is sp.Naturals:
        return Support(1, math.inf, discrete=True)
    if isinstance(value, sp.Range):
        if value.step != 1 or value.inf == -sp.oo:
            raise SymbolicError(
                f"{what} {value}: a discrete support is a range of consecutive integers from a finite start"
            )
        return Support(_end(value.inf, f"{what}'s start"), _end(value.sup, f"{what}'s end"), discrete=True)
    if isinstance(value, sp.Interval):
        a, b = value.start, value.end
    elif isinstance(value, sp.Set):
        raise SymbolicError(f"{what} {value} is not an interval or a range of integers")
    else:
        try:
            a, b = value
        except (TypeError, ValueError):
            raise SymbolicError(
                f"{what} must be an interval (a, b), a sympy Interval or Range, got {value!r}"
            ) from None
    s = Support(_end(a, f"{what}'s lower end"), _end(b, f"{what}'s upper end"))
    if not s.a < s.b:
        raise SymbolicError(f"{what} ({a}, {b}) is empty: it needs a < b")
    return s


def _light(e):
    """Cheap rewriting that lets substituted densities cancel (``(λ u^{1/k} / λ)^k → u``)."""
    return sp.expand_log(sp.powdenest(sp.powsimp(e)))


class QuadratureMetric(Metric):
    """The Fisher information metric of a parametric family, evaluated by quadrature in compiled
    code: ``g_ij(θ) = ∫ p(x; θ) (−∂_i ∂_j log p(x; θ)) dx`` (a sum for a discrete variable).

    Made by :func:`~riemannopt.symbolic.fisher_metric` when the expectations are not supplied
    (see there for the parameters).  With a substitution ``x = X(u; θ)`` the integral runs over
    ``u``::

        g_ij(θ) = ∫ exp(ℓ(u; θ)) R_ij(u; θ) du,
        ℓ = log p(X(u; θ); θ) + log det ∂X/∂u,     R_ij = −∂_i ∂_j log p (x; θ) at x = X(u; θ),

    over a support that does not depend on ``θ``, so that the derivatives of the metric, which the
    Christoffel symbols need, are integrals of the derivatives of the integrand (differentiation
    under the integral sign): ``∂_k g_ij = ∫ exp(ℓ) (∂_k R_ij + R_ij ∂_k ℓ) du``, and likewise for
    the second derivatives that ``dgamma_vvv`` needs.  Compiled code sums the rule of
    :func:`riemannopt.codegen.quadrature.de_rule` (continuous variables; a tensor product of them
    for several variables) or counts upwards from the lower end (a discrete variable) until the
    terms have fallen ``e^−46 ≈ 10^−20`` below the largest one and are decreasing.

    The symbolic matrix, inverse and Christoffel symbols do not exist: compiled code computes the
    metric's entries, its derivatives and the solves with it numerically, at every point.  Nodes
    where ``exp(ℓ)`` underflows contribute nothing (their integrand is not evaluated into the sum),
    and the rule checks itself: where the total probability ``∫ exp(ℓ) du`` differs from 1 by
    more than ``tol``, the metric is NaN, so that a run stops with a
    :class:`~riemannopt.errors.NonFiniteError` instead of using an inaccurate metric.

    Attributes
    ----------
    coords : tuple of Symbol
    log_density : sympy expression
        ``log p(x; θ)``.
    variables : tuple of Symbol
        ``x``.
    supports : tuple of Support
        The support of each integration variable (``u`` with a substitution, else ``x``).
    substitution : tuple of (tuple of Symbol, tuple of expressions) or None
        ``(u, X(u; θ))``.
    level : int
        The rules' level (``h = 2^−level``).
    tol : float
        The largest deviation of the total probability from 1 accepted at a point.
    log_weight : sympy expression
        ``ℓ(u; θ)``.
    integrand : sympy Matrix
        ``R(u; θ)``.
    """

    numeric = True

    def __init__(self, log_density, variables, coords, supports, substitution=None, level=4, tol=1e-8):
        self.coords = as_coords(coords)
        self.variables = as_coords(variables, "variables")
        clash = set(self.variables) & set(self.coords)
        if clash:
            raise SymbolicError(f"the variables {sorted(map(str, clash))} are also coordinates")
        self.log_density = as_expr(log_density, "log_density")
        self.data = ()
        self.det = None
        self.level = level
        self.tol = float(tol)
        if not 0 < self.tol < 1:
            raise SymbolicError(f"tol must lie in (0, 1), got {tol!r}")
        if substitution is None:
            integration = self.variables
            x_of_u = {}
        else:
            integration, images = substitution
            integration = as_coords(integration, "the substitution's variables")
            images = tuple(as_expr(e, f"the substitution of {x}") for x, e in zip(self.variables, images))
            if len(integration) != len(self.variables) or len(images) != len(self.variables):
                raise SymbolicError(
                    f"the substitution maps {len(integration)} variables to {len(images)} expressions, "
                    f"but the density has {len(self.variables)} variables {self.variables}"
                )
            if set(integration) & (set(self.coords) | set(self.variables)):
                raise SymbolicError("the substitution's variables must be new symbols, not coordinates or variables")
            for e in images:
                if e.free_symbols & set(self.variables):
                    raise SymbolicError(f"the substitution {e} uses the density's own variables {self.variables}")
            x_of_u = dict(zip(self.variables, images))
        self.integration_variables = integration
        self.substitution = None if substitution is None else (integration, tuple(x_of_u.values()))
        self.supports = tuple(supports)
        if len(self.supports) != len(integration):
            raise SymbolicError(f"{len(self.supports)} supports for {len(integration)} variables")
        if any(s.discrete for s in self.supports) and (len(integration) > 1 or substitution is not None):
            raise SymbolicError(
                "a discrete variable is summed directly: it must be the density's only variable, without substitution"
            )
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 8:
            raise SymbolicError(f"level must be an integer from 1 to 8, got {level!r}")
        used = self.log_density.free_symbols.union(*(e.free_symbols for e in x_of_u.values()))
        self.parameters = frozenset(used - set(self.coords) - set(self.variables) - set(integration))
        used = self.log_density.free_symbols & set(self.variables)
        if not used:
            raise SymbolicError(f"the log-density {self.log_density} does not depend on the variables {self.variables}")
        n = len(self.coords)
        hess = [[-sp.diff(self.log_density, self.coords[i], self.coords[j]) for j in range(n)] for i in range(n)]
        if x_of_u:
            J = sp.Matrix([[sp.diff(e, u) for u in integration] for e in x_of_u.values()])
            det = sp.simplify(J.det()) if len(integration) > 1 else J[0, 0]
            if det.is_zero:
                raise SymbolicError(f"the substitution {tuple(x_of_u.values())} is singular (its Jacobian is 0)")
            ell = self.log_density.xreplace(x_of_u) + sp.log(det)
        else:
            ell = self.log_density
        self.log_weight = sp.expand(_light(ell))
        self.integrand = sp.Matrix(n, n, lambda i, j: _light(hess[i][j].xreplace(x_of_u)) if x_of_u else hess[i][j])

    # -- what Metric offers symbolically does not exist here --------------------------------------
    def _no_closed_form(self, what):
        raise SymbolicError(
            f"a quadrature Fisher metric has no symbolic {what}: compiled code computes the metric, its "
            "derivatives and the solves with it numerically (compile a Problem and use CompiledProblem.metric)"
        )

    @property
    def matrix(self):
        """Not available (the metric is a numerical expectation): a SymbolicError."""
        self._no_closed_form("matrix")

    @property
    def inverse(self):
        self._no_closed_form("inverse")

    @property
    def christoffel_first(self):
        self._no_closed_form("Christoffel symbols")

    @property
    def christoffel(self):
        self._no_closed_form("Christoffel symbols")

    @property
    def per_example(self):
        return False

    @property
    def free_symbols(self):
        """The symbols other than the variables that the family uses (coordinates, parameters)."""
        return set(self.coords) | set(self.parameters)

    def expressions(self):
        """``(where, expression)`` pairs that compiled code evaluates (for compile checks)."""
        out = [("the log-density", self.log_density)]
        if self.substitution:
            out += [(f"the substitution of {x}", e) for x, e in zip(self.variables, self.substitution[1])]
        return out

    def key_text(self):
        """Everything that determines the compiled code, as text."""
        return (
            "quadrature "
            + sp.srepr((self.log_density, self.variables, self.coords, self.substitution or (), self.level))
            + f" {self.supports} {self.tol!r}"
        )

    def pullback(self, new_coords, phi):
        """The same family in coordinates ``ξ`` with ``θ = φ(ξ)``: its Fisher metric is the
        pull-back ``Jᵀ g J``, computed by the same quadrature."""
        sub = dict(zip(self.coords, phi))
        substitution = None
        if self.substitution:
            substitution = (self.substitution[0], tuple(e.xreplace(sub) for e in self.substitution[1]))
        return QuadratureMetric(
            self.log_density.xreplace(sub),
            self.variables,
            new_coords,
            self.supports,
            substitution,
            self.level,
            self.tol,
        )

    def __repr__(self):
        sub = f", substitution={self.substitution}" if self.substitution else ""
        return (
            f"QuadratureMetric(log_density={self.log_density}, variables={list(self.variables)}, "
            f"coords={list(self.coords)}, supports={list(self.supports)}{sub}, level={self.level})"
        )

    def __eq__(self, other):
        return isinstance(other, QuadratureMetric) and self.key_text() == other.key_text()

    def __hash__(self):
        return hash(self.key_text())
