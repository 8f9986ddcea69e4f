"""Every function of the documented list compiles and evaluates correctly (issue 8).

The list :data:`riemannopt.codegen.SUPPORTED_FUNCTIONS` is what ``compile`` promises (and what its
CompileError for any other function lists): a loss built from each of its names, by name, must
compile, and its value and derivative must agree with sympy's arbitrary-precision evaluation
(mpmath, an independent implementation) to 1e-13, and the derivative with central finite
differences of the compiled loss.
"""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro
from riemannopt.codegen import SUPPORTED_FUNCTIONS

x = sp.Symbol("x", real=True)

# Arguments that keep each function finite and smooth near x = 0.7.
ARGS = {
    "asin": (x / 3,),
    "acos": (x / 3,),
    "atanh": (x / 3,),
    "acosh": (x + 1,),
    "atan2": (x, x + 2),
    "Abs": (x - 1,),
    "sign": (x - 1,),
    "Heaviside": (x - 1,),
    "Min": (x, 2),
    "Max": (x, 2),
    "polygamma": (2, x),
    "Piecewise": ((x, x > 1), (x**2, True)),
}


def test_every_supported_function_compiles_and_evaluates():
    terms = [getattr(sp, name)(*ARGS.get(name, (x,))) for name in SUPPORTED_FUNCTIONS]
    loss = sum((i + 1) * term for i, term in enumerate(terms))
    C = ro.Problem(ro.Metric([x], [[1]]), loss).compile()
    x0 = 0.7
    want_loss = float(loss.subs(x, x0).evalf(30))
    want_grad = float(sp.diff(loss, x).subs(x, x0).evalf(30))
    assert C.loss([x0]) == pytest.approx(want_loss, rel=1e-13)
    assert C.grad([x0])[0] == pytest.approx(want_grad, rel=1e-13)
    h = 1e-6
    fd = (C.loss([x0 + h]) - C.loss([x0 - h])) / (2 * h)
    assert C.grad([x0])[0] == pytest.approx(fd, rel=1e-6)


def test_kinks_differentiate_almost_everywhere():
    """The derivatives of Abs, sign, Heaviside, Min and Max hold DiracDelta, which compiles as 0
    (its value away from the kink): d/dx [|x − 1| + 3 sign(x − 1) + max(x, 2)] = −1 at x = 0.7."""
    loss = sp.Abs(x - 1) + 3 * sp.sign(x - 1) + sp.Max(x, 2) + sp.Heaviside(x - 0.5)
    C = ro.Problem(ro.Metric([x], [[1]]), loss).compile()
    np.testing.assert_array_equal(C.grad([0.7]), [-1.0])
    assert C.loss([0.7]) == pytest.approx(0.3 - 3 + 2 + 1, rel=1e-15)


def test_division_by_zero_gives_infinity_not_an_exception():
    """Generated code follows numpy's error model: L = −1/x at x = 0 is −inf and its gradient
    1/x² is +inf (IEEE 754), where numba's default Python model raised ZeroDivisionError — from
    inside a jitted loop, losing the trajectory.  The integrators turn the infinity into a
    NonFiniteError that keeps it (see test_bad_inputs)."""
    C = ro.Problem(ro.Metric([x], [[1]]), -1 / x).compile()
    assert C.loss([0.0]) == -np.inf
    np.testing.assert_array_equal(C.grad([0.0]), [np.inf])
