"""The numpy backend's building blocks against plain numpy/scipy.

The products themselves are checked against complex-step derivatives in ``test_nn_products.py``;
here the pieces they are made of are checked where those tests cannot reach: the vectorized
sigmoid over the whole float range (saturation, underflow to subnormals and zero, ±inf, NaN)
against scipy's ``expit`` evaluated in higher precision, the activation coefficients the kernels
use against :meth:`~riemannopt.nn.activations.Activation.d1` and ``curv``, the transposed and
accumulating BLAS calls, and the one-pass finiteness check.
"""

import numpy as np
import pytest
from scipy.special import expit

from riemannopt.nn import MLP
from riemannopt.nn.activations import ACTIVATIONS
from riemannopt.nn.backends import _numpy_kernels as kern

DTYPES = [np.float64, np.float32]


def sigmoid_reference(x):
    """σ(x) in extended precision (long double), so that its error is far below the kernel's."""
    x = np.asarray(x, dtype=np.longdouble)
    with np.errstate(over="ignore", invalid="ignore"):  # both branches are evaluated everywhere
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_sigmoid_kernel_is_within_two_and_a_half_units_in_the_last_place(dtype):
    """Over [−800, 800] (saturation, subnormal results, underflow to 0) and at ±0, ±inf: within
    2.5 ulp of σ in long double (scipy's float64 ``expit`` is 2.04 ulp off on this grid: the
    rounding of 1 + e^{−x} alone can cost one ulp of σ); NaN stays NaN.  With and without a
    bias, on an odd shape."""
    x = np.concatenate([np.linspace(-800, 800, 1_600_001), [0.0, -0.0, np.inf, -np.inf, 1e-300, -1e-300, 36.7, -36.7]])
    x = x.astype(dtype)
    want = sigmoid_reference(x).astype(dtype)
    s = x.reshape(1, -1).copy()
    kern.sigmoid_(s, np.zeros(x.size, dtype=dtype))
    got = s[0]
    spacing = np.spacing(np.abs(want))
    assert np.all(np.abs(got.astype(np.longdouble) - sigmoid_reference(x)) <= 2.5 * spacing)
    # The output-layer variant keeps the logits s + b.
    b = np.linspace(-3, 3, 7).astype(dtype)
    s = np.random.default_rng(0).normal(0, 20, (5, 7)).astype(dtype)
    logits = s + b
    y = np.empty_like(s)
    kern.sigmoid_out(s, b, y)
    np.testing.assert_array_equal(s, logits)
    np.testing.assert_allclose(y, expit(logits.astype(np.float64)), rtol=2 * np.finfo(dtype).eps, atol=0)
    nan = np.full((2, 3), np.nan, dtype=dtype)
    kern.sigmoid_(nan, np.zeros(3, dtype=dtype))
    assert np.isnan(nan).all()


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "linear"])
def test_activation_coefficients_evaluate_like_d1_and_curv(name):
    """(p0 + p1 a)(q0 + q1 a) == φ'(a) and e0 + e1 a == φ''/φ'(a), bit for bit, including
    saturated units (a next to ±1 and 0)."""
    act = ACTIVATIONS[name]()
    p0, p1, q0, q1, e0, e1 = act.coefficients
    a = np.array([-1.0, -1 + 1e-15, -0.3, 0.0, 1e-300, 0.25, 0.5, 1 - 1e-12, 1.0])
    np.testing.assert_array_equal((p0 + p1 * a) * (q0 + q1 * a), act.d1(a))
    np.testing.assert_array_equal(e0 + e1 * a, act.curv(a))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_gemm_takes_transposed_operands_and_accumulates_in_place(dtype):
    """C ← αAB + βC for every combination of C- and Fortran-ordered (transposed) operands, into a
    view of a flat vector at an odd offset; with β = 0 the old contents (NaN) are ignored; an
    operand that is neither C- nor Fortran-contiguous is accepted too."""
    backend = MLP([2, 2], ["sigmoid"], "bce", dtype=dtype).backend
    rng = np.random.default_rng(1)
    tol = dict(rtol=50 * np.finfo(dtype).eps, atol=0)
    for A in (rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype).T):
        for B in (rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype).T):
            flat = np.full(1 + 5 * 4, np.nan, dtype=dtype)
            C = flat[1:].reshape(5, 4)
            assert backend._gemm(A, B, C) is C
            np.testing.assert_allclose(C, A @ B, **tol)
            before = C.copy()
            backend._gemm(A, B, C, alpha=2.0, beta=1.0)
            np.testing.assert_allclose(C, before + 2 * (A @ B), **tol)
            assert np.isnan(flat[0])
    strided = rng.standard_normal((5, 6)).astype(dtype)[:, ::2]
    C = np.empty((5, 4), dtype=dtype)
    np.testing.assert_allclose(backend._gemm(strided, B, C), strided @ B, **tol)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_all_finite(dtype):
    """One NaN or infinity anywhere (also among huge finite values whose sum overflows) is found;
    arrays that are not contiguous take numpy's path."""
    backend = MLP([2, 2], ["sigmoid"], "bce", dtype=dtype).backend
    big = np.full((7, 13), np.finfo(dtype).max, dtype=dtype)
    assert backend.all_finite(big)
    for bad in (np.nan, np.inf, -np.inf):
        for index in ((0, 0), (3, 5), (6, 12)):
            x = big.copy()
            x[index] = bad
            assert not backend.all_finite(x)
            assert backend.all_finite(x[:, ::2]) == (index[1] % 2 == 1)
    assert backend.all_finite(np.zeros(0, dtype=dtype))
