"""A sympy printer for scalar numba code: ``math`` functions plus riemannopt's special functions."""

from sympy.printing.pycode import PythonCodePrinter

__all__ = ["NumbaPrinter"]


class NumbaPrinter(PythonCodePrinter):
    """Prints expressions as plain Python that ``numba.njit`` compiles.

    Special functions are routed to :mod:`riemannopt.codegen.special`, which the generated
    module imports under their bare names.
    """

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, "standard": "python3", **(settings or {})})

    def _print_loggamma(self, expr):
        return f"loggamma({self._print(expr.args[0])})"

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

    def _print_Rational(self, expr):
        # Always float division, whatever the surrounding types.
        return f"({float(expr.p)!r}/{float(expr.q)!r})"

    def _print_Half(self, expr):
        return self._print_Rational(expr)
