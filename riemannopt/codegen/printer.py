"""A sympy printer for scalar numba code: ``math`` functions plus riemannopt's special functions."""

import sympy as sp
from sympy.core.function import Application, AppliedUndef
from sympy.printing.pycode import PythonCodePrinter

__all__ = ["NumbaPrinter", "SUPPORTED_FUNCTIONS", "POLYGAMMA_ORDERS", "unsupported_function"]


class NumbaPrinter(PythonCodePrinter):
    """Prints expressions as plain Python that ``numba.njit`` compiles.

    Special functions are routed to :mod:`riemannopt.codegen.special`, which the generated
    module imports under their bare names.
    """

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, "standard": "python3", **(settings or {})})

    def _print_loggamma(self, expr):
        return f"loggamma({self._print(expr.args[0])})"

    def _print_log(self, expr):
        # sympy writes loggamma(k + 1) of an integer k as log(gamma(k + 1)), which overflows from
        # k = 171 (a negative binomial's sum runs to thousands); where Γ > 0 the two are equal.
        (arg,) = expr.args
        if isinstance(arg, sp.gamma):
            y = self._print(arg.args[0])
            return f"(loggamma({y}) if {y} > 0.0 else math.log(gamma({y})))"
        return super()._print_log(expr)

    def _print_gamma(self, expr):
        return f"gamma({self._print(expr.args[0])})"

    def _print_digamma(self, expr):
        return f"digamma({self._print(expr.args[0])})"

    def _print_trigamma(self, expr):
        return f"polygamma(1, {self._print(expr.args[0])})"

    def _print_polygamma(self, expr):
        n, x = expr.args
        if not n.is_Integer:
            raise NotImplementedError(f"polygamma of non-integer order {n} cannot be compiled")
        return f"polygamma({int(n)}, {self._print(x)})"

    def _print_besseli(self, expr):
        n, x = expr.args
        if not n.is_Integer:
            raise NotImplementedError(f"besseli of non-integer order {n} cannot be compiled")
        return f"besseli({int(n)}, {self._print(x)})"

    def _print_Pow(self, expr, rational=False):
        # numba raises ZeroDivisionError for 0.0 ** -2 whatever its error model; a division gives
        # inf, which the integrators report with the partial trajectory.
        if expr.exp.is_Integer and expr.exp < -1:
            return f"1/({self._print(sp.Pow(expr.base, -expr.exp, evaluate=False))})"
        return super()._print_Pow(expr, rational=rational)

    def _print_DiracDelta(self, expr):
        # Derivatives of Abs, sign, Heaviside, Min and Max: their derivative almost everywhere.
        return "0.0"

    def _print_Rational(self, expr):
        # Always float division, whatever the surrounding types.
        return f"({float(expr.p)!r}/{float(expr.q)!r})"

    def _print_Half(self, expr):
        return self._print_Rational(expr)


#: The sympy functions that generated code can evaluate, by sympy class name (documented in
#: :func:`riemannopt.codegen.compile_problem`; ``tests/codegen/test_functions.py`` compiles each
#: one); ``besseli`` compiles for integer orders.  sympy rewrites a few others into these when
#: they are built (``beta``, ``binomial``, ``RisingFactorial``, ``cbrt``, ``root``), so those
#: compile too; powers and the constants ``pi``, ``E`` always do.
SUPPORTED_FUNCTIONS = (
    "exp", "log", "sqrt",
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "atan2", "acot",
    "sinh", "cosh", "tanh", "coth", "asinh", "acosh", "atanh",
    "Abs", "sign", "Min", "Max", "Piecewise", "Heaviside",
    "erf", "erfc", "gamma", "loggamma", "digamma", "trigamma", "polygamma", "besseli", "sinc",
    "re", "im", "conjugate",
)  # fmt: skip

#: ``polygamma(n, x)`` compiles for these orders (see :mod:`riemannopt.codegen.special`); a
#: derivative of higher order, which the Christoffel symbols of a metric holding ``polygamma(2, x)``
#: need, evaluates to NaN, so a method that uses it fails with a NonFiniteError.
POLYGAMMA_ORDERS = (0, 1, 2, 3)

# Logical connectives appear inside Piecewise conditions and domains.
_CONNECTIVES = ("And", "Or", "Not")


def unsupported_function(expr):
    """The first function application in ``expr`` that generated code cannot evaluate, as text
    (``None`` if there is none)."""
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, Application):
            continue
        name = type(node).__name__
        if name not in SUPPORTED_FUNCTIONS and name not in _CONNECTIVES:
            return str(node.func) if isinstance(node, AppliedUndef) else name
        if name == "polygamma" and node.args[0] not in POLYGAMMA_ORDERS:
            return f"polygamma of order {node.args[0]} (orders {', '.join(map(str, POLYGAMMA_ORDERS))} compile)"
        if name == "besseli" and not node.args[0].is_Integer:
            return f"besseli of non-integer order {node.args[0]} (integer orders compile)"
    return None
