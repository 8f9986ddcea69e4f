"""The Butcher tableaus of the jitted ODE solvers (riemannopt/integrators/tableaus.py): their import
check rejects a broken tableau, and each pair has its declared orders by an independent test, the
Taylor expansion of its stability function (``b·A^(k-1)·1 = 1/k!``, the conditions of the tall
trees, which the import check does not use)."""

import math

import numpy as np
import pytest

from riemannopt.integrators import kernels
from riemannopt.integrators.tableaus import DOP853, DOPRI5, TABLEAUS, check, embedded_weights


@pytest.mark.parametrize("name", list(TABLEAUS))
def test_tableaus_have_their_declared_orders(name):
    """On ẏ = λy a step multiplies y by R(z) = 1 + z b·(I − zA)⁻¹·1 = Σ_k z^k b·A^(k-1)·1: the
    solution of order p matches e^z up to z^p (and not z^(p+1)); each embedded one up to its order."""
    T = TABLEAUS[name]
    one = np.ones(T.b.size)

    def taylor(w, k):  # the coefficient of z^k in R(z)
        return w @ np.linalg.matrix_power(T.A, k - 1) @ one

    for w, order in [(T.b, T.order), *zip(embedded_weights(T), T.e_orders)]:
        for k in range(1, order + 1):
            assert taylor(w, k) == pytest.approx(1 / math.factorial(k), rel=1e-12, abs=1e-14), (k, order)
        assert abs(taylor(w, order + 1) - 1 / math.factorial(order + 1)) > 1e-8


def test_published_properties():
    """Dormand–Prince 5(4): 7 stages, the last at the new point (FSAL); DOP853: 12 stages, errors
    from the 5th- and 3rd-order solutions, f at the new point evaluated apart."""
    assert DOPRI5.b.size == 7 and DOPRI5.fsal and (DOPRI5.order, DOPRI5.e_orders) == (5, (4,))
    np.testing.assert_array_equal(DOPRI5.A[-1], DOPRI5.b)
    assert DOP853.b.size == 12 and not DOP853.fsal and (DOP853.order, DOP853.e_orders) == (8, (5, 3))
    for T in TABLEAUS.values():
        assert not T.A.flags.writeable and not T.b.flags.writeable
    # the step-size exponents −1/(q+1) of the error estimates, of order 4 and 7 (scipy's RK45, DOP853)
    assert (DOPRI5.exponent, DOP853.exponent) == (-1 / 5, -1 / 8)


def _broken(T, field, change):
    value = np.array(getattr(T, field))
    change(value)
    return T._replace(**{field: value})


@pytest.mark.parametrize(
    "field, change, message",
    [
        ("b", lambda b: b.__setitem__(2, b[2] + 1e-9), "b: Σ w c"),
        ("e", lambda e: e.__setitem__((0, 0), e[0, 0] + 1e-9), "embedded solution 0"),
        ("c", lambda c: c.__setitem__(3, c[3] + 1e-9), "row sums"),
        ("A", lambda A: A.__setitem__((2, 2), 0.1), "strictly lower triangular"),
    ],
)
@pytest.mark.parametrize("name", list(TABLEAUS))
def test_the_check_rejects_a_broken_tableau(name, field, change, message):
    """One coefficient changed by 1e-9 (or a diagonal entry) fails the import check."""
    with pytest.raises(ValueError, match=message):
        check(_broken(TABLEAUS[name], field, change), name)


def test_the_check_rejects_a_false_fsal():
    with pytest.raises(ValueError, match="FSAL"):
        check(DOP853._replace(fsal=True), "dop853")


def test_the_solvers_are_one_loop_over_the_tableaus():
    """dopri and dop853 are the same code, compiled for their tableaus (the closure's variables),
    and the old per-solver tables are gone."""
    code = kernels.dopri.py_func.__code__
    assert kernels.dop853.py_func.__code__ is code
    for solver, T in ((kernels.dopri, DOPRI5), (kernels.dop853, DOP853)):
        frozen = dict(zip(code.co_freevars, (cell.cell_contents for cell in solver.py_func.__closure__)))
        assert frozen["A"] is T.A and frozen["b"] is T.b and frozen["e"] is T.e
    assert not {"_C", "_C8", "_A", "_A8", "_B", "_B4", "_B8", "_E5", "_E3"} & set(vars(kernels))
