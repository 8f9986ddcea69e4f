"""Special functions for numba-compiled generated code.

numba cannot call :mod:`scipy.special`, yet the metrics and Christoffel symbols that
riemannopt generates (for example the Fisher metric of the Gamma distribution) contain
log-gamma, digamma and polygamma functions. This module provides scalar float64
implementations of them as ``@njit(cache=True, fastmath=False)`` functions, so they can
be called both from plain Python and from inside other numba-compiled functions.  Like the
generated code, they use numba's numpy error model (a division by zero gives inf or NaN,
never a ``ZeroDivisionError`` inside a caller's jitted loop).

Functions
---------
loggamma(x)
    ``log|Gamma(x)|``. Near the zeros at ``x = 1`` and ``x = 2`` (``|x - 1| <= 1/4`` or
    ``|x - 2| <= 1/4``) a power series in ``z = x - 2`` is used,
    ``log Gamma(2 + z) = (1 - gamma) z + sum_{k>=2} (-1)^k (zeta(k) - 1) / k * z^k``, and
    ``log Gamma(1 + z) = log Gamma(2 + z) - log1p(z)``; this keeps the *relative* error
    small where the value crosses zero, independently of the platform's C library.
    Elsewhere ``math.lgamma`` (the C library's ``lgamma``) is used.
gamma(x)
    ``Gamma(x)`` via ``math.gamma`` (the C library's ``tgamma``).
digamma(x)
    ``psi(x)``. For ``x >= 20`` the asymptotic (Stirling) series
    ``log x - 1/(2x) - sum B_2k / (2k x^2k)`` is summed. For ``0 < x < 20`` the
    recurrence ``psi(x + 1) = psi(x) + 1/x`` moves the argument into
    ``[x0 - 1/2, x0 + 1/2]`` around the positive root ``x0 = 1.46163214496836...``
    (down from above, one step up from below), where a Taylor series about ``x0`` is
    summed (coefficients ``psi^(k)(x0) / k!`` computed once with mpmath and hard-coded).
    Expanding about the root gives full relative accuracy where ``psi`` crosses zero,
    and moving towards it rather than up to ``x = 20`` avoids the cancellation that an
    upward recurrence suffers for ``1 < x < 20``. For ``x < 0`` the reflection formula
    ``psi(x) = psi(1 - x) - pi cot(pi x)`` is used. Poles (``x = 0, -1, -2, ...``)
    give nan.
polygamma(n, x)
    ``psi^(n)(x)`` for ``n = 0, 1, 2, 3`` (nan for any other ``n``); ``n = 0`` is
    :func:`digamma`. For ``x > 0`` the recurrence
    ``psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1)`` shifts to ``x >= 20``
    and the asymptotic series
    ``(-1)^(n+1) [(n-1)!/x^n + n!/(2 x^(n+1)) + sum B_2k (2k+n-1)! / ((2k)! x^(2k+n))]``
    is summed; every term has the same sign, so no cancellation occurs. For ``x < 0`` the
    ``n``-th derivative of the reflection formula is used. Poles give nan.
trigamma(x)
    ``polygamma(1, x)``.
besseli(n, x)
    ``I_n(x)``, the modified Bessel function of the first kind, for integer ``n`` of any
    sign (``I_{-n} = I_n``; ``I_n(-x) = (-1)^n I_n(x)``). The von Mises log-density holds
    ``log I_0(kappa)``, whose derivatives sympy writes with ``I_1, I_2, ...`` (it rewrites
    negative orders itself). With ``a = |x|``: for ``a >= max(25, n^2/2)`` the
    large-argument expansion
    ``I_n(a) = e^a / sqrt(2 pi a) * sum_k (-1)^k prod_{j=1..k} (4n^2 - (2j-1)^2) / (k! (8a)^k)``
    is summed (at most 23 terms; its exponentially small remainder is below 1e-21 there;
    beyond ``a = 709`` the factor ``e^a`` is applied in two halves, so the result overflows
    to inf only where ``I_n`` does, at ``a`` of about 713.9 for small orders). Below that
    the power series ``sum_k (a/2)^(2k+n) / (k! (k+n)!)`` (all terms positive, no
    cancellation) is summed until a term falls below 1e-17 of the sum (about 10 terms at
    ``a = 1``, 24 at 10, 40 at 25). Each term is the previous one times
    ``(a/2)/k * (a/2)/(k+n)``: a rounded ``(a/2)^2`` would enter the ``k``-th term ``k``
    times (a relative error of 2e-14 at ``a = 700``). For orders in the thousands the
    first term ``(a/2)^n / n!`` is formed in an order, and rescaled by powers of two, so
    that it neither overflows nor underflows where ``I_n`` itself does not. Neither sum
    allocates. ``+-inf`` at ``x = +-inf`` (scipy's ``iv`` returns nan there), nan at nan or
    a non-integer order. Cost, measured inside a numba loop (glibc, x86-64, a shared
    machine): about 0.03 us at ``x = 1``, 0.07-0.10 us at ``x = 10``, 0.11-0.17 us just
    below the switch at 25 (the slowest case for orders up to 7), 0.03-0.04 us at
    ``x = 100`` and ``x = 600``; a ``math.exp`` costs 0.005 us there.

Accuracy
--------
Measured against mpmath at 40 significant digits on 4000 log-uniformly sampled ``x`` in
``[1e-3, 1e6]``, on the 400 float64 neighbours of the digamma root and on dense grids
over ``[0.5, 3]``, the largest relative errors were: :func:`digamma` 4.2e-16,
:func:`polygamma` 4.4e-16 (``n = 1``), 6.5e-16 (``n = 2``), 7.0e-16 (``n = 3``),
:func:`loggamma` 4.0e-16 (including the float64 neighbours of 1 and 2), :func:`gamma`
4.4e-16 on ``[1e-3, 171]``. The test suite enforces ``1e-13``. :func:`gamma`, and
:func:`loggamma` away from 1 and 2, inherit the accuracy of the platform's C library
(the figures above are for glibc).

For ``x < 0``: ``psi^(1)`` and ``psi^(3)`` are positive there and keep full relative
accuracy (measured below 1.3e-15); ``psi`` and ``psi^(2)`` have zeros on the negative
axis, near which the reflection formulas are accurate only in the absolute sense.
Unlike :mod:`scipy.special` (which returns ``-inf`` for ``digamma(0)`` and ``inf`` for
``polygamma(1, 0)``) all poles give nan; like the C library, :func:`gamma` and
:func:`loggamma` return ``inf`` or nan at poles instead of raising.

:func:`besseli`, against mpmath at 40 digits for orders ``n = 0..8`` on 6000 log-uniformly
sampled ``x`` (half in ``[1e-300, 700]``, half in ``[1e-3, 700]``), dense grids on ``[0, 1]``, ``[700, 713.9]`` and around
the switch points (``x = 25``, ``32``, ``40.5``, with 20 float64 neighbours each side) and
``709``: largest relative error 1.7e-15, reached by the series just below the switch; the
expansion stays below 9.3e-16. For ``n = 12, 20, 30`` (log-uniform on ``[1e-3, 713]``)
it was 2.1e-15, 3.4e-15, 6.2e-15, and for orders 50 to 20000 (``x = z n`` for twenty
``z`` in ``[0.01, 2]``, wherever ``I_n`` lies in ``[1e-300, 1e307]``) it grows from 3e-15
to 1.9e-14. :func:`scipy.special.iv` itself is within 1.7e-15 of mpmath on ``[0, 700]``
but off by up to 9e-13 above ``x = 709``, where the test suite therefore compares with
mpmath; it enforces ``1e-14``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

__all__ = ["loggamma", "gamma", "digamma", "polygamma", "trigamma", "besseli"]

# The positive root of digamma as an unevaluated sum _X0_HI + _X0_LO (double-double),
# so that x - x0 can be formed with a relative error of about one ulp even for the
# float64 neighbours of the root, where psi(x) is of order 1e-16. Computed with
#     mpmath.mp.dps = 50
#     x0 = mpmath.findroot(mpmath.digamma, mpmath.mpf("1.46"))
#     hi = float(x0); lo = float(x0 - hi)
_X0_HI = 1.4616321449683622
_X0_LO = 9.549995429965697e-17

# Half-width of the interval [x0 - 1/2, x0 + 1/2] on which the Taylor series of psi
# about its root is used. The interval has unit length, so the recurrence maps every
# 0 < x < _ASYMPTOTIC_MIN into it.
_ROOT_RADIUS = 0.5

# Taylor coefficients of psi about x0: _ROOT_COEFFS[k-1] = psi^(k)(x0) / k!, k = 1..39,
# computed once with
#     mpmath.mp.dps = 50
#     [float(mpmath.psi(k, x0) / mpmath.factorial(k)) for k in range(1, 40)]
# The terms decay like (h / x0)^k (the nearest singularity is the pole at 0); with
# |h| <= 1/2 the first omitted term is below 1e-18 relative to the leading one.
_ROOT_COEFFS = np.array(
    [
        0.9676722454476212,
        -0.4427631689835921,
        0.258499760955651,
        -0.16394270544240652,
        0.10782405069126237,
        -0.07219956125645471,
        0.04880428816414311,
        -0.03316112647484736,
        0.022597648232218104,
        -0.01542476590494896,
        0.010538791616612175,
        -0.007204534386356869,
        0.004926781395729853,
        -0.003369801655439328,
        0.002305126326734928,
        -0.0015769367714301972,
        0.0010788252019162967,
        -0.0007380709389960052,
        0.000504953265834602,
        -0.0003454680251063077,
        0.00023635601564027053,
        -0.00016170622091974803,
        0.0001106337276874741,
        -7.569179582195066e-05,
        5.178575795222081e-05,
        -3.5430070947659604e-05,
        2.424006611860132e-05,
        -1.6584242271854135e-05,
        1.134638458466385e-05,
        -7.762817668462094e-06,
        5.3110609208898636e-06,
        -3.6336507898010456e-06,
        2.486022733129538e-06,
        -1.7008538854332607e-06,
        1.1636675363548843e-06,
        -7.96142543124197e-07,
        5.446941930669446e-07,
        -3.7266161283438227e-07,
        2.549626552021554e-07,
    ]
)

# Radius, in z = x - 1 or z = x - 2, of the power series used for loggamma.
_LGAMMA_RADIUS = 0.25

# Coefficients of log Gamma(2 + z) = sum_{k>=1} a_k z^k:
#     a_1 = 1 - euler_gamma,  a_k = (-1)^k (zeta(k) - 1) / k  for k >= 2,
# computed once with
#     mpmath.mp.dps = 50
#     [float(1 - mpmath.euler)]
#       + [float((-1)**k * (mpmath.zeta(k) - 1) / k) for k in range(2, 21)]
# Since zeta(k) - 1 ~ 2^-k, the terms decay like (z / 2)^k; with |z| <= 1/4 the first
# omitted term is below 1e-18 relative to the leading one.
_LGAMMA2_COEFFS = np.array(
    [
        0.42278433509846713,
        0.3224670334241132,
        -0.0673523010531981,
        0.020580808427784546,
        -0.007385551028673986,
        0.0028905103307415234,
        -0.001192753911703261,
        0.0005096695247430425,
        -0.00022315475845357939,
        9.945751278180853e-05,
        -4.492623673813314e-05,
        2.050721277567069e-05,
        -9.439488275268397e-06,
        4.374866789907488e-06,
        -2.039215753801366e-06,
        9.55141213040742e-07,
        -4.492469198764566e-07,
        2.1207184805554665e-07,
        -1.0043224823968099e-07,
        4.7698101693639804e-08,
    ]
)

# From here on the asymptotic series is used; polygamma shifts smaller arguments up to
# it by recurrence. At x >= 20 eight Bernoulli terms bring the truncation error of the
# series below 1e-18 relative for every n <= 3 (n = 3 needs the most).
_ASYMPTOTIC_MIN = 20.0
_N_ASYMPTOTIC_TERMS = 8

# Exact Bernoulli numbers B_2, B_4, ..., B_16.
_BERNOULLI_EVEN = (
    Fraction(1, 6),
    Fraction(-1, 30),
    Fraction(1, 42),
    Fraction(-1, 30),
    Fraction(5, 66),
    Fraction(-691, 2730),
    Fraction(7, 6),
    Fraction(-3617, 510),
)


def _asymptotic_coefficients() -> np.ndarray:
    """Coefficients of the asymptotic series of ``psi^(n)``, n = 0..3.

    Row ``n``, column ``k - 1`` holds ``B_2k / (2k)`` for ``n = 0`` and
    ``B_2k (2k + n - 1)! / (2k)!`` for ``n >= 1``. They are formed in exact rational
    arithmetic, so each float is correctly rounded.
    """
    table = np.empty((4, _N_ASYMPTOTIC_TERMS))
    for k, b in enumerate(_BERNOULLI_EVEN, start=1):
        table[0, k - 1] = float(b / (2 * k))
        for n in range(1, 4):
            table[n, k - 1] = float(b * Fraction(math.factorial(2 * k + n - 1), math.factorial(2 * k)))
    return table


_ASYMPTOTIC_COEFFS = _asymptotic_coefficients()


@njit(cache=True, fastmath=False, error_model="numpy")
def _horner(coeffs, t):
    """Evaluate ``sum_k coeffs[k] * t**k`` by Horner's rule."""
    acc = 0.0
    for i in range(coeffs.shape[0] - 1, -1, -1):
        acc = acc * t + coeffs[i]
    return acc


@njit(cache=True, fastmath=False, error_model="numpy")
def _is_nonpositive_integer(x):
    """Whether ``x`` is ``0, -1, -2, ...`` or ``-inf`` (a pole of psi)."""
    # np.floor, not math.floor: in numba math.floor returns an int64, which overflows
    # for |x| >= 2**63.
    return x <= 0.0 and x == np.floor(x)


@njit(cache=True, fastmath=False, error_model="numpy")
def _reduce_half(x):
    """Return ``r = x - m`` with integer ``m`` nearest to ``x``, so ``|r| <= 1/2``.

    For a finite non-integer ``x``. The subtraction is exact (``m = 0``, or Sterbenz
    when ``|m| >= 1``), and ``sin(pi*r)`` then keeps full relative accuracy near every
    integer, which ``sin(pi*x)`` would not.
    """
    return x - np.floor(x + 0.5)


@njit(cache=True, fastmath=False, error_model="numpy")
def _shift_count(x):
    """Number of unit steps that bring ``x > 0`` to at least ``_ASYMPTOTIC_MIN``."""
    if x >= _ASYMPTOTIC_MIN:
        return 0
    return int(np.ceil(_ASYMPTOTIC_MIN - x))


@njit(cache=True, fastmath=False, error_model="numpy")
def loggamma(x):
    """Natural logarithm of the absolute value of the gamma function.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``log|Gamma(x)|``; ``inf`` at the poles ``x = 0, -1, -2, ...``.

    Notes
    -----
    Within ``1/4`` of ``x = 1`` or ``x = 2``, where ``log Gamma`` has zeros, a power
    series keeps the relative error at a few ulp; elsewhere ``math.lgamma`` is used.
    """
    z = x - 2.0
    if abs(z) <= _LGAMMA_RADIUS:
        return z * _horner(_LGAMMA2_COEFFS, z)
    z = x - 1.0
    if abs(z) <= _LGAMMA_RADIUS:
        # log Gamma(1+z) = log Gamma(2+z) - log1p(z): the two parts are about 0.42 z
        # and z, so the subtraction loses at most a couple of bits.
        return z * _horner(_LGAMMA2_COEFFS, z) - math.log1p(z)
    return math.lgamma(x)


@njit(cache=True, fastmath=False, error_model="numpy")
def gamma(x):
    """Gamma function.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``Gamma(x)``; overflows to ``inf`` for ``x > 171.6``.
    """
    return math.gamma(x)


@njit(cache=True, fastmath=False, error_model="numpy")
def _digamma_root_series(x):
    """``psi(x)`` for ``|x - x0| <= 1/2`` from the Taylor series about the root ``x0``."""
    # x - _X0_HI is exact (Sterbenz); subtracting _X0_LO then gives x - x0 to about one
    # ulp, hence psi(x) to a few ulp even for the float64 neighbours of the root.
    h = (x - _X0_HI) - _X0_LO
    return h * _horner(_ROOT_COEFFS, h)


@njit(cache=True, fastmath=False, error_model="numpy")
def _digamma_positive(x):
    """``psi(x)`` for ``x > 0`` (see :func:`digamma`)."""
    if x >= _ASYMPTOTIC_MIN:
        t = 1.0 / (x * x)
        series = t * _horner(_ASYMPTOTIC_COEFFS[0], t)
        return math.log(x) - (0.5 / x + series)
    lo = _X0_HI - _ROOT_RADIUS
    if x < lo:
        # 0 < x < 0.96: one step up lands in the root-series interval. There
        # psi(x+1) < 0.4 while 1/x > 1.04, so the subtraction loses about one bit.
        return _digamma_root_series(x + 1.0) - 1.0 / x
    # Step down, psi(x) = psi(x - m) + sum_{k=1}^{m} 1/(x - k), into the root-series
    # interval rather than up to the asymptotic region: stepping up would subtract two
    # numbers of size ~3 to get results of size ~0.4 (losing ~4 bits), whereas here
    # every term but psi(x - m) >= -0.65 is positive and at least 1/(x - 1) >= 0.5, so
    # at most about two bits are lost. x - k is exact because it is a multiple of
    # ulp(x) smaller than x.
    m = int(np.floor(x - lo))
    correction = 0.0
    for k in range(1, m + 1):  # smallest terms first
        correction += 1.0 / (x - k)
    return _digamma_root_series(x - m) + correction


@njit(cache=True, fastmath=False, error_model="numpy")
def digamma(x):
    """Digamma function ``psi(x) = d/dx log Gamma(x)``.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``psi(x)``; nan at the poles ``x = 0, -1, -2, ...``, at ``-inf`` and at nan.
    """
    if math.isnan(x):
        return math.nan
    if x > 0.0:
        return _digamma_positive(x)
    if _is_nonpositive_integer(x):
        return math.nan
    r = _reduce_half(x)
    # Reflection; cot(pi x) = cot(pi r) because cot has period pi.
    return _digamma_positive(1.0 - x) - math.pi / math.tan(math.pi * r)


@njit(cache=True, fastmath=False, error_model="numpy")
def _polygamma_positive(n, x):
    """``psi^(n)(x)`` for ``n`` in 1..3 and ``x > 0`` (see :func:`polygamma`)."""
    n_shift = _shift_count(x)
    # All recurrence terms 1/(x+k)^(n+1) are positive: no cancellation; summing the
    # smallest first keeps the rounding error low.
    correction = 0.0
    for k in range(n_shift - 1, -1, -1):
        u = 1.0 / (x + k)
        p = u * u
        for _ in range(n - 1):
            p *= u
        correction += p
    y = x + n_shift
    u = 1.0 / y
    t = u * u
    un = u  # u^n
    for _ in range(n - 1):
        un *= u
    fact_nm1 = 1.0  # (n-1)!
    for j in range(2, n):
        fact_nm1 *= j
    fact_n = fact_nm1 * n
    asym = un * (fact_nm1 + u * (0.5 * fact_n) + t * _horner(_ASYMPTOTIC_COEFFS[n], t))
    value = asym + fact_n * correction
    return value if n % 2 == 1 else -value


@njit(cache=True, fastmath=False, error_model="numpy")
def polygamma(n, x):
    """Polygamma function ``psi^(n)(x)``, the ``n``-th derivative of digamma.

    Parameters
    ----------
    n : int
        Order, ``0 <= n <= 3``; any other value gives nan.
    x : float
        Argument.

    Returns
    -------
    float
        ``psi^(n)(x)``; nan at the poles ``x = 0, -1, -2, ...``, at ``-inf`` and at nan.
        ``polygamma(0, x)`` is ``digamma(x)``.
    """
    if n == 0:
        return digamma(x)
    if n != 1 and n != 2 and n != 3:
        return math.nan
    if math.isnan(x):
        return math.nan
    m = int(n)
    if x > 0.0:
        return _polygamma_positive(m, x)
    if _is_nonpositive_integer(x):
        return math.nan
    # n-th derivative of psi(1-x) - psi(x) = pi cot(pi x):
    #   psi^(n)(x) = (-1)^n psi^(n)(1-x) - pi^(n+1) cot^(n)(pi x),
    # with cot' = -1/sin^2, cot'' = 2 cos/sin^3, cot''' = -2 (1 + 2 cos^2)/sin^4.
    r = _reduce_half(x)
    s = math.sin(math.pi * r)
    reflected = _polygamma_positive(m, 1.0 - x)
    if m == 1:
        return (math.pi / s) ** 2 - reflected
    c = math.cos(math.pi * r)
    if m == 2:
        return reflected - 2.0 * c * (math.pi / s) ** 3
    return 2.0 * (1.0 + 2.0 * c * c) * (math.pi / s) ** 4 - reflected


@njit(cache=True, fastmath=False, error_model="numpy")
def trigamma(x):
    """Trigamma function ``psi'(x) = polygamma(1, x)``.

    Parameters
    ----------
    x : float
        Argument.

    Returns
    -------
    float
        ``psi'(x)``; nan at the poles ``x = 0, -1, -2, ...``, at ``-inf`` and at nan.
    """
    return polygamma(1, x)


# besseli(n, x) sums the large-argument expansion for |x| >= max(_BESSELI_ASYMPTOTIC_MIN, n^2/2)
# and the power series below that. Where the expansion is used its terms fall below 1e-17 of
# the sum before they start to grow (for every order once x >= 18.75 (n <= 2) to 22 (n = 12),
# and n^2/2 exceeds the corresponding bound for larger n). For x below about n^2 its first
# terms alternate in sign and exceed the sum, by a factor of about exp(n^2 / x); at
# x >= n^2/2 that costs at most a few ulp, less than the series loses there (measured for
# n <= 30; see the module docstring).
_BESSELI_ASYMPTOTIC_MIN = 25.0

# Both sums stop at the first term below this fraction of the partial sum. The terms fall
# off at least geometrically there, so the neglected remainder is of the same order.
_BESSELI_TOL = 1e-17

# The expansion never needs this many terms where it is used (at most 23, at x = 25, for
# every order up to 2000); the cap only bounds the loop.
_BESSELI_MAX_ASYMPTOTIC_TERMS = 200

# Orders up to this form the first term of the power series as a plain product; higher ones
# in a balanced order, rescaled by the power of two below (exact) to stay inside the float64
# range; see _besseli_series.
_BESSELI_PLAIN_ORDERS = 50
_BESSELI_SCALE = 2.0**500
_BESSELI_UNSCALE = 2.0**-500


@njit(cache=True, fastmath=False, error_model="numpy")
def _besseli_series(m, x):
    """``I_m(x)`` for an order ``m >= 0`` and ``x >= 0`` by its power series."""
    h = 0.5 * x
    # First term (x/2)^m / m! = prod_{i=1..m} h/i.
    t = 1.0
    # For h >= 1 the terms may be held multiplied by 2^(500 * scale) (see below).
    scale = 0
    if m <= _BESSELI_PLAIN_ORDERS:
        # In the order i = 1, 2, ... the partial products h^i / i! rise to at most e^h and
        # then fall to the first term, which underflows only for x < 3e-5 (where the sum is
        # below 1.01 times it). The series is used here only for x < m^2 / 2 <= 1250, where
        # e^h is finite.
        for i in range(1, m + 1):
            t *= h / i
    else:
        # Orders in the thousands: e^h would overflow for x > 1420 although I_m(x) is finite,
        # and the first term can be far below the float64 range while the sum is inside it
        # (I_1900(950) = 1.8e-271 has a first term of 1.6e-321). Multiplying the largest
        # remaining factor while the product is below 1 and the smallest while it is not
        # keeps the product between min(1, h/m, result) and max(1, h, result); for h >= 1 it
        # goes below 2^-500 only once every remaining factor is below 1, and is then rescaled
        # by 2^500 (exactly) as often as needed.
        lo = 1
        hi = m
        while lo <= hi:
            if t < 1.0:
                t *= h / lo
                lo += 1
            else:
                t *= h / hi
                hi -= 1
            if t < _BESSELI_UNSCALE and h >= 1.0:
                t *= _BESSELI_SCALE
                scale += 1
    # The first term bounds the sum from below: inf means I_m(x) overflows. For h < 1 the
    # sum is less than e times the first term, so 0 means that it underflows.
    if t == 0.0 or t == math.inf:
        return t
    s = t
    k = 1
    while True:
        # (h/k) * (h/(k+m)) rather than (h*h) / (k(k+m)): a rounded h*h would enter the k-th
        # term k times, a relative error growing like k * 1e-16 (2e-14 at x = 700).
        t *= (h / k) * (h / (k + m))
        s += t
        # Also ends at x = 0 (t == s == 0) and on overflow (t == s == inf).
        if t <= _BESSELI_TOL * s:
            break
        if scale > 0 and s > _BESSELI_SCALE:
            s *= _BESSELI_UNSCALE
            t *= _BESSELI_UNSCALE
            scale -= 1
        k += 1
    for _ in range(scale):  # exact, unless the result underflows
        s *= _BESSELI_UNSCALE
    return s


@njit(cache=True, fastmath=False, error_model="numpy")
def _besseli_asymptotic(m, x):
    """``I_m(x)`` for finite ``x >= max(_BESSELI_ASYMPTOTIC_MIN, m^2/2)`` by the
    large-argument expansion."""
    mu = 4.0 * m * m
    inv8x = 1.0 / (8.0 * x)
    t = 1.0
    s = 1.0
    for k in range(1, _BESSELI_MAX_ASYMPTOTIC_TERMS):
        d = 2.0 * k - 1.0
        t *= (d * d - mu) * inv8x / k
        s += t
        if abs(t) <= _BESSELI_TOL * abs(s):
            break
    scaled = s / math.sqrt(2.0 * math.pi * x)
    if x <= 709.0:
        return math.exp(x) * scaled
    # exp(x) overflows beyond 709.78 while I_m(x) stays finite up to about 713.9: apply
    # e^x in two halves. The result overflows to inf where I_m(x) does.
    e = math.exp(0.5 * x)
    return (e * scaled) * e


@njit(cache=True, fastmath=False, error_model="numpy")
def besseli(n, x):
    """Modified Bessel function of the first kind ``I_n(x)`` of integer order.

    Parameters
    ----------
    n : int
        Order, any integer (``I_{-n} = I_n``); a non-integer float gives nan.
    x : float
        Argument.

    Returns
    -------
    float
        ``I_n(x)``, with ``I_n(-x) = (-1)^n I_n(x)``; ``+-inf`` where it overflows
        (``|x| > 713.9`` for small orders) and at ``x = +-inf``; nan at nan.
    """
    if math.isnan(x) or n != np.floor(n):
        return math.nan
    m = int(abs(n))
    a = abs(x)
    if a == math.inf:
        value = math.inf
    elif a >= _BESSELI_ASYMPTOTIC_MIN and a >= 0.5 * float(m) * float(m):
        value = _besseli_asymptotic(m, a)
    else:
        value = _besseli_series(m, a)
    if x < 0.0 and m % 2 == 1:
        return -value
    return value
