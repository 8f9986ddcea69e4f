"""Tests for the numba special functions in :mod:`riemannopt.codegen.special`.

References: :mod:`scipy.special` on log-uniform random points in ``[1e-3, 1e6]``, and
mpmath at 40 significant digits where scipy is not a reliable reference for relative
error:

* ``scipy.special.gammaln`` loses relative accuracy next to the zeros of
  ``log Gamma`` at ``x = 1`` and ``x = 2`` (about ``3e-13`` at ``|value| = 1e-3``, up to
  100% for the float64 neighbours of 1 and 2). Against scipy, ``loggamma`` is therefore
  compared with an absolute tolerance of ``1e-15`` where ``|value| < 1e-2`` and a
  relative tolerance of ``1e-13`` elsewhere; its relative accuracy near the zeros is
  checked against mpmath instead.
* Near the digamma root ``x0`` scipy is in fact accurate (it has its own expansion
  about the root), but the dense grid there is checked against mpmath as well, so that
  the test does not depend on that.
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sc
from numba import njit

from riemannopt.codegen import special

RTOL = 1e-13
X0 = 1.4616321449683622  # float64 nearest to the positive root of digamma
_MP_DPS = 40

# Which function _evaluate applies; numba compiles one loop for all of them.
_LOGGAMMA, _GAMMA, _DIGAMMA, _POLYGAMMA, _TRIGAMMA = range(5)


@njit(cache=False)
def _evaluate(kind, n, xs):
    out = np.empty_like(xs)
    for i in range(xs.size):
        x = xs[i]
        if kind == _LOGGAMMA:
            out[i] = special.loggamma(x)
        elif kind == _GAMMA:
            out[i] = special.gamma(x)
        elif kind == _DIGAMMA:
            out[i] = special.digamma(x)
        elif kind == _POLYGAMMA:
            out[i] = special.polygamma(n, x)
        else:
            out[i] = special.trigamma(x)
    return out


def _log_uniform(lo, hi, size, seed):
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


@pytest.fixture(scope="module")
def xs():
    return _log_uniform(1e-3, 1e6, 3000, seed=20240611)


@pytest.fixture(scope="module")
def root_grid():
    """The float64 neighbours of the digamma root, then a dense grid around it."""
    ulps = X0 + np.arange(-100, 101) * np.spacing(X0)
    return np.concatenate([ulps, np.linspace(X0 - 0.6, X0 + 0.6, 601)])


def _mp_reference(fn, xs):
    with mpmath.workdps(_MP_DPS):
        return np.array([float(fn(mpmath.mpf(float(x)))) for x in xs])


def _max_rel_err(values, reference):
    assert np.all(np.isfinite(values))
    return float(np.max(np.abs(values - reference) / np.abs(reference)))


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_matches_scipy(xs, n):
    values = _evaluate(_POLYGAMMA, n, xs)
    assert _max_rel_err(values, sc.polygamma(n, xs)) <= RTOL


def test_digamma_matches_scipy(xs):
    values = _evaluate(_DIGAMMA, 0, xs)
    assert _max_rel_err(values, sc.digamma(xs)) <= RTOL
    np.testing.assert_array_equal(values, _evaluate(_POLYGAMMA, 0, xs))


def test_trigamma_is_polygamma_1(xs):
    np.testing.assert_array_equal(_evaluate(_TRIGAMMA, 0, xs), _evaluate(_POLYGAMMA, 1, xs))


def test_digamma_near_root_matches_mpmath(root_grid):
    values = _evaluate(_DIGAMMA, 0, root_grid)
    reference = _mp_reference(mpmath.digamma, root_grid)
    assert _max_rel_err(values, reference) <= RTOL
    assert _max_rel_err(values, sc.digamma(root_grid)) <= RTOL
    # Sign changes exactly at the root, which lies between X0 and its successor.
    assert special.digamma(X0) < 0.0 < special.digamma(np.nextafter(X0, 2.0))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_polygamma_near_root_matches_mpmath(root_grid, n):
    values = _evaluate(_POLYGAMMA, n, root_grid[::4])
    reference = _mp_reference(lambda x: mpmath.psi(n, x), root_grid[::4])
    assert _max_rel_err(values, reference) <= RTOL


def test_loggamma_matches_scipy(xs):
    values = _evaluate(_LOGGAMMA, 0, xs)
    reference = sc.gammaln(xs)
    small = np.abs(reference) < 1e-2
    # Absolute tolerance where scipy's own relative error is poor (see module docstring).
    assert np.max(np.abs(values[small] - reference[small]), initial=0.0) <= 1e-15
    assert _max_rel_err(values[~small], reference[~small]) <= RTOL


def test_loggamma_zeros_relative_to_mpmath():
    # Both sides of the zeros at 1 and 2, from float64 neighbours out to the edges of the
    # series region and beyond into the math.lgamma region.
    offsets = np.geomspace(1e-14, 0.4, 200)
    grid = [1.0 + offsets, 1.0 - offsets, 2.0 + offsets, 2.0 - offsets]
    for zero in (1.0, 2.0):
        for direction in (0.0, 3.0):
            x = zero
            for _ in range(50):
                x = np.nextafter(x, direction)
                grid.append(np.array([x]))
    grid = np.concatenate(grid)
    values = _evaluate(_LOGGAMMA, 0, grid)
    assert _max_rel_err(values, _mp_reference(mpmath.loggamma, grid)) <= RTOL
    assert special.loggamma(1.0) == 0.0
    assert special.loggamma(2.0) == 0.0


def test_gamma_matches_scipy():
    grid = _log_uniform(1e-3, 171.0, 2000, seed=7)
    values = _evaluate(_GAMMA, 0, grid)
    assert _max_rel_err(values, sc.gamma(grid)) <= RTOL


def test_special_values():
    euler = 0.57721566490153286
    assert special.digamma(1.0) == pytest.approx(-euler, rel=1e-15)
    assert special.trigamma(1.0) == pytest.approx(math.pi**2 / 6, rel=1e-15)
    assert special.polygamma(2, 1.0) == pytest.approx(-2 * 1.2020569031595943, rel=1e-15)
    assert special.polygamma(3, 1.0) == pytest.approx(math.pi**4 / 15, rel=1e-15)
    assert special.digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), rel=1e-15)
    assert special.gamma(0.5) == pytest.approx(math.sqrt(math.pi), rel=1e-15)
    assert special.loggamma(0.5) == pytest.approx(0.5 * math.log(math.pi), rel=1e-15)
    assert special.digamma(math.inf) == math.inf
    assert special.trigamma(math.inf) == 0.0


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -2.0, -37.0, -1e300, -math.inf, math.nan])
def test_poles_give_nan(x):
    assert math.isnan(special.digamma(x))
    for n in range(4):
        assert math.isnan(special.polygamma(n, x))
    assert math.isnan(special.trigamma(x))


@pytest.mark.parametrize("n", [-1, 4, 7])
def test_unsupported_order_gives_nan(n):
    assert math.isnan(special.polygamma(n, 1.5))


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_negative_arguments_reflection(n):
    # Points away from the zeros of psi and psi'' on the negative axis, where the
    # reflection formulas are accurate only in the absolute sense.
    grid = np.array([-1e-3, -0.3, -0.75, -1.7, -2.25, -7.9, -30.6, -1234.4])
    values = _evaluate(_POLYGAMMA, n, grid)
    reference = _mp_reference(lambda x: mpmath.psi(n, x), grid)
    assert _max_rel_err(values, reference) <= RTOL


def test_callable_from_njit():
    @njit
    def gamma_fisher_det(alpha, beta):
        # Fisher metric of Gamma(shape=alpha, rate=beta):
        # [[psi'(alpha), -1/beta], [-1/beta, alpha/beta^2]].
        return (special.trigamma(alpha) * alpha - 1.0) / (beta * beta)

    @njit
    def mixed(x):
        return (
            special.loggamma(x)
            + special.gamma(x)
            + special.digamma(x)
            + special.polygamma(2, x)
            + special.polygamma(3, x)
        )

    alpha, beta = 2.5, 1.5
    expected = (sc.polygamma(1, alpha) * alpha - 1.0) / beta**2
    assert gamma_fisher_det(alpha, beta) == pytest.approx(expected, rel=RTOL)
    x = 3.7
    expected = sc.gammaln(x) + sc.gamma(x) + sc.digamma(x) + sc.polygamma([2, 3], x).sum()
    assert mixed(x) == pytest.approx(expected, rel=RTOL)


# --- besseli -------------------------------------------------------------------------------
#
# Reference: scipy.special.iv (AMOS), within 1.7e-15 of mpmath on [0, 700]. Above x = 709 it
# loses accuracy (up to 9e-13 before it overflows at 713.9), so there the reference is mpmath.
# Values below 1e-290 (orders >= 1 at tiny x) are left out of the relative comparison with
# scipy, which returns 0 for iv(1, 1e-300).

BESSELI_RTOL = 1e-14


@njit(cache=False)
def _evaluate_besseli(n, xs):
    out = np.empty_like(xs)
    for i in range(xs.size):
        out[i] = special.besseli(n, xs[i])
    return out


def _neighbours(x, count=20):
    """``x`` and its ``count`` float64 neighbours on each side."""
    return x + np.arange(-count, count + 1) * np.spacing(x)


@pytest.fixture(scope="module")
def besseli_grid():
    """Log-uniform on [1e-300, 700], dense near 0, and dense around the switch from the power
    series to the asymptotic expansion: x = 25 for orders up to 7, n^2 / 2 = 32 for order 8."""
    parts = [
        _log_uniform(1e-300, 700.0, 1500, seed=11),
        _log_uniform(1e-3, 700.0, 1500, seed=12),
        np.linspace(0.0, 1.0, 201),
        np.geomspace(1e-20, 1e-3, 50),
    ]
    for switch in (25.0, 32.0):
        parts += [np.linspace(switch - 2.0, switch + 2.0, 201), _neighbours(switch)]
    return np.concatenate(parts)


@pytest.mark.parametrize("n", range(9))
def test_besseli_matches_scipy(besseli_grid, n):
    values = _evaluate_besseli(n, besseli_grid)
    reference = sc.iv(n, besseli_grid)
    keep = reference > 1e-290
    assert keep.sum() > 2000
    assert _max_rel_err(values[keep], reference[keep]) <= BESSELI_RTOL
    # Below 1e-290 the value is the first term (x/2)^n / n! (or underflows with it).
    tiny = besseli_grid[~keep]
    first_term = np.array([float(mpmath.besseli(n, mpmath.mpf(float(x)))) for x in tiny])
    np.testing.assert_allclose(values[~keep], first_term, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("n", [0, 1, 2, 8])
def test_besseli_near_overflow_matches_mpmath(n):
    # e^x overflows at 709.78, I_n(x) only at about 713.9: the expansion applies e^x in halves.
    grid = np.concatenate([np.linspace(700.0, 713.9, 140), _neighbours(709.0, 5)])
    values = _evaluate_besseli(n, grid)
    reference = _mp_reference(lambda x: mpmath.besseli(n, x), grid)
    assert _max_rel_err(values, reference) <= BESSELI_RTOL


@pytest.mark.parametrize("n", [12, 20])
def test_besseli_higher_orders_match_mpmath(n):
    # Orders above 7 switch to the expansion at x = n^2 / 2 (72 and 200 here).
    grid = np.concatenate([_log_uniform(1e-3, 713.0, 300, seed=n), _neighbours(n * n / 2.0, 5)])
    values = _evaluate_besseli(n, grid)
    reference = _mp_reference(lambda x: mpmath.besseli(n, x), grid)
    keep = reference > 1e-290
    assert _max_rel_err(values[keep], reference[keep]) <= BESSELI_RTOL


@pytest.mark.parametrize("n", range(9))
def test_besseli_symmetries(besseli_grid, n):
    values = _evaluate_besseli(n, besseli_grid)
    # I_{-n} = I_n and I_n(-x) = (-1)^n I_n(x), exactly.
    np.testing.assert_array_equal(_evaluate_besseli(-n, besseli_grid), values)
    np.testing.assert_array_equal(_evaluate_besseli(n, -besseli_grid), (-1) ** n * values)
    np.testing.assert_array_equal(_evaluate_besseli(-n, -besseli_grid), (-1) ** n * values)


def test_besseli_special_values():
    assert special.besseli(0, 0.0) == 1.0
    assert special.besseli(0, -0.0) == 1.0
    for n in (1, 2, 5, -3):
        assert special.besseli(n, 0.0) == 0.0
    assert special.besseli(0, 1.0) == pytest.approx(1.2660658777520082, rel=1e-15)
    assert special.besseli(1, 1.0) == pytest.approx(0.5651591039924851, rel=1e-15)
    # The power series I_n(x) ~ (x/2)^n / n! at small x.
    assert special.besseli(3, 1e-100) == pytest.approx((0.5e-100) ** 3 / 6, rel=1e-15)
    assert special.besseli(3, 1e-200) == 0.0  # underflows, as (x/2)^3 / 6 does


def test_besseli_overflow_inf_and_nan():
    # Overflow past x = 713.9 gives inf, as scipy's iv does; the sign follows (-1)^n.
    assert special.besseli(0, 714.0) == math.inf
    assert special.besseli(1, 714.0) == math.inf
    assert special.besseli(1, -714.0) == -math.inf
    assert special.besseli(2, -714.0) == math.inf
    assert special.besseli(0, 1e300) == math.inf
    assert special.besseli(40, 800.0) == math.inf  # the expansion (x >= n^2 / 2 = 800)
    assert special.besseli(60, 800.0) == math.inf  # the power series (x < n^2 / 2 = 1800)
    assert special.besseli(1000, 1e300) == math.inf  # the power series, whose first term overflows
    assert special.besseli(10**6, 1.0) == 0.0  # the first term underflows
    # I_8 is still finite at 714.
    assert special.besseli(8, 714.0) == pytest.approx(float(mpmath.besseli(8, 714)), rel=BESSELI_RTOL)
    # The limits at infinity (scipy's iv returns nan there).
    assert special.besseli(0, math.inf) == math.inf
    assert special.besseli(3, math.inf) == math.inf
    assert special.besseli(3, -math.inf) == -math.inf
    assert special.besseli(4, -math.inf) == math.inf
    for n in (0, 1, 2, -1):
        assert math.isnan(special.besseli(n, math.nan))
    # A non-integer order (possible only from plain Python) gives nan.
    assert math.isnan(special.besseli(0.5, 1.0))
    assert special.besseli(2.0, 1.0) == special.besseli(2, 1.0)


def test_besseli_callable_from_njit():
    @njit
    def von_mises_log_normaliser_derivatives(kappa):
        # d/dk log I_0 = I_1 / I_0 and d^2/dk^2 log I_0 = (I_0 + I_2) / (2 I_0) - (I_1 / I_0)^2.
        i0 = special.besseli(0, kappa)
        a = special.besseli(1, kappa) / i0
        return a, 0.5 * (i0 + special.besseli(2, kappa)) / i0 - a * a

    for kappa in (0.5, 3.0, 40.0):
        a, b = von_mises_log_normaliser_derivatives(kappa)
        ref_a = sc.iv(1, kappa) / sc.iv(0, kappa)
        assert a == pytest.approx(ref_a, rel=1e-14)
        assert b == pytest.approx(0.5 * (1 + sc.iv(2, kappa) / sc.iv(0, kappa)) - ref_a**2, rel=1e-12)


@pytest.mark.parametrize(
    ("n", "x"),
    [
        (100, 70.0),
        (1000, 370.0),  # the first term is 4e-301, the value 1.5e-286
        (1900, 950.0),  # the first term (1.6e-321) underflows, the value (1.8e-271) does not
        (3000, 2000.0),  # plain products h^i / i! would overflow on the way
        (7000, 4620.0),  # the first term is 2e-333, the value 3.3e-18
    ],
)
def test_besseli_orders_in_the_thousands_match_mpmath(n, x):
    value = special.besseli(n, x)
    reference = mpmath.besseli(n, x, maxterms=10**6)
    assert value == pytest.approx(float(reference), rel=2 * BESSELI_RTOL)
