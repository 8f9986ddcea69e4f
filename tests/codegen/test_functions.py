"""Every function of the documented list compiles and evaluates correctly (issue 8).

The list :data:`riemannopt.codegen.SUPPORTED_FUNCTIONS` is what ``compile`` promises (and what its
CompileError for any other function lists): a loss built from each of its names, by name, must
compile, and its value and derivative must agree with sympy's arbitrary-precision evaluation
(mpmath, an independent implementation) to 1e-13, and the derivative with central finite
differences of the compiled loss.
"""

import math

import numpy as np
import pytest
import scipy.special as sc
import sympy as sp

import riemannopt as ro
from riemannopt.codegen import SUPPORTED_FUNCTIONS
from riemannopt.errors import CompileError

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
    "besseli": (1, x),
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


def test_besseli_von_mises_matches_scipy():
    """The von Mises log-density in its concentration, -log(2π I₀(κ)) + κ cos(θ - μ), with the
    metric I₀(κ): its derivatives hold I₁ and I₂ (and the Christoffel symbol I₁ / (2 I₀)), all
    compiled through :func:`riemannopt.codegen.special.besseli` and checked against scipy's
    ``iv`` (an independent implementation), from the power series (κ < 25) to the asymptotic
    expansion."""
    k = sp.Symbol("kappa", positive=True)
    loss = -sp.log(2 * sp.pi * sp.besseli(0, k)) + k * sp.cos(sp.Rational(1, 3))
    C = ro.Problem(ro.Metric([k], [[sp.besseli(0, k)]]), loss).compile()
    for kappa in (1e-3, 0.5, 3.0, 24.9, 25.1, 80.0, 250.0, 600.0):
        i0, i1, i2 = sc.iv([0, 1, 2], kappa)
        assert C.loss([kappa]) == pytest.approx(-math.log(2 * math.pi * i0) + kappa * math.cos(1 / 3), rel=1e-14)
        assert C.grad([kappa])[0] == pytest.approx(-i1 / i0 + math.cos(1 / 3), rel=1e-13)
        if kappa < 300.0:  # sympy writes I₁²/I₀², which overflows (to nan) beyond κ ≈ 355
            hess = -(0.5 * (i0 + i2) / i0 - (i1 / i0) ** 2)
            # The two terms agree to about 1/(2κ): relative error up to about κ * 1e-16.
            assert C.hessian([kappa])[0, 0] == pytest.approx(hess, rel=1e-15 * max(kappa, 100.0))
        assert C.metric([kappa])[0, 0] == pytest.approx(i0, rel=1e-14)
        assert C.christoffel([kappa])[0, 0, 0] == pytest.approx(i1 / (2 * i0), rel=1e-14)


def test_besseli_of_non_integer_order_is_a_compile_error():
    message = r"the loss uses besseli of non-integer order 1/2 \(integer orders compile\)"
    with pytest.raises(CompileError, match=message):
        ro.Problem(ro.Metric([x], [[1]]), sp.besseli(sp.Rational(1, 2), x + 2)).compile()


def test_besseli_in_a_data_problem_matches_scipy():
    """The same in a mean over data rows (the other code generator): the von Mises negative
    log-likelihood in (μ, κ) with its Fisher metric diag(κ A, 1 − A/κ − A²), A = I₁/I₀."""
    mu, k, theta = sp.Symbol("mu", real=True), sp.Symbol("kappa", positive=True), sp.Symbol("theta", real=True)
    a = sp.besseli(1, k) / sp.besseli(0, k)
    metric = ro.Metric([mu, k], sp.diag(k * a, 1 - a / k - a**2))
    thetas = np.random.default_rng(0).vonmises(0.5, 2.0, 200)
    loss = sp.log(2 * sp.pi * sp.besseli(0, k)) - k * sp.cos(theta - mu)
    C = ro.Problem(metric, loss, data={theta: thetas}).compile()
    for m, kappa in ((0.4, 1.7), (0.6, 40.0)):
        i0, i1 = sc.iv([0, 1], kappa)
        A = i1 / i0
        want_loss = np.mean(np.log(2 * np.pi * i0) - kappa * np.cos(thetas - m))
        want_grad = [np.mean(-kappa * np.sin(thetas - m)), np.mean(A - np.cos(thetas - m))]
        assert C.loss([m, kappa]) == pytest.approx(want_loss, rel=1e-13)
        np.testing.assert_allclose(C.grad([m, kappa]), want_grad, rtol=1e-12)
        np.testing.assert_allclose(np.diag(C.metric([m, kappa])), [kappa * A, 1 - A / kappa - A**2], rtol=1e-12)
