"""Every kernel of the CUDA backend against numpy, on whatever CUDA device numba has.

A plain ``pytest`` run does not collect this file (its name does not start with ``test_``):
``test_simulator.py`` runs it in a pytest process of its own under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1`` has to be set before numba is imported), together with the
``cuda`` cases of ``tests/nn/test_backend_conformance.py``; on a machine with a GPU,
``pytest tests/nn/cuda/kernel_checks.py`` runs it on the GPU.

References: numpy formulas evaluated in float64 for the GEMMs, the layer passes and the bias
reductions; the numpy backend (itself checked against complex-step derivatives) for whole
products.  Tolerances, relative and norm-wise: float64 1e-12, float32 1e-5.  Shapes are tiny and
odd (1, 5, 7, 9, 11, 13, 37), so that they cross the edges of the simulator's 8-wide tiles and
4-deep steps, plus a few shapes that cross the GPU tiles (:data:`config.GPU`).
"""

import ctypes
import sys
import types

import numpy as np
import pytest
from numba import cuda

from riemannopt.errors import BackendUnavailableError, InputError, MethodError
from riemannopt.nn import MLP
from riemannopt.nn.activations import ACTIVATIONS
from riemannopt.nn.backends.cuda import config
from riemannopt.nn.backends.cuda import gemm as gemm_module
from riemannopt.nn.backends.cuda.device import ACT_CODES, IDENTITY
from riemannopt.nn.backends.cuda.gemm import NumbaGemm, make_gemm
from riemannopt.nn.backends.cuda.layers import FWD, R_KEEP, RS, LayerForward, R
from riemannopt.nn.backends.cuda.signals import Signals
from riemannopt.nn.backends.cuda.vectors import CudaVectors

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])


def close(got, want, dtype):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(np.linalg.norm(want), np.finfo(dtype).tiny)
    err = np.linalg.norm(got - want) / scale
    assert err <= TOL[dtype], f"relative difference {err:.2e}"


def dev(a):
    return cuda.to_device(np.ascontiguousarray(a))


# -- GEMMs -----------------------------------------------------------------------------------

SHAPES = [(9, 11, 13), (7, 5, 9), (1, 3, 2), (13, 1, 7)]  # (M, N, K)


@DTYPES
@pytest.mark.parametrize("layout", ["nn", "nt", "tn"])
@pytest.mark.parametrize("splits", [None, 3], ids=["auto-split", "split3"])
def test_gemm(dtype, layout, splits):
    """``C = α op(A) op(B) + β C`` for each layout, with the inner dimension split across
    blocks or not (the split path sums partial products in a second kernel)."""
    rng = np.random.default_rng(0)
    gemm = NumbaGemm(dtype)
    ta, tb = layout[0] == "t", layout[1] == "t"
    for M, N, K in SHAPES:
        A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
        B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
        C0 = rng.standard_normal((M, N)).astype(dtype)
        C = dev(C0)
        gemm(dev(A), dev(B), C, ta, tb, alpha=1.5, beta=-0.5, splits=splits)
        opA, opB = (A.T if ta else A).astype(np.float64), (B.T if tb else B).astype(np.float64)
        close(C.copy_to_host(), 1.5 * opA @ opB - 0.5 * C0, dtype)


@DTYPES
@pytest.mark.parametrize("act", sorted(ACT_CODES))
def test_gemm_vjp_epilogue(dtype, act):
    """The NN product with ``φ'(Z)`` applied (the backward step below a layer), split or not."""
    rng = np.random.default_rng(1)
    gemm = NumbaGemm(dtype)
    M, N, K = 9, 7, 5
    A, B = rng.standard_normal((M, K)).astype(dtype), rng.standard_normal((K, N)).astype(dtype)
    Z = rng.uniform(-0.9, 0.9, (M, N)).astype(dtype)  # a layer output: inside (−1, 1) and (0, 1)
    d1 = ACTIVATIONS[act]().d1(Z).astype(np.float64)
    for splits in (None, 2):
        C = cuda.device_array((M, N), dtype=dtype)
        gemm(dev(A), dev(B), C, act=ACT_CODES[act], Z=dev(Z), splits=splits)
        close(C.copy_to_host(), (A.astype(np.float64) @ B) * d1, dtype)


@DTYPES
def test_gemm_gpu_tiles(dtype):
    """The GPU tiling (:data:`config.GPU`, 256 threads, 8×4 or 4×4 per thread), on shapes that
    cross its tile edges in every direction."""
    rng = np.random.default_rng(2)
    gemm = NumbaGemm(dtype, config.GPU)
    bm, bn = gemm.tiles.bm, gemm.tiles.bn
    M, N, K = bm + 3, bn + 1, 11
    for ta, tb in ((False, False), (False, True), (True, False)):
        A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
        B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
        C = cuda.device_array((M, N), dtype=dtype)
        gemm(dev(A), dev(B), C, ta, tb)
        close(C.copy_to_host(), (A.T if ta else A).astype(np.float64) @ (B.T if tb else B), dtype)


# -- the layer passes --------------------------------------------------------------------------


def layer_reference(mode, inputs, act, last, A, W, V, bias, O0):
    """The outputs of one layer pass (module table of :mod:`~riemannopt.nn.backends.cuda.layers`)
    in float64 numpy, with the array methods of the activation's class: ``A`` the input stack
    ``[a, R(a), S(a)/2]``, ``O0`` the stored output ``a'`` of a hidden layer."""
    A, W, V, bias = (np.asarray(x, dtype=np.float64) for x in (A, W, V, bias))
    phi = ACTIVATIONS[act]()
    if mode == FWD:
        s = A[0] @ W.T + bias
        return {0: s if last else phi.value(s.copy())}
    rs = A[0] @ V.T + bias + (A[1] @ W.T if inputs >= 2 else 0)
    ss_half = A[1] @ V.T + A[2] @ W.T if inputs == 3 else np.zeros_like(rs)
    if last:
        return {0: rs, 1: 2 * ss_half} if mode == RS else {0: rs}
    a = O0.astype(np.float64)
    d1, curv = phi.d1(a), phi.curv(a)
    out = {1: d1 * rs}
    if mode == R_KEEP:
        out[2] = rs
    if mode == RS:
        out[2] = d1 * (0.5 * curv * rs * rs + ss_half)
    return out


LAYER_CASES = [(FWD, 1), (R, 1), (R, 2), (R_KEEP, 2), (RS, 1), (RS, 3)]


@DTYPES
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "gemm+epilogue"])
@pytest.mark.parametrize("act", sorted(ACT_CODES))
def test_layer_passes(dtype, fused, act):
    """Forward, R, R (keeping R(s)) and R/S passes of a hidden and of an output layer, as one
    fused kernel and as GEMMs followed by the epilogue kernel (the cuBLAS path's structure)."""
    rng = np.random.default_rng(3)
    tuning = config.default_tuning()
    layer = LayerForward(NumbaGemm(dtype, tuning), np.dtype(dtype), tuning, fused=fused)
    n, k, m = 9, 7, 11
    A = rng.standard_normal((3, n, k)).astype(dtype)
    W, V = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((m, k)).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    O0 = rng.uniform(-0.9, 0.9, (n, m)).astype(dtype)
    for mode, inputs in LAYER_CASES:
        for last in (False, True):
            if mode == R_KEEP and last:
                continue
            O_host = np.zeros((3, n, m), dtype=dtype)
            O_host[0] = O0
            O = dev(O_host)
            code = IDENTITY if last else ACT_CODES[act]
            layer(inputs, dev(A if inputs > 1 else A[:1]), dev(W), dev(V), dev(bias), O, mode, code, last)
            got = O.copy_to_host()
            for slot, want in layer_reference(mode, inputs, act, last, A, W, V, bias, O0).items():
                close(got[slot], want, dtype)


@DTYPES
def test_layer_gpu_tiles(dtype):
    """The fused R/S layer kernel with the GPU tiling, on a shape crossing its tiles."""
    rng = np.random.default_rng(4)
    tuning = config.GPU
    layer = LayerForward(NumbaGemm(dtype, tuning), np.dtype(dtype), tuning, fused=True)
    n, k, m = config.GPU.layer64.bm + 1, 9, config.GPU.layer64.bn + 2
    A = rng.standard_normal((3, n, k)).astype(dtype)
    W, V = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((m, k)).astype(dtype)
    bias = rng.standard_normal(m).astype(dtype)
    O0 = rng.uniform(0.05, 0.95, (n, m)).astype(dtype)
    O_host = np.zeros((3, n, m), dtype=dtype)
    O_host[0] = O0
    O = dev(O_host)
    layer(3, dev(A), dev(W), dev(V), dev(bias), O, RS, ACT_CODES["sigmoid"], False)
    got = O.copy_to_host()
    for slot, want in layer_reference(RS, 3, "sigmoid", False, A, W, V, bias, O0).items():
        close(got[slot], want, dtype)


# -- saturated units -----------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("sign", [1, -1], ids=["a-to-1", "a-to-minus-1"])
def test_tanh_derivative_at_saturated_units(dtype, sign):
    """Where tanh units saturate — pre-activations of magnitude 4 to 20, so that ``1 − |a|``
    runs from 7e-4 down to ``a = ±1`` exactly (beyond 19 in float64, 9 in float32) — the
    products through ``φ'`` agree with the numpy backend entry by entry, to a few units in the
    last place: ``φ' = (1 − a)(1 + a)``, the factored form of :mod:`riemannopt.nn.activations`.
    ``1 − a²`` cancels there: it is off by up to 2e-9 (float64) and 5e-5 (float32) relative,
    which this test fails.

    The first layer's gradient, Fisher and connection blocks are ``φ'(s_j)`` times a factor
    shared by the units (one input ``x = 1``, one output, parameters and direction of one sign,
    so no sum cancels), so each entry carries ``φ'``'s own error.  Both backends get the same
    ``a``: the pre-activations ``s = x·w`` are exact, and the device's stored ``a`` is
    overwritten with numpy's, since tanh itself may differ in the last bit between numpy and
    the device, and ``φ'`` inherits that bit's error at saturation whatever its form.
    """
    s = sign * np.linspace(4.0, 20.0, 33)
    sizes = [1, s.size, 1]
    ref = MLP(sizes, ["tanh", "linear"], "squared", dtype=dtype)
    net = MLP(sizes, ["tanh", "linear"], "squared", dtype=dtype, backend="cuda")
    rng = np.random.default_rng(12)
    w2 = rng.uniform(0.5, 1.5, s.size)
    theta = np.concatenate([s, np.zeros(s.size), w2, [0.25]]).astype(dtype)
    v = np.concatenate([rng.uniform(0.5, 1.5, 2 * s.size), np.zeros(s.size), [0.5]]).astype(dtype)
    X, T = np.ones((1, 1), dtype=dtype), np.full((1, 1), -3.0 * sign, dtype=dtype)
    want_state, got_state = ref.linearize(theta, X), net.linearize(theta, X)
    a = want_state.forward.a[1]
    assert np.abs(a).min() > 0.999
    got_state.forward.slots[1][0].copy_to_device(np.ascontiguousarray(a))
    first = slice(0, 2 * s.size)  # W_1 and b_1
    rtol = {np.float64: 1e-13, np.float32: 2e-6}[dtype]
    products = {
        "gradient": lambda st: st.gradient(T),
        "fisher_vp": lambda st: st.fisher_vp(v),
        "connection_vp": lambda st: st.connection_vp(v),
    }
    for name, product in products.items():
        want = product(want_state)[first]
        got = net.backend.to_numpy(product(got_state))[first]
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=name)


# -- bias reductions ---------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("tuning", [None, config.GPU], ids=["default", "gpu-tiles"])
def test_column_sums(dtype, tuning):
    """``D(b) = Σ_rows D(s)`` and ``n Σ_rows D(s)²``, split over several row blocks."""
    rng = np.random.default_rng(5)
    signals = Signals(dtype, tuning or config.default_tuning())
    for n, m in ((37, 11), (1, 3), (300, 35)):
        D = rng.standard_normal((n, m)).astype(dtype)
        out, out_sq = cuda.device_array(m, dtype=dtype), cuda.device_array(m, dtype=dtype)
        P = cuda.device_array(2 * signals.colsum_blocks(n) * m, dtype=dtype)
        signals.colsum(dev(D), out, P, out_sq, float(n))
        D64 = D.astype(np.float64)
        close(out.copy_to_host(), D64.sum(axis=0), dtype)
        close(out_sq.copy_to_host(), n * (D64**2).sum(axis=0), dtype)


# -- arrays in and out -----------------------------------------------------------------------


def test_asarray_keeps_device_arrays_and_converts_the_rest():
    """A device array of the right type is used in place; host data and other types are
    converted once; a non-numeric argument is an InputError naming it."""
    ops = CudaVectors(np.dtype(np.float64))
    d = dev(np.arange(5.0))
    assert ops.asarray(d, "x") is d
    f32 = dev(np.arange(5, dtype=np.float32))
    converted = ops.asarray(f32, "x")
    assert converted.dtype == np.float64 and np.array_equal(ops.to_numpy(converted), np.arange(5.0))
    assert np.array_equal(ops.to_numpy(ops.asarray([[1, 2], [3, 4]], "x")), [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(InputError, match="X must be numeric"):
        ops.asarray(["a", "b"], "X")


def test_products_take_and_return_device_arrays():
    """θ, X, v given as device arrays flow through without a host copy, and products come back
    as device arrays equal to those from host inputs."""
    net = MLP([4, 5, 3], ["tanh", "sigmoid"], "bce", backend="cuda")
    rng = np.random.default_rng(6)
    theta, X = net.init(0, scheme="gaussian"), rng.standard_normal((7, 4))
    v = rng.standard_normal(net.n_params)
    got = net.connection_vp(dev(theta), dev(X), dev(v))
    assert getattr(got, "__cuda_ndarray__", False) and got.dtype == np.float64
    close(net.backend.to_numpy(got), net.backend.to_numpy(net.connection_vp(theta, X, v)), np.float64)


@pytest.mark.parametrize("loss", ["squared", "softmax_ce"])
def test_term3_broadcasts_lambda(loss):
    """``lam`` of Algorithm 3 as a scalar, a row, a column or a full matrix, against numpy."""
    acts = ["tanh", "linear" if loss == "squared" else "softmax"]
    ref, net = MLP([4, 5, 3], acts, loss), MLP([4, 5, 3], acts, loss, backend="cuda")
    rng = np.random.default_rng(9)
    X, theta, v = rng.standard_normal((6, 4)), ref.init(0, scheme="gaussian"), rng.standard_normal(ref.n_params)
    for lam in (1.5, np.array([0.5, 1.0, 2.0]), rng.uniform(0.5, 2, (6, 1)), rng.uniform(0.5, 2, (6, 3))):
        close(net.backend.to_numpy(net.term3(theta, X, v, lam)), ref.term3(theta, X, v, lam), np.float64)


def test_forward_memory_is_pooled_and_outputs_outlive_it():
    """A dropped forward pass gives its arena back and the next one of the same size reuses
    it; outputs keep their own memory, so they survive that reuse."""
    net = MLP([4, 6, 3], ["tanh", "sigmoid"], "bce", backend="cuda")
    ref = MLP([4, 6, 3], ["tanh", "sigmoid"], "bce")
    rng = np.random.default_rng(8)
    X = rng.standard_normal((5, 4))
    t1, t2 = ref.init(1, scheme="gaussian"), ref.init(2, scheme="gaussian")
    be = net.backend
    y1 = net.predict(t1, X)  # its forward pass is garbage now
    assert len(be._arenas) == 1
    arena = be._arenas[0]
    fwd = be.forward(be.asarray(t2, "theta"), be.asarray(X, "X"))
    assert fwd._arena is arena and not be._arenas
    close(be.to_numpy(fwd.y), ref.predict(t2, X), np.float64)
    close(be.to_numpy(y1), ref.predict(t1, X), np.float64)
    del fwd
    assert be._arenas == [arena]


# -- cuBLAS through CuPy: the binding's arguments, with a stand-in for the library ------------


def _fake_cupy(monkeypatch, broken=False):
    """Install stand-ins for ``cupy.cuda.device`` and ``cupy_backends.cuda.libs.cublas`` whose
    ``sgemm``/``dgemm`` follow the reference BLAS (column-major, leading dimensions checked)
    on host memory: under the simulator device arrays live on the host.  ``broken`` ignores
    α, as a binding reading the wrong scalar would.  Returns the list of recorded calls."""
    calls = []
    cublas = types.ModuleType("cupy_backends.cuda.libs.cublas")
    cublas.CUBLAS_OP_N, cublas.CUBLAS_OP_T, cublas.CUBLAS_POINTER_MODE_HOST = 0, 1, 0
    cublas.setStream = lambda handle, stream: calls.append(("stream", stream))
    cublas.setPointerMode = lambda handle, mode: calls.append(("mode", mode))

    def make(dtype):
        item = np.dtype(dtype).itemsize

        def view(ptr, rows, cols, ld):
            if ld < max(1, rows):
                raise ValueError(f"CUBLAS_STATUS_INVALID_VALUE: ld {ld} < rows {rows}")
            size = ld * (cols - 1) + rows
            flat = np.frombuffer((ctypes.c_char * (size * item)).from_address(ptr), dtype=dtype)
            return np.lib.stride_tricks.as_strided(flat, (rows, cols), (item, ld * item))

        def scalar(ptr):
            return np.frombuffer((ctypes.c_char * item).from_address(ptr), dtype=dtype)[0]

        def gemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
            calls.append(("gemm", transa, transb, m, n, k, lda, ldb, ldc))
            a = view(A, m, k, lda) if transa == 0 else view(A, k, m, lda).T
            b = view(B, k, n, ldb) if transb == 0 else view(B, n, k, ldb).T
            c = view(C, m, n, ldc)
            out = (1 if broken else scalar(alpha)) * (a.astype(np.float64) @ b.astype(np.float64))
            if scalar(beta) != 0:
                out += scalar(beta) * c
            c[...] = out

        return gemm

    cublas.sgemm, cublas.dgemm = make(np.float32), make(np.float64)
    device = types.ModuleType("cupy.cuda.device")
    device.get_cublas_handle = lambda: 1

    class NullStream:  # cupy.cuda.Stream.null as a context manager
        def __enter__(self):
            calls.append(("null stream",))

        def __exit__(self, *exc):
            return False

    modules = {
        "cupy": types.ModuleType("cupy"),
        "cupy.cuda": types.ModuleType("cupy.cuda"),
        "cupy.cuda.device": device,
        "cupy_backends": types.ModuleType("cupy_backends"),
        "cupy_backends.cuda": types.ModuleType("cupy_backends.cuda"),
        "cupy_backends.cuda.libs": types.ModuleType("cupy_backends.cuda.libs"),
        "cupy_backends.cuda.libs.cublas": cublas,
    }
    modules["cupy.cuda"].device = device
    modules["cupy.cuda"].Stream = types.SimpleNamespace(null=NullStream())
    modules["cupy_backends.cuda.libs"].cublas = cublas
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    # The simulator's arrays wrap numpy arrays and have no __cuda_array_interface__.
    monkeypatch.setattr(gemm_module, "_pointer", lambda a: a._ary.__array_interface__["data"][0])
    gemm_module._cublas_status.cache_clear()  # each process checks cuBLAS once: forget that
    return calls


@pytest.fixture
def fake_cupy(monkeypatch):
    if not config.simulating():
        pytest.skip("the stand-in cuBLAS reads device memory from the host: simulator only")
    yield lambda broken=False: _fake_cupy(monkeypatch, broken)
    gemm_module._cublas_status.cache_clear()


@DTYPES
@pytest.mark.parametrize(
    "arch",
    [([6, 5, 3, 6], ["sigmoid", "linear", "sigmoid"], "bce"), ([5, 9, 4], ["tanh", "softmax"], "softmax_ce")],
    ids=["bce", "softmax"],
)
def test_cublas_path_products(fake_cupy, dtype, arch):
    """With ``gemm="cublas"`` every product goes through CublasGemm (row-major products handed
    to a column-major BLAS) and the unfused layer and backward kernels; it agrees with numpy."""
    calls = fake_cupy()
    sizes, acts, loss = arch
    ref, net = (
        MLP(sizes, acts, loss, dtype=dtype),
        MLP(sizes, acts, loss, dtype=dtype, backend="cuda", backend_options={"gemm": "cublas"}),
    )
    assert net.backend.gemm.name == "cublas" and not net.backend._layer.fused
    rng = np.random.default_rng(7)
    X = rng.standard_normal((7, sizes[0])).astype(dtype)
    T = (rng.uniform(0, 1, (7, sizes[-1])) if loss == "bce" else rng.dirichlet(np.ones(sizes[-1]), 7)).astype(dtype)
    theta = ref.init(1, scheme="gaussian").astype(dtype)
    v = rng.standard_normal(ref.n_params).astype(dtype)
    a, b = ref.linearize(theta, X), net.linearize(theta, X)
    h = net.backend.to_numpy
    close(h(b.y), a.y, dtype)
    close(h(b.gradient(T)), a.gradient(T), dtype)
    for g, r in zip(b.gradient_and_diag(T), a.gradient_and_diag(T)):
        close(h(g), r, dtype)
    close(h(b.fisher_vp(v)), a.fisher_vp(v), dtype)
    close(h(b.connection_vp(v)), a.connection_vp(v), dtype)
    close(h(b.term3(v)), a.term3(v), dtype)
    close(h(b.perturb_vp(v, T)), a.perturb_vp(v, T), dtype)
    assert ("stream", 0) in calls and ("mode", 0) in calls and ("null stream",) in calls
    assert sum(c[0] == "gemm" for c in calls) > 10


def test_gemm_selection(fake_cupy, monkeypatch):
    """``auto`` picks cuBLAS only when it passes the self-check; ``numba`` never does; a
    forced ``cublas`` names why it cannot run; an unknown option is a MethodError."""
    assert make_gemm("numba", np.float64).name == "numba"
    fake_cupy(broken=True)
    chosen = make_gemm("auto", np.float64)
    assert chosen.name == "numba" and "wrong" in chosen.fallback
    with pytest.raises(BackendUnavailableError, match="wrong"):
        make_gemm("cublas", np.float64)
    gemm_module._cublas_status.cache_clear()
    fake_cupy()
    assert make_gemm("auto", np.float32).name == "cublas"
    with pytest.raises(MethodError, match="unknown gemm option"):
        MLP([2, 1], ["sigmoid"], "bce", backend="cuda", backend_options={"gemm": "cutlass"})


def test_without_cupy_auto_uses_own_kernels(monkeypatch):
    """With CuPy not importable, ``auto`` falls back to the own GEMMs and says why, and a
    forced ``cublas`` is a BackendUnavailableError naming CuPy."""
    # None in sys.modules makes an import raise ImportError, also where CuPy was imported before.
    for name in (
        "cupy",
        "cupy.cuda",
        "cupy.cuda.device",
        "cupy_backends",
        "cupy_backends.cuda",
        "cupy_backends.cuda.libs",
        "cupy_backends.cuda.libs.cublas",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    gemm_module._cublas_status.cache_clear()
    try:
        chosen = make_gemm("auto", np.float64)
        assert chosen.name == "numba" and "CuPy" in chosen.fallback
        with pytest.raises(BackendUnavailableError, match="CuPy"):
            MLP([2, 1], ["sigmoid"], "bce", backend="cuda", backend_options={"gemm": "cublas"})
    finally:
        gemm_module._cublas_status.cache_clear()


def test_gpu_benchmark_script_runs(tmp_path, monkeypatch, capsys):
    """``bench/bench_nn_gpu.py`` end to end on a tiny network (its riemannopt parts: GEMM table,
    products, ratios, JSON), so that the script works when it is run on a GPU."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "bench" / "bench_nn_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_nn_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setitem(bench.NETWORKS, "tiny", [5, 4, 3, 5])
    out = tmp_path / "gpu.json"
    argv = [
        "--networks",
        "tiny",
        "--batches",
        "7",
        "--repeats",
        "1",
        "--warmup",
        "1",
        "--train-repeats",
        "1",
        "--train-max-cg",
        "2",  # the simulator runs each CUDA thread as a Python thread: keep the CG runs short
        "--no-torch",
        "--no-jax",
        "--json",
        str(out),
    ]
    assert bench.main(argv) == 0
    results = json.loads(out.read_text())
    assert {r["kind"] for r in results["gemm"]} == {"NT", "TN", "NN"}
    products = {(r["dtype"], r["product"]) for r in results["products"]}
    assert {(d, p) for d in ("float32", "float64") for p in ("gradient", "fisher_vp", "connection_vp")} <= products
    assert all(r["x_gradient"] > 0 for r in results["products"])
    assert "connection_vp/gradient" in capsys.readouterr().out
