"""The numpy backend's building blocks against plain numpy/scipy.

The products themselves are checked against complex-step derivatives in ``test_nn_products.py``;
here the pieces they are made of are checked where those tests cannot reach: the vectorized
sigmoid over the whole float range (saturation, underflow to subnormals and zero, ±inf, NaN)
against scipy's ``expit`` evaluated in higher precision, the kernels' compiled activations
against the array methods :meth:`~riemannopt.nn.activations.Activation.d1` and ``curv`` (bit
for bit) and those against the same formulas in extended precision (every activation of the
registry, at saturated units), a new activation class taken up by the kernels without being
named anywhere, the transposed and accumulating BLAS calls, and the one-pass finiteness check.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import expit

from riemannopt.nn import MLP
from riemannopt.nn.activations import ACTIVATIONS, Activation, scalar_lib
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


ELEMENTWISE = [name for name, cls in ACTIVATIONS.items() if cls.elementwise]


def saturated_outputs(act, dtype):
    """Outputs ``a = φ(s)`` over ``s`` in [−40, 40], dense where units saturate, as a matrix."""
    s = np.concatenate([np.linspace(-40, 40, 801), np.geomspace(1e-3, 40, 200), -np.geomspace(1e-3, 40, 200)])
    s = np.concatenate([s, [0.0, -0.0]]).astype(dtype)
    return act.value(s.copy()).reshape(3, -1)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivatives_are_accurate_where_units_saturate(name, dtype):
    """φ' and φ''/φ' of every element-wise activation, as functions of ``a``, within 4 units in
    the last place of the same formulas in extended precision at the same ``a``, including
    saturated units: written in a form without cancellation (``(1 − a)(1 + a)`` for tanh,
    where ``1 − a²`` is off by up to 5e-5 in float32)."""
    act = ACTIVATIONS[name]()
    a = saturated_outputs(act, dtype)
    exact = ACTIVATIONS[name].scalar(np.longdouble, scalar_lib(np.exp, np))
    for got, want in (
        (act.d1(a), exact.d1(a.astype(np.longdouble))),
        (act.curv(a), exact.curv(a.astype(np.longdouble))),
    ):
        want = np.broadcast_to(want, a.shape)
        assert got.dtype == dtype and got.shape == a.shape
        err = np.abs(got.astype(np.longdouble) - want)
        assert np.all(err <= 4 * np.spacing(np.abs(want).astype(dtype)).astype(np.longdouble)), name


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_kernels_compile_the_activation_of_its_class(name, dtype):
    """The R, R/S and backward epilogues, which compile the class's scalar forms, give bit for
    bit what its array methods give, at saturated and unsaturated units; the forward kernel
    (used for activations with ``fused_value``) is ``φ`` of the bias-shifted input."""
    act = ACTIVATIONS[name]()
    arg = kern.compiled(act)
    a = saturated_outputs(act, dtype)
    rng = np.random.default_rng(3)
    r0, s0 = rng.standard_normal(a.shape).astype(dtype), rng.standard_normal(a.shape).astype(dtype)
    c = rng.standard_normal(a.shape[1]).astype(dtype)
    rs = r0 + c
    r = r0.copy()
    kern.r_epilogue_(a, r, c, arg)
    np.testing.assert_array_equal(r, act.d1(a) * rs)
    for has_s in (True, False):
        r, s = r0.copy(), s0.copy()
        kern.rs_epilogue_(a, r, s, c, arg, has_s)
        t = act.curv(a) * rs * rs
        if has_s:
            t += s0
        np.testing.assert_array_equal(r, act.d1(a) * rs)
        np.testing.assert_array_equal(s, act.d1(a) * t)
    d, gb = r0.copy(), np.empty(a.shape[1], dtype=dtype)
    kern.backward_epilogue_(a, d, arg, gb)
    np.testing.assert_array_equal(d, act.d1(a) * r0)
    np.testing.assert_allclose(gb, d.astype(np.float64).sum(axis=0), rtol=1e-5 if dtype == np.float32 else 1e-12)
    x, b = rng.normal(0, 5, a.shape).astype(dtype), rng.normal(0, 5, a.shape[1]).astype(dtype)
    s = x.copy()
    kern.forward_(s, b, arg)
    np.testing.assert_allclose(s, act.value((x + b).astype(np.float64)), rtol=4 * np.finfo(dtype).eps, atol=0)


class Softsign(Activation):
    """``s / (1 + |s|)``: an activation the package does not know, defined as a contributor would."""

    name = "softsign"

    @staticmethod
    def scalar(ftype, lib):
        one, two = ftype(1), ftype(2)

        def value(s):
            return s / (one + abs(s))

        def d1(a):
            u = one - abs(a)
            return u * u

        def curv(a):
            return -two * math.copysign(one, a) * (one - abs(a))

        return SimpleNamespace(value=value, d1=d1, curv=curv)

    def value(self, s):
        s /= 1 + np.abs(s)
        return s


def test_a_new_activation_class_is_all_the_backend_needs(monkeypatch):
    """An activation class entered in the registry (and named nowhere else) runs in a network on
    the numpy backend, through the kernels compiled from its scalar forms, against the network
    written out in numpy: the loss, the gradient (complex step), the Fisher product ``Jᵀ J v / n``
    (``J`` by complex steps) and the connection ``Jᵀ S_v(y) / n`` (``S_v(y)`` by central
    differences) of the squared loss."""
    monkeypatch.setitem(ACTIVATIONS, "softsign", Softsign)
    net = MLP([3, 5, 4, 2], ["softsign", "softsign", "linear"], "squared")
    rng = np.random.default_rng(4)
    X, T = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    theta, v = net.init(0, scheme="gaussian"), rng.standard_normal(net.n_params)

    def outputs(th):  # complex-safe: |s| as sqrt(s²)
        a = X
        for (W, b), act in zip(net.layout.views(th), net.activations):
            s = a @ W.T + b
            a = s if act == "linear" else s / (1 + np.sqrt(s * s))
        return a

    def loss(th):
        return 0.5 * np.mean(np.sum((outputs(th) - T) ** 2, axis=1))

    h = 1e-30
    J = np.stack([outputs(theta + 1j * h * e).imag.ravel() / h for e in np.eye(net.n_params)], axis=1)
    step = 1e-4
    S = (outputs(theta + step * v) - 2 * outputs(theta) + outputs(theta - step * v)).ravel() / step**2
    state = net.linearize(theta, X)
    n = len(X)
    assert state.loss(T) == pytest.approx(loss(theta), rel=1e-14)
    assert state.gradient(T) @ v == pytest.approx(loss(theta + 1j * h * v).imag / h, rel=1e-12)
    np.testing.assert_allclose(state.fisher_vp(v), J.T @ (J @ v) / n, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state.connection_vp(v), J.T @ S / n, rtol=1e-5, atol=1e-8)


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
