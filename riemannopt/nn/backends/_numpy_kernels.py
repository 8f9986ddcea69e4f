"""Fused element-wise kernels of the numpy backend (numba, cached on disk).

Between two matrix products, every pass of the numpy backend touches each entry of an
``(n, width)`` array a few times; written as numpy expressions each step is a separate pass
over memory with a fresh temporary.  Each kernel here is one pass: the bias add and the
activation of a forward layer, the R and R/S epilogues (``R(a)``, ``S(a)`` from ``R(s)``, ``S(s)``),
the backward epilogue ``φ' ⊙ D(a)`` together with the bias gradient (the column sums), and the
output-layer signals of every loss together with the output bias gradient.

Conventions:

* Every kernel works in the dtype of its arrays (float32 stays float32): constants are cast
  with :func:`typed`, since numba would promote ``float32 * 0.5`` to float64.
* Kernels compile with ``error_model="numpy"``: with numba's default (Python) error model a
  float division checks for zero and raises, which stops LLVM from vectorizing the loop.
* An array updated in place is passed once, as an argument the kernel both reads and writes;
  distinct arguments never overlap (LLVM checks that at run time before taking the vectorized
  loop, and would fall back to scalar code for overlapping ones).
* An element-wise activation is passed as its coefficients ``(p0, p1, q0, q1, e0, e1)``, with
  ``φ'(s) = (p0 + p1 a)(q0 + q1 a)`` and ``φ''(s)/φ'(s) = e0 + e1 a`` in terms of ``a = φ(s)``
  (:attr:`riemannopt.nn.activations.Activation.coefficients`); with coefficients among 0, ±1
  and ±2 the kernels round exactly like the expressions of :mod:`riemannopt.nn.activations`.
"""

import sys

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

from riemannopt._numba_cache import compiles_whole, heal_numba_cache

__all__ = [
    "sigmoid_",
    "sigmoid_out",
    "r_epilogue_",
    "rs_epilogue_",
    "backward_epilogue_",
    "bce_gradient_",
    "bce_fisher_",
    "bce_connection_",
    "squared_gradient_",
    "squared_fisher_",
    "squared_connection_",
    "softmax_gradient_",
    "softmax_fisher_",
    "softmax_connection_",
    "all_finite",
]


# Compilations hold Ctrl-C back (compiles_whole): an interrupted one breaks the cache write.
kernel = compiles_whole(njit(cache=True, error_model="numpy"))
#: The sigmoid kernels also let LLVM fuse ``p·r + c`` into FMAs: the exp polynomial is one long
#: chain of them, which then runs in half the latency (and rounds once per step instead of twice).
sigmoid_kernel = compiles_whole(njit(cache=True, error_model="numpy", fastmath={"contract"}))


def typed(value, like):
    """``value`` as a scalar of ``like``'s type (a scalar's, or an array's dtype), inside jitted code."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(typed, inline="always")
def _typed(value, like):
    cast = as_dtype(like.dtype if isinstance(like, types.Array) else like).type
    return lambda value, like: cast(value)


# -- exp(u) for u ≤ 0, vectorizable ------------------------------------------------------------
#
# numba calls libm's scalar exp, which keeps LLVM from vectorizing any loop that uses it (numba
# has vector versions only with Intel's SVML, which riemannopt does not depend on).  The sigmoid needs only e^u with u = −|s| ≤ 0; this
# version is plain arithmetic that LLVM vectorizes.  Cody–Waite reduction u = k ln 2 + r with
# |r| ≤ ½ ln 2 (ln 2 split in a head with trailing zero bits, so k·head is exact, and a tail),
# e^r by its Taylor polynomial of degree 13 (float64: truncation r¹⁴/14! < 5e-18) or 7
# (float32: r⁸/8! < 6e-9), then the scaling by 2^k in two halves, 2^⌊k/2⌋ 2^(k−⌊k/2⌋), each a
# normal number, so results in the subnormal range are rounded once, like any other.


@intrinsic
def _float_from_bits(typingctx, bits):
    result = {types.int64: types.float64, types.int32: types.float32}.get(bits)
    if result is None:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(bits), codegen


@njit(inline="always")
def _exp_nonpositive_64(u):
    if u < -746.0:  # e^u underflows to 0 below −745.13; a NaN passes through
        u = -746.0
    kf = np.floor(u * 1.4426950408889634 + 0.5)
    if kf != kf:  # NaN: keep the integer conversion defined; the polynomial carries the NaN
        kf = 0.0
    r = (u - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k = np.int64(kf)
    half = k >> 1
    return p * _float_from_bits(np.int64((half + 1023) << 52)) * _float_from_bits(np.int64((k - half + 1023) << 52))


@njit(inline="always")
def _exp_nonpositive_32(u):
    if u < np.float32(-104.0):  # e^u underflows to 0 below −103.98
        u = np.float32(-104.0)
    kf = np.floor(u * np.float32(1.44269504) + np.float32(0.5))
    if kf != kf:
        kf = np.float32(0.0)
    r = (u - kf * np.float32(0.693359375)) - kf * np.float32(-2.12194440e-4)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    k = np.int32(kf)
    half = np.int32(k >> 1)
    low = _float_from_bits(np.int32((half + 127) << 23))
    return p * low * _float_from_bits(np.int32((k - half + 127) << 23))


def exp_nonpositive(u):
    """``e^u`` for ``u ≤ 0`` (or NaN) in ``u``'s precision, inside jitted code."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(exp_nonpositive, inline="always")
def _exp_nonpositive(u):
    if u == types.float64:
        return lambda u: _exp_nonpositive_64(u)
    if u == types.float32:
        return lambda u: _exp_nonpositive_32(u)
    return None


@njit(inline="always")
def _sigmoid(x):
    """``1 / (1 + e^{−x})`` from ``z = e^{−|x|}``: ``1/(1 + z)`` or ``z/(1 + z)``, never overflowing."""
    one = typed(1.0, x)
    z = exp_nonpositive(-abs(x))
    num = z
    if x >= 0:
        num = one
    return num / (one + z)


# -- forward layer ------------------------------------------------------------------------------


@sigmoid_kernel
def sigmoid_(s, b):
    """``s ← sigmoid(s + b)`` row-wise broadcast of the bias ``b`` (a hidden layer)."""
    n, m = s.shape
    for i in range(n):
        for j in range(m):
            s[i, j] = _sigmoid(s[i, j] + b[j])


@sigmoid_kernel
def sigmoid_out(s, b, y):
    """``s ← s + b`` and ``y ← sigmoid(s)`` (the output layer keeps its logits)."""
    n, m = s.shape
    for i in range(n):
        for j in range(m):
            x = s[i, j] + b[j]
            s[i, j] = x
            y[i, j] = _sigmoid(x)


# -- R and R/S epilogues of a hidden layer ------------------------------------------------------


@njit(inline="always")
def _d1(a, coef):
    p0, p1, q0, q1 = coef[0], coef[1], coef[2], coef[3]
    return (p0 + p1 * a) * (q0 + q1 * a)


@njit(inline="always")
def _curv(a, coef):
    return coef[4] + coef[5] * a


@kernel
def r_epilogue_(a, r, c, coef):
    """``r ← φ'(s) ⊙ (r + c)``: ``R(a)`` from the layer's products ``r`` and the bias direction ``c``."""
    n, m = r.shape
    for i in range(n):
        for j in range(m):
            r[i, j] = _d1(a[i, j], coef) * (r[i, j] + c[j])


@kernel
def rs_epilogue_(a, r, s, c, coef, has_s):
    """``r ← R(a) = φ' ⊙ R(s)`` and ``s ← S(a) = φ' ⊙ ((φ''/φ') ⊙ R(s)² + S(s))``, ``R(s) = r + c``.

    On entry ``s`` holds ``S(s)``, or anything when ``has_s`` is false (``S(s) = 0``: the first
    layer, whose input does not depend on θ).
    """
    n, m = r.shape
    for i in range(n):
        for j in range(m):
            x = a[i, j]
            d1 = _d1(x, coef)
            rs = r[i, j] + c[j]
            t = _curv(x, coef) * rs * rs
            if has_s:
                t += s[i, j]
            r[i, j] = d1 * rs
            s[i, j] = d1 * t


# -- backward epilogue and bias gradients --------------------------------------------------------


@kernel
def backward_epilogue_(a, d, coef, gb):
    """``d ← φ'(s) ⊙ d`` (``D(s)`` from ``D(a)``) and ``gb ← Σ_rows d`` (the bias gradient)."""
    n, m = d.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            x = _d1(a[i, j], coef) * d[i, j]
            d[i, j] = x
            gb[j] += x


# -- output signals (stable forms of riemannopt.nn.losses), scaled, with the bias gradient -----


@kernel
def bce_gradient_(y, t, scale, d, gb):
    """``d ← scale (y − t)`` and ``gb ← Σ_rows d`` (binary cross-entropy, sigmoid output)."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            x = (y[i, j] - t[i, j]) * scale
            d[i, j] = x
            gb[j] += x


@kernel
def bce_fisher_(y, rs, scale, gb):
    """``rs ← scale y(1 − y) R(s)`` and ``gb ← Σ_rows rs``."""
    n, m = y.shape
    one = typed(1.0, scale)
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            p = y[i, j] * (one - y[i, j])
            x = p * rs[i, j] * scale
            rs[i, j] = x
            gb[j] += x


@kernel
def bce_connection_(y, rs, ss, has_ss, scale, gb):
    """``rs ← scale y(1 − y)((½ − y) R(s)² + S(s))`` and ``gb ← Σ_rows rs`` (``S(s) = 0`` unless
    ``has_ss``)."""
    n, m = y.shape
    one, half = typed(1.0, scale), typed(0.5, scale)
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = y[i, j]
            r = rs[i, j]
            h = (half - v) * (r * r)
            if has_ss:
                h += ss[i, j]
            x = (v * (one - v)) * h * scale
            rs[i, j] = x
            gb[j] += x


@kernel
def squared_gradient_(y, t, coef, scale, d, gb):
    """``d ← scale φ'(s) (y − t)`` (``scale`` includes ``1/σ²``) and ``gb ← Σ_rows d``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            x = _d1(y[i, j], coef) * ((y[i, j] - t[i, j]) * scale)
            d[i, j] = x
            gb[j] += x


@kernel
def squared_fisher_(y, rs, coef, scale, gb):
    """``rs ← scale φ' ⊙ (φ' ⊙ R(s))`` and ``gb ← Σ_rows rs``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            d1 = _d1(y[i, j], coef)
            x = d1 * ((d1 * rs[i, j]) * scale)
            rs[i, j] = x
            gb[j] += x


@kernel
def squared_connection_(y, rs, ss, has_ss, coef, scale, gb):
    """``rs ← scale φ' ⊙ S(y)``, ``S(y) = φ' ⊙ ((φ''/φ') R(s)² + S(s))``; ``gb ← Σ_rows rs``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = y[i, j]
            d1 = _d1(v, coef)
            r = rs[i, j]
            t = _curv(v, coef) * r * r
            if has_ss:
                t += ss[i, j]
            x = d1 * ((d1 * t) * scale)
            rs[i, j] = x
            gb[j] += x


@kernel
def softmax_gradient_(y, t, scale, d, gb):
    """``d ← scale (y Σ t − t)`` row by row (softmax cross-entropy) and ``gb ← Σ_rows d``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        total = typed(0.0, scale)
        for j in range(m):
            total += t[i, j]
        for j in range(m):
            x = (y[i, j] * total - t[i, j]) * scale
            d[i, j] = x
            gb[j] += x


@kernel
def softmax_fisher_(y, rs, scale, gb):
    """``rs ← scale y ⊙ (R(s) − ⟨y, R(s)⟩)`` row by row and ``gb ← Σ_rows rs``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        dot = typed(0.0, scale)
        for j in range(m):
            dot += y[i, j] * rs[i, j]
        for j in range(m):
            x = y[i, j] * (rs[i, j] - dot) * scale
            rs[i, j] = x
            gb[j] += x


@kernel
def softmax_connection_(y, rs, ss, has_ss, scale, gb):
    """``rs ← scale J_softmaxᵀ (S(s) + ½ r̃²)`` with ``r̃ = R(s) − ⟨y, R(s)⟩``; ``gb ← Σ_rows rs``."""
    n, m = y.shape
    half = typed(0.5, scale)
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        dot = typed(0.0, scale)
        for j in range(m):
            dot += y[i, j] * rs[i, j]
        for j in range(m):
            rt = rs[i, j] - dot
            h = half * (rt * rt)
            if has_ss:
                h += ss[i, j]
            rs[i, j] = h  # h, then J_softmaxᵀ h = y ⊙ (h − ⟨y, h⟩) in place
        dot = typed(0.0, scale)
        for j in range(m):
            dot += y[i, j] * rs[i, j]
        for j in range(m):
            x = y[i, j] * (rs[i, j] - dot) * scale
            rs[i, j] = x
            gb[j] += x


# -- checks -------------------------------------------------------------------------------------


@compiles_whole(njit(cache=True, error_model="numpy", fastmath={"reassoc"}))
def all_finite(x):
    """Whether every entry of the 1-d array ``x`` is finite, in one pass without a temporary.

    ``0·x`` is ±0 for a finite ``x`` and NaN for ±inf or NaN, so the sum is NaN exactly when
    some entry is not finite; reassociating a sum of zeros and NaNs cannot change that, so the
    reduction may be vectorized (no ``nnan``/``ninf`` flags, which would fold ``0·x`` to 0).
    """
    zero = typed(0.0, x)
    acc = zero
    for i in range(x.size):
        acc += x[i] * zero
    return acc == zero


# Damaged cache files would break every later process: checked once, at import, before any call
# (a few milliseconds).
heal_numba_cache(sys.modules[__name__])
