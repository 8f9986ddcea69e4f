"""A manifold with a loss: the symbolic description that codegen compiles."""

import hashlib
from functools import cached_property

import numpy as np
import sympy as sp

from riemannopt.errors import DomainError, ShapeError, SymbolicError
from riemannopt.symbolic.metric import Metric, as_coords, as_expr
from riemannopt.symbolic.simplify import simplify

__all__ = ["Problem"]

# Bumped whenever the meaning of a cached artefact changes, so stale caches are never reused.
_KEY_VERSION = "1"


def _as_domain(domain, allowed):
    """Normalise a domain to a tuple of sympy relationals (``()`` means the whole space)."""
    if domain is None:
        return ()
    if isinstance(domain, (sp.Basic, bool)):
        domain = [domain]
    out = []
    for cond in domain:
        try:
            cond = sp.sympify(cond)
        except (sp.SympifyError, TypeError, ValueError):
            raise SymbolicError(f"domain condition {cond!r} could not be read as a sympy relation") from None
        if cond is sp.true:
            continue
        if cond is sp.false:
            raise SymbolicError("the domain contains a condition that is always false")
        if not isinstance(cond, (sp.core.relational.Relational, sp.logic.boolalg.BooleanFunction)):
            raise SymbolicError(f"domain condition {cond} is not a relation such as x > 0")
        extra = cond.free_symbols - allowed
        if extra:
            raise SymbolicError(f"domain condition {cond} uses unknown symbols {sorted(map(str, extra))}")
        out.append(cond)
    return tuple(out)


def _param_value(symbol, value):
    """A parameter's value as a finite float, or a SymbolicError naming the parameter."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SymbolicError(f"parameter {symbol} has a non-numeric value {value!r}") from None
    if not np.isfinite(number):
        raise SymbolicError(f"parameter {symbol} must be finite, got {value!r}")
    return number


class Problem:
    """A Riemannian manifold with coordinates, a metric and a loss (paper §2; docs/mathematics.rst).

    Parameters
    ----------
    metric : Metric
        The metric ``g(x)``; for statistical models, the Fisher information.
    loss : sympy expression
        The loss ``L(x)``.
    params : dict, optional
        ``{symbol: value}``: runtime constants (data statistics, targets, ...) that may appear in
        the metric, the loss or the domain.  Changing their values never recompiles.
    domain : sequence of sympy relationals, optional
        Conditions that every point must satisfy (e.g. ``[alpha > 0, beta > 0]``).
    name : str, optional
        A label used in figures and messages.

    Raises
    ------
    SymbolicError
        If the loss, the metric or the domain use symbols that are neither coordinates nor
        parameters, or if the loss depends on a coordinate-free symbol not given a value.  Also if
        the loss is not a scalar expression (a string that does not parse, a Matrix, a condition
        such as ``x > 0``) or a parameter value is not a finite number.
    """

    def __init__(self, metric, loss, params=None, domain=None, name=None):
        if not isinstance(metric, Metric):
            raise SymbolicError(f"metric must be a riemannopt Metric, got {type(metric).__name__}")
        self.metric = metric
        try:
            params = dict(params or {})
        except (TypeError, ValueError):
            raise SymbolicError(f"params must be a dict {{symbol: value}}, got {params!r}") from None
        for s, v in params.items():
            if not isinstance(s, sp.Symbol):
                raise SymbolicError(f"params keys must be sympy Symbols, got {s!r}")
            if s in metric.coords:
                raise SymbolicError(f"parameter {s} is also a coordinate")
            params[s] = _param_value(s, v)
        self.params = params
        allowed = set(metric.coords) | set(params)
        # A loss given as a string refers to the coordinates and parameters by name.
        self.loss = as_expr(loss, "the loss", names={str(s): s for s in allowed})
        for what, expr in [("loss", self.loss), ("metric", metric.matrix)]:
            extra = expr.free_symbols - allowed
            if extra:
                namesakes = sorted(str(s) for s in extra if str(s) in {str(a) for a in allowed})
                hint = (
                    f" ({', '.join(namesakes)}: a different Symbol of the same name, e.g. with other "
                    "assumptions such as real=True; use the coordinate and parameter Symbols themselves)"
                    if namesakes
                    else ""
                )
                raise SymbolicError(
                    f"the {what} uses symbols {sorted(map(str, extra))} that are neither coordinates "
                    f"{list(map(str, metric.coords))} nor params {sorted(map(str, params))}{hint}"
                )
        self.domain = _as_domain(domain, allowed)
        self.name = name
        self.base = None  # set by reparameterize
        self._phi = None
        self._inverse = None

    # -- description ----------------------------------------------------------------------------
    @property
    def coords(self):
        """The coordinate symbols."""
        return self.metric.coords

    @property
    def n(self):
        """Dimension of the manifold."""
        return self.metric.n

    @property
    def param_symbols(self):
        """Parameter symbols in the fixed order used by compiled code (sorted by name)."""
        return tuple(sorted(self.params, key=lambda s: (s.name, sp.srepr(s))))

    @property
    def param_values(self):
        """Parameter values as a float64 array, in :attr:`param_symbols` order."""
        return np.array([self.params[s] for s in self.param_symbols], dtype=np.float64)

    @cached_property
    def gradient(self):
        """The gradient ``∂_i L`` as a sympy column Matrix."""
        return sp.Matrix([sp.diff(self.loss, c) for c in self.coords])

    @cached_property
    def key(self):
        """A hash of everything that determines the compiled code (not the parameter values)."""
        parts = [
            _KEY_VERSION,
            sp.srepr(self.coords),
            sp.srepr(self.metric.matrix),
            sp.srepr(self.loss),
            sp.srepr(self.param_symbols),
            sp.srepr(self.domain),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        return f"Problem({label}coords={list(self.coords)}, loss={self.loss})"

    def with_params(self, **values):
        """A copy with some parameter values changed (by symbol name); shares the derivations."""
        by_name = {s.name: s for s in self.params}
        unknown = set(values) - set(by_name)
        if unknown:
            raise SymbolicError(f"unknown parameter names {sorted(unknown)}; known: {sorted(by_name)}")
        new = object.__new__(Problem)
        new.__dict__.update(self.__dict__)
        new.params = {**self.params, **{by_name[k]: _param_value(k, v) for k, v in values.items()}}
        new.__dict__.pop("_in_domain_numeric", None)  # it closes over the old values
        if self.base is not None:  # φ and its inverse may use the parameters too
            new.base = self.base.with_params(**values)
        return new

    # -- reparameterization ---------------------------------------------------------------------
    def reparameterize(self, new_coords, phi, inverse=None, name=None):
        """The same problem in new coordinates ``ξ`` with ``x = φ(ξ)``.

        The metric is pulled back, ``g̃(ξ) = J^T g(φ(ξ)) J`` with ``J = ∂φ/∂ξ``, the loss becomes
        ``L∘φ`` and the domain conditions are pulled back too; everything else (inverse,
        Christoffel symbols, gradient) is derived afresh in the new coordinates.

        Parameters
        ----------
        new_coords : sequence of sympy.Symbol
            The new coordinates ``ξ``.
        phi : sequence of sympy expressions
            ``φ``: the old coordinates as expressions of the new ones, in the old order.
        inverse : sequence of sympy expressions, optional
            ``φ^{-1}``: the new coordinates as expressions of the old ones.  Without it,
            :meth:`from_base` solves ``φ(ξ) = x`` by Newton's method.
        name : str, optional
            Label of the new problem.

        Returns
        -------
        Problem
            With ``base`` set to this problem; :meth:`to_base` / :meth:`from_base` map points.
        """
        new_coords = as_coords(new_coords, "new_coords")
        phi = sp.Matrix(_expressions(phi, "phi"))
        if len(phi) != self.n:
            raise SymbolicError(f"phi has {len(phi)} components but the problem has {self.n} coordinates")
        if len(new_coords) != self.n:
            raise SymbolicError(f"{len(new_coords)} new coordinates for a {self.n}-dimensional problem")
        allowed = set(new_coords) | set(self.params)
        extra = phi.free_symbols - allowed
        if extra:
            raise SymbolicError(f"phi uses symbols {sorted(map(str, extra))} that are not new coordinates")
        clash = set(new_coords) & set(self.params)
        if clash:
            raise SymbolicError(f"new coordinates {sorted(map(str, clash))} clash with parameter names")
        sub = dict(zip(self.coords, phi))
        J = phi.jacobian(new_coords)
        if simplify(J.det()) == 0:
            raise SymbolicError(f"phi = {list(phi)} is not a reparameterization: its Jacobian is singular")
        g = self.metric.matrix.xreplace(sub)
        pulled = (J.T * g * J).applyfunc(simplify)
        domain = [c.xreplace(sub) for c in self.domain]
        new = Problem(
            Metric(new_coords, pulled),
            self.loss.xreplace(sub),
            params=self.params,
            domain=domain,
            name=name or (f"{self.name} (reparameterized)" if self.name else None),
        )
        new.base = self
        new._phi = phi
        if inverse is not None:
            inverse = sp.Matrix(_expressions(inverse, "inverse"))
            if len(inverse) != self.n:
                raise SymbolicError(f"inverse has {len(inverse)} components, expected {self.n}")
            new._inverse = inverse
        return new

    def _require_base(self):
        if self.base is None:
            raise SymbolicError("this problem was not made by reparameterize(): it has no base coordinates")

    @cached_property
    def _phi_numeric(self):
        args = (self.coords, self.base.param_symbols)
        return (
            sp.lambdify(args, list(self._phi), modules="numpy"),
            sp.lambdify(args, self._phi.jacobian(self.coords), modules="numpy"),
        )

    def _points(self, pts, n, what):
        pts = np.asarray(pts, dtype=np.float64)
        if pts.shape[-1:] != (n,) or pts.ndim > 2:
            raise ShapeError(f"{what} must have shape ({n},) or (m, {n}), got {pts.shape}")
        return pts

    def to_base(self, xi):
        """Map a point (or one point per row) from these coordinates to the base problem's."""
        self._require_base()
        xi = self._points(xi, self.n, "xi")
        f, _ = self._phi_numeric
        p = self.base.param_values
        rows = np.atleast_2d(xi)
        out = np.array([np.asarray(f(r, p), dtype=np.float64).reshape(-1) for r in rows])
        return out if xi.ndim == 2 else out[0]

    def from_base(self, x, guess=None, tol=1e-14, maxiter=200):
        """Map a base-coordinate point (or one per row) into these coordinates.

        Uses the supplied inverse where there is one; otherwise damped Newton iterations on
        ``φ(ξ) = x`` starting from ``guess`` (default: ``x`` itself), keeping iterates inside the
        domain.
        """
        self._require_base()
        x = self._points(x, self.n, "x")
        rows = np.atleast_2d(x)
        if self._inverse is not None:
            inv = self._inverse_numeric
            p = self.base.param_values
            out = np.array([np.asarray(inv(r, p), dtype=np.float64).reshape(-1) for r in rows])
        else:
            g0 = None if guess is None else np.atleast_2d(np.asarray(guess, dtype=np.float64))
            out = np.array(
                [
                    self._newton(r, r if g0 is None else g0[min(i, len(g0) - 1)], tol, maxiter)
                    for i, r in enumerate(rows)
                ]
            )
        return out if x.ndim == 2 else out[0]

    @cached_property
    def _inverse_numeric(self):
        return sp.lambdify((self.base.coords, self.base.param_symbols), list(self._inverse), "numpy")

    def _newton(self, target, xi, tol, maxiter):
        f, jac = self._phi_numeric
        p = self.base.param_values
        inside = self._in_domain_numeric
        xi = np.array(xi, dtype=np.float64)
        res = np.asarray(f(xi, p), dtype=np.float64).reshape(-1) - target
        scale = 1.0 + np.abs(target).max()
        for _ in range(maxiter):
            if np.abs(res).max() <= tol * scale:
                return xi
            step = np.linalg.solve(np.asarray(jac(xi, p), dtype=np.float64), res)
            t = 1.0
            while t > 1e-12:
                trial = xi - t * step
                r2 = np.asarray(f(trial, p), dtype=np.float64).reshape(-1) - target
                if inside(trial) and np.all(np.isfinite(r2)) and np.linalg.norm(r2) < np.linalg.norm(res):
                    break
                t /= 2
            else:
                break
            xi, res = trial, r2
        if np.abs(res).max() <= 1e3 * tol * scale:
            return xi
        raise DomainError(
            f"from_base: Newton's method could not solve phi(xi) = {target} (residual {np.abs(res).max():.3g}); "
            "pass guess= or supply inverse= to reparameterize()",
            point=target,
        )

    @cached_property
    def _in_domain_numeric(self):
        if not self.domain:
            return lambda xi: True
        f = sp.lambdify((self.coords, self.param_symbols), sp.And(*self.domain), "numpy")
        p = self.param_values
        return lambda xi: bool(f(xi, p))

    # -- compilation ----------------------------------------------------------------------------
    def compile(self, cache_dir=None):
        """Compile to numba; see :func:`riemannopt.codegen.compile_problem`.

        The loss, the metric and the domain may use the functions listed there (exp, log, the
        trigonometric and hyperbolic functions and their inverses, Abs, sign, Min, Max,
        Piecewise, Heaviside, erf, erfc, gamma, loggamma, digamma, trigamma, polygamma of orders
        0–3, sinc, ...); any other raises a :class:`~riemannopt.errors.CompileError` naming it.
        """
        from riemannopt.codegen import compile_problem

        return compile_problem(self, cache_dir=cache_dir)


def _expressions(values, what):
    """A sequence of scalar expressions (one per coordinate), or a SymbolicError naming ``what``."""
    if isinstance(values, (str, sp.Basic)) and not isinstance(values, (sp.MatrixBase, sp.Tuple)):
        raise SymbolicError(f"{what} must be a sequence of expressions, one per coordinate, got {values!r}")
    try:
        values = list(values)
    except TypeError:
        raise SymbolicError(f"{what} must be a sequence of expressions, one per coordinate, got {values!r}") from None
    return [as_expr(e, f"{what}[{i}]") for i, e in enumerate(values)]
