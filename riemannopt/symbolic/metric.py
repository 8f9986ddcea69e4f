"""Riemannian metrics as sympy matrices, and the connection they determine (paper §2, eq. 2)."""

import warnings
from functools import cached_property

import sympy as sp
from sympy.utilities.exceptions import SymPyDeprecationWarning

from riemannopt.errors import MetricError, SymbolicError
from riemannopt.symbolic.simplify import simplify

__all__ = ["Metric", "as_coords", "as_expr", "simplify_entries"]


def as_coords(coords, what="coords"):
    """Validate a sequence of distinct sympy Symbols and return it as a tuple."""
    try:
        coords = tuple(coords)
    except TypeError:
        raise SymbolicError(f"{what} must be a sequence of sympy Symbols, got {coords!r}") from None
    if not coords:
        raise SymbolicError(f"{what} is empty: a manifold needs at least one coordinate")
    for i, c in enumerate(coords):
        if not isinstance(c, sp.Symbol):
            raise SymbolicError(f"{what}[{i}] = {c!r} is not a sympy Symbol")
    if len(set(coords)) != len(coords):
        raise SymbolicError(f"{what} has repeated symbols: {coords}")
    return coords


def as_expr(value, what, names=None):
    """``value`` as a scalar sympy expression, or a SymbolicError naming ``what``: a string that
    does not parse, a Matrix or Array, a condition such as ``x > 0`` or any other non-expression.
    ``names`` maps names in a string to the Symbols they mean."""
    try:
        expr = sp.sympify(value, locals=names)
    except (sp.SympifyError, TypeError, ValueError) as exc:
        raise SymbolicError(f"{what} could not be read as a sympy expression: {value!r} ({_first_line(exc)})") from None
    if isinstance(expr, (sp.MatrixBase, sp.NDimArray)):
        raise SymbolicError(
            f"{what} must be a scalar expression, got a {'×'.join(map(str, expr.shape))} {type(expr).__name__}"
        )
    if isinstance(expr, sp.logic.boolalg.Boolean) and not isinstance(expr, sp.Symbol):
        raise SymbolicError(f"{what} must be a scalar expression, got the condition {expr}")
    if not isinstance(expr, sp.Expr):
        raise SymbolicError(f"{what} must be a scalar expression, got {value!r}")
    return expr


def _first_line(exc):
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__


def simplify_entries(array):
    """Simplify every entry of a sympy Matrix or Array (zero entries stay cheap)."""
    return array.applyfunc(lambda e: simplify(e) if e != 0 else e)


class Metric:
    """A Riemannian metric ``g(x)`` in coordinates ``x``.

    Parameters
    ----------
    coords : sequence of sympy.Symbol
        The coordinates ``x^1 .. x^n``.
    matrix : sympy.Matrix or nested list
        The ``n × n`` symmetric matrix ``g_ij(x)``.  It may also contain parameter symbols
        (runtime constants of a :class:`Problem`).
    data : sequence of sympy.Symbol, optional
        Data symbols (columns of a :class:`Problem`'s ``data``) that the entries use: the matrix
        is then **one example's** metric, and the problem's metric is its mean over the data
        rows.  One example's metric is often singular (rank one in logistic regression), so its
        determinant is not checked; the averaged metric is checked, numerically, at every point
        a run visits.  Its inverse and second-kind Christoffel symbols are computed numerically
        after averaging, never symbolically.

    Notes
    -----
    The inverse and the Christoffel symbols are derived lazily, once, and simplified.  With the
    paper's eq. (2),

    .. math::  \\Gamma_{kij} = \\tfrac12 (\\partial_i g_{kj} + \\partial_j g_{ki} - \\partial_k g_{ij}),
               \\qquad \\Gamma^m_{ij} = g^{mk} \\Gamma_{kij}.

    Raises
    ------
    MetricError
        If the matrix is not square, does not match the number of coordinates, is not symmetric,
        or is singular as an expression (its determinant simplifies to zero).
    """

    #: Whether compiled code computes the entries numerically (a :class:`QuadratureMetric`).
    numeric = False

    def __init__(self, coords, matrix, data=None):
        self.coords = as_coords(coords)
        self.data = () if data is None or (isinstance(data, (tuple, list)) and not data) else as_coords(data, "data")
        clash = set(self.data) & set(self.coords)
        if clash:
            raise SymbolicError(f"data symbols {sorted(map(str, clash))} are also coordinates")
        try:
            with warnings.catch_warnings():  # non-expression entries are rejected just below
                warnings.simplefilter("ignore", SymPyDeprecationWarning)
                matrix = sp.Matrix(matrix)
        except (TypeError, ValueError, AttributeError) as exc:
            raise MetricError(f"metric matrix could not be read as a sympy Matrix: {_first_line(exc)}") from None
        for (i, j), e in zip(((i, j) for i in range(matrix.rows) for j in range(matrix.cols)), matrix):
            if not isinstance(e, sp.Expr) or isinstance(e, sp.logic.boolalg.BooleanAtom):
                raise MetricError(f"metric entry g[{i},{j}] = {e} is not a scalar expression")
        n = len(self.coords)
        if matrix.rows != matrix.cols:
            raise MetricError(f"metric matrix is not square: shape {matrix.shape}")
        if matrix.rows != n:
            raise MetricError(
                f"metric matrix is {matrix.rows}×{matrix.cols} but there are {n} coordinates {self.coords}"
            )
        for i in range(n):
            for j in range(i + 1, n):
                # simplify only what is not structurally zero: it costs a warm process ~0.3 s
                diff = matrix[i, j] - matrix[j, i]
                if diff != 0 and simplify(diff) != 0:
                    raise MetricError(
                        f"metric matrix is not symmetric: g[{i},{j}] = {matrix[i, j]} but g[{j},{i}] = {matrix[j, i]}"
                    )
        self.matrix = matrix
        if self.per_example:
            self.det = None  # one example's metric: only the mean over the rows must be invertible
            return
        det = matrix.det()
        if det.is_zero is None:  # undecided by the assumptions alone
            det = simplify(det)
        if det.is_zero:
            raise MetricError(f"metric matrix is singular: its determinant simplifies to 0 ({matrix.tolist()})")
        self.det = det

    @property
    def n(self):
        """Dimension of the manifold."""
        return len(self.coords)

    @property
    def per_example(self):
        """Whether the entries use data symbols (the matrix is one example's metric)."""
        return bool(self.matrix.free_symbols & set(self.data))

    def __repr__(self):
        data = f", data={list(self.data)}" if self.data else ""
        return f"Metric(coords={list(self.coords)}, matrix={self.matrix.tolist()}{data})"

    def __eq__(self, other):
        return isinstance(other, Metric) and (self.coords, self.matrix, self.data) == (
            other.coords,
            other.matrix,
            other.data,
        )

    def __hash__(self):
        return hash((self.coords, tuple(self.matrix), self.data))

    @property
    def free_symbols(self):
        """The symbols the entries use (coordinates, parameters, data)."""
        return self.matrix.free_symbols

    def expressions(self):
        """``(where, expression)`` pairs that compiled code evaluates (for compile checks)."""
        m = self.matrix
        return [(f"the metric entry g[{i},{j}]", m[i, j]) for i in range(m.rows) for j in range(m.cols)]

    def key_text(self):
        """Everything that determines the compiled code, as text."""
        return sp.srepr(self.matrix)

    def pullback(self, new_coords, phi):
        """The metric in coordinates ``ξ`` with ``x = φ(ξ)``: ``Jᵀ g(φ(ξ)) J`` with ``J = ∂φ/∂ξ``,
        simplified."""
        phi = sp.Matrix(phi)
        J = phi.jacobian(new_coords)
        g = self.matrix.xreplace(dict(zip(self.coords, phi)))
        return Metric(new_coords, (J.T * g * J).applyfunc(simplify), data=self.data)

    def _symbolic_only(self, what):
        if self.per_example:
            raise SymbolicError(
                f"the {what} of a per-example metric (entries using data symbols "
                f"{sorted(map(str, self.matrix.free_symbols & set(self.data)))}) is not the {what} of its mean "
                "over the data: compiled code computes it numerically after averaging"
            )

    @cached_property
    def inverse(self):
        """The inverse metric ``g^{ij}`` (sympy Matrix), simplified; not defined for a per-example
        metric (see ``data``)."""
        self._symbolic_only("inverse")
        return simplify_entries(self.matrix.adjugate() / self.det)

    @cached_property
    def christoffel_first(self):
        """Christoffel symbols of the first kind, ``[k, i, j] = Γ_{kij}`` (sympy Array)."""
        g, x, n = self.matrix, self.coords, self.n
        dg = [[[sp.diff(g[a, b], x[c]) for c in range(n)] for b in range(n)] for a in range(n)]
        return simplify_entries(
            sp.Array(
                [
                    [[(dg[k][j][i] + dg[k][i][j] - dg[i][j][k]) / 2 for j in range(n)] for i in range(n)]
                    for k in range(n)
                ]
            )
        )

    @cached_property
    def christoffel(self):
        """Christoffel symbols of the second kind, ``[m, i, j] = Γ^m_{ij}`` (paper eq. 2); not
        defined for a per-example metric (see ``data``)."""
        self._symbolic_only("second-kind Christoffel symbols")
        ginv, first, n = self.inverse, self.christoffel_first, self.n
        return simplify_entries(
            sp.Array(
                [
                    [[sum(ginv[m, k] * first[k, i, j] for k in range(n)) for j in range(n)] for i in range(n)]
                    for m in range(n)
                ]
            )
        )
