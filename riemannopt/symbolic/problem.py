"""A manifold with a loss: the symbolic description that codegen compiles."""

import hashlib
from functools import cached_property

import numpy as np
import sympy as sp

from riemannopt.errors import DomainError, InputError, ShapeError, SymbolicError
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


def _data_column(symbol, values):
    """One data column as a read-only float64 array, or an error naming its symbol."""
    try:
        a = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"data[{symbol}] could not be read as an array: {exc}") from None
    if a.dtype.kind == "O":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise InputError(f"data[{symbol}] is not numeric (it holds Python objects that are not numbers)") from None
    if a.dtype.kind not in "biuf":
        raise InputError(f"data[{symbol}] is not numeric: its dtype is {a.dtype}")
    if a.ndim != 1:
        raise ShapeError(f"data[{symbol}] must be one-dimensional (one value per row), got shape {a.shape}")
    if a.size == 0:
        raise ShapeError(f"data[{symbol}] is empty: a data set needs at least one row")
    a = np.array(a, dtype=np.float64)  # a private copy, so the caller's array may change later
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        raise InputError(f"data[{symbol}] is not finite: row {bad[0]} is {a[bad[0]]!r} ({bad.size} such rows)")
    a.flags.writeable = False
    return a


def _data_arrays(data, reserved):
    """``data`` as ``{Symbol: read-only float64 array}`` with equal lengths, or a riemannopt error
    naming the offending symbol.  ``reserved`` maps symbols that data may not use to what they are."""
    if not hasattr(data, "items"):
        raise SymbolicError(f"data must be a dict {{symbol: 1-D array}}, got {type(data).__name__}")
    out = {}
    for s, values in data.items():
        if not isinstance(s, sp.Symbol):
            raise SymbolicError(f"data keys must be sympy Symbols, got {s!r}")
        if s in reserved:
            raise SymbolicError(f"data symbol {s} is also {reserved[s]}")
        out[s] = _data_column(s, values)
    lengths = {len(a) for a in out.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{s}: {len(a)}" for s, a in out.items())
        raise ShapeError(f"data columns have different numbers of rows ({sizes})")
    return out


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
        Conditions that every point must satisfy (e.g. ``[alpha > 0, beta > 0]``).  A condition
        that sympy decides from the symbols' assumptions (``x > 0`` of a Symbol declared
        ``positive=True``) is already ``True`` and checks nothing: declare the coordinates
        ``real=True``, or write ``sympy.Gt(x, 0, evaluate=False)``.
    name : str, optional
        A label used in figures and messages.
    data : dict, optional
        ``{symbol: values}``: columns of a data set, 1-D arrays of ``m ≥ 1`` finite numbers each.
        ``loss`` (and the metric's entries, see ``Metric(..., data=...)``) may then use these
        symbols: ``loss`` is one example's loss ``ℓ(x; z_r)`` and the problem's loss is its mean
        ``L(x) = (1/m) Σ_r ℓ(x; z_r)`` over the rows; likewise a per-example metric is averaged,
        ``g(x) = (1/m) Σ_r g(x; z_r)``.  Derivatives (gradient, ``∂g``, Christoffel symbols of the
        first kind) are derived once from the per-example expressions and averaged by compiled
        row loops; the averaged metric is inverted numerically.  The compiled code does not
        depend on the values or the number of rows: :meth:`with_data` swaps them without
        recompiling.

    Raises
    ------
    SymbolicError
        If the loss, the metric or the domain use symbols that are neither coordinates nor
        parameters (nor, for the loss and the metric, data symbols), or if the loss depends on a
        coordinate-free symbol not given a value.  Also if the loss is not a scalar expression (a
        string that does not parse, a Matrix, a condition such as ``x > 0``) or a parameter value
        is not a finite number; or if a data key is not a Symbol, or is a coordinate or a
        parameter, or the metric declares data symbols that ``data`` lacks.
    ShapeError
        If a data column is not one-dimensional, is empty, or the columns differ in length.
    InputError
        If a data column is not numeric or holds a NaN or an infinity (the message names the
        symbol and the first bad row).
    """

    def __init__(self, metric, loss, params=None, domain=None, name=None, data=None):
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
        reserved = {c: "a coordinate" for c in metric.coords} | {s: "a parameter" for s in params}
        if metric.numeric:  # a quadrature metric's own variables are bound by its integral
            bound = set(metric.variables) | set(metric.integration_variables)
            reserved |= {v: "a variable of the metric's quadrature (use another Symbol)" for v in bound}
        self.data = _data_arrays(data or {}, reserved)
        missing = (metric.free_symbols & set(metric.data)) - set(self.data)
        if missing:
            raise SymbolicError(f"the metric is per-example in data symbols {sorted(map(str, missing))} not in data")
        allowed = set(metric.coords) | set(params)
        with_data = allowed | set(self.data)
        # A loss given as a string refers to the coordinates, parameters and data by name.
        self.loss = as_expr(loss, "the loss", names={str(s): s for s in with_data})
        for what, expr in [("loss", self.loss), ("metric", metric)]:
            extra = expr.free_symbols - with_data
            if extra:
                namesakes = sorted(str(s) for s in extra if str(s) in {str(a) for a in allowed})
                hint = (
                    f" ({', '.join(namesakes)}: a different Symbol of the same name, e.g. with other "
                    "assumptions such as real=True; use the coordinate and parameter Symbols themselves)"
                    if namesakes
                    else ""
                )
                data_names = f" nor data {sorted(map(str, self.data))}" if self.data else ""
                raise SymbolicError(
                    f"the {what} uses symbols {sorted(map(str, extra))} that are neither coordinates "
                    f"{list(map(str, metric.coords))} nor params {sorted(map(str, params))}{data_names}{hint}"
                )
        if domain is not None and self.data:
            conds = [domain] if isinstance(domain, (sp.Basic, bool)) else list(domain)
            for cond in conds:
                used = getattr(cond, "free_symbols", set()) & set(self.data)
                if used:
                    raise SymbolicError(
                        f"domain condition {cond} uses data symbols {sorted(map(str, used))}: a domain "
                        "constrains the coordinates only"
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

    @property
    def data_symbols(self):
        """Data symbols in the fixed order used by compiled code (sorted by name)."""
        return tuple(sorted(self.data, key=lambda s: (s.name, sp.srepr(s))))

    @property
    def rows(self):
        """The number of data rows (0 without data)."""
        return len(next(iter(self.data.values()))) if self.data else 0

    @property
    def runtime_values(self):
        """The vector ``p`` the compiled functions receive: the parameter values, then each data
        column in :attr:`data_symbols` order (so its length gives the number of rows)."""
        return np.concatenate([self.param_values, *(self.data[s] for s in self.data_symbols)])

    @cached_property
    def gradient(self):
        """The gradient ``∂_i L`` as a sympy column Matrix (of one example's loss for a problem
        with data; the problem's gradient is its mean over the rows)."""
        return sp.Matrix([sp.diff(self.loss, c) for c in self.coords])

    @cached_property
    def key(self):
        """A hash of everything that determines the compiled code (not the parameter values)."""
        parts = [
            _KEY_VERSION,
            sp.srepr(self.coords),
            self.metric.key_text(),
            sp.srepr(self.loss),
            sp.srepr(self.param_symbols),
            sp.srepr(self.domain),
        ]
        if self.data:  # the data symbols, never their values: every data set shares the code
            parts.append("data " + sp.srepr(self.data_symbols))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]

    def __repr__(self):
        label = f"{self.name!r}, " if self.name else ""
        data = f", data={list(map(str, self.data_symbols))} ({self.rows} rows)" if self.data else ""
        return f"Problem({label}coords={list(self.coords)}, loss={self.loss}{data})"

    def with_data(self, data=None, **columns):
        """A copy with other data (by symbol, ``data={x1: ...}``, or by name, ``x1=...``); the
        number of rows may change, every column must be given anew or keep its length.  Shares
        the derivations and the compiled code."""
        if not self.data:
            raise SymbolicError("this problem has no data to replace")
        by_name = {s.name: s for s in self.data}
        unknown = set(columns) - set(by_name)
        if unknown:
            raise SymbolicError(f"unknown data names {sorted(unknown)}; known: {sorted(by_name)}")
        given = {by_name[k]: v for k, v in columns.items()}
        if data is not None:
            if not hasattr(data, "items"):
                raise SymbolicError(f"data must be a dict {{symbol: 1-D array}}, got {type(data).__name__}")
            strange = [s for s in data if s not in self.data]
            if strange:
                raise SymbolicError(f"data symbols {strange} are not data symbols of this problem {list(self.data)}")
            given |= dict(data)
        new = object.__new__(Problem)
        new.__dict__.update(self.__dict__)
        new.data = {**self.data, **_data_arrays(given, {})}
        if len({len(a) for a in new.data.values()}) > 1:
            sizes = ", ".join(f"{s}: {len(a)}" for s, a in new.data.items())
            raise ShapeError(f"data columns have different numbers of rows ({sizes})")
        if self.base is not None:
            new.base = self.base.with_data(given)
        return new

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
        domain = [c.xreplace(sub) for c in self.domain]
        clash = set(new_coords) & set(self.data)
        if clash:
            raise SymbolicError(f"new coordinates {sorted(map(str, clash))} clash with data symbols")
        new = Problem(
            self.metric.pullback(new_coords, phi),
            self.loss.xreplace(sub),
            params=self.params,
            domain=domain,
            name=name or (f"{self.name} (reparameterized)" if self.name else None),
            data=self.data,
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
        0–3, sinc, besseli of integer orders, ...); any other raises a :class:`~riemannopt.errors.CompileError` naming it.
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
