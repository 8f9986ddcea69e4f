"""The CUDA backend on a real GPU (marker ``gpu``; skipped where numba finds no CUDA GPU).

Where a GPU is present, ``tests/nn/test_backend_conformance.py`` already runs the ``cuda``
backend on its tiny shapes.  These tests add what only a device can show: products on shapes
that cross the GPU tiles and split the batch dimension of the weight-gradient products across
blocks, through both GEMM paths; the kernel checks of ``kernel_checks.py`` with the GPU tiling;
CuPy arrays going in and out without copies; truncated CG with every vector on the device.
References: the numpy backend of the same dtype (float64 ≤ 1e-12, float32 ≤ 1e-5 relative).

Run them with ``pytest -m gpu tests/nn`` on a machine with a GPU.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riemannopt.nn import MLP, solve_damped


def _gpu_present():
    try:
        import numba_cuda  # noqa: F401
        from numba import cuda

        from riemannopt.nn.backends.cuda.config import simulating
    except ImportError:
        return False
    return not simulating() and cuda.is_available()


GPU = _gpu_present()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not GPU, reason="needs a CUDA GPU (numba.cuda.is_available() is False)"),
]
TOL = {np.float64: 1e-12, np.float32: 1e-5}
ARCHITECTURES = {
    "bce": ([784, 200, 30, 784], ["sigmoid"] * 3, "bce"),
    "softmax": ([300, 150, 70, 10], ["tanh", "sigmoid", "softmax"], "softmax_ce"),
    "squared": ([100, 130, 7, 100], ["tanh", "linear", "tanh"], "squared"),
}


def close(got, want, dtype):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    err = np.linalg.norm(got - want) / max(np.linalg.norm(want), np.finfo(dtype).tiny)
    assert err <= TOL[dtype], f"relative difference {err:.2e}"


def needs_cupy():
    return pytest.importorskip("cupy", reason="the cuBLAS path needs CuPy (optional)")


def problem(arch, dtype, n=300, seed=0):
    sizes, acts, loss = ARCHITECTURES[arch]
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, sizes[0])).astype(dtype)
    if loss == "softmax_ce":
        T = rng.dirichlet(np.ones(sizes[-1]), n).astype(dtype)
    else:
        T = rng.uniform(0, 1, (n, sizes[-1])).astype(dtype)
    ref = MLP(sizes, acts, loss, sigma=0.8, dtype=dtype)
    theta = ref.init(seed)
    v = (0.1 * rng.standard_normal(ref.n_params)).astype(dtype)
    return ref, X, T, theta, v


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("gemm", ["numba", "cublas"])
def test_products_on_gpu(gemm, arch, dtype):
    if gemm == "cublas":
        needs_cupy()
    ref, X, T, theta, v = problem(arch, dtype)
    net = ref.replace(backend="cuda", backend_options={"gemm": gemm})
    assert net.backend.gemm.name == gemm
    a, b = ref.linearize(theta, X), net.linearize(theta, X)
    h = net.backend.to_numpy
    close(h(b.y), a.y, dtype)
    assert b.loss(T) == pytest.approx(a.loss(T), rel=TOL[dtype])
    assert b.error(T) == pytest.approx(a.error(T), rel=TOL[dtype])
    close(h(b.gradient(T)), a.gradient(T), dtype)
    for g, r in zip(b.gradient_and_diag(T), a.gradient_and_diag(T)):
        close(h(g), r, dtype)
    close(h(b.fisher_vp(v)), a.fisher_vp(v), dtype)
    close(h(b.empirical_fisher_vp(v, T)), a.empirical_fisher_vp(v, T), dtype)
    close(h(b.connection_vp(v)), a.connection_vp(v), dtype)
    for g, r in zip(b.connection_terms(v), a.connection_terms(v)):
        close(h(g), r, dtype)
    close(h(b.term3(v)), a.term3(v), dtype)
    lam = np.linspace(0.5, 2.0, ref.sizes[-1]).astype(dtype)
    close(h(b.term3(v, lam)), a.term3(v, lam), dtype)
    close(h(b.perturb_vp(v, T)), a.perturb_vp(v, T), dtype)


def test_auto_picks_cublas_when_cupy_is_installed():
    needs_cupy()
    net = MLP([5, 3], ["sigmoid"], "bce", backend="cuda")
    assert net.backend.gemm.name == "cublas", net.backend.gemm.fallback


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_own_gemm_and_cublas_agree_on_large_products(dtype):
    """Both GEMM paths on products of the paper's sizes (batch 2000) against numpy."""
    needs_cupy()
    from numba import cuda

    from riemannopt.nn.backends.cuda.gemm import make_gemm

    rng = np.random.default_rng(1)
    gemms = [make_gemm("numba", dtype), make_gemm("cublas", dtype)]
    for (M, N, K), ta, tb in [
        ((2000, 1000, 784), False, True),
        ((1000, 784, 2000), True, False),
        ((2000, 784, 1000), False, False),
    ]:
        A = rng.standard_normal((K, M) if ta else (M, K)).astype(dtype)
        B = rng.standard_normal((N, K) if tb else (K, N)).astype(dtype)
        want = (A.T if ta else A).astype(np.float64) @ (B.T if tb else B).astype(np.float64)
        for gemm in gemms:
            C = cuda.device_array((M, N), dtype=dtype)
            gemm(cuda.to_device(A), cuda.to_device(B), C, ta, tb)
            close(C.copy_to_host(), want, dtype)


def test_cupy_arrays_in_and_out_without_copies():
    """CuPy inputs are used in place (same device pointer); results wrap back into CuPy."""
    cupy = needs_cupy()
    ref, X, T, theta, v = problem("bce", np.float64, n=64)
    net = ref.replace(backend="cuda")
    X_cp, v_cp = cupy.asarray(X), cupy.asarray(v)
    X_dev = net.backend.asarray(X_cp, "X")
    assert X_dev.__cuda_array_interface__["data"][0] == X_cp.data.ptr
    got = net.connection_vp(theta, X_cp, v_cp)
    back = cupy.asarray(got)
    assert back.data.ptr == got.__cuda_array_interface__["data"][0]
    close(cupy.asnumpy(back), ref.connection_vp(theta, X, v), np.float64)


def test_truncated_cg_with_vectors_on_the_device():
    """solve_damped with ``ops=net.backend`` takes the numpy run's steps on a network of realistic
    width: same count and stopping reason, iterates within 1e-10.

    Ten steps, because CG's iterates are not forward stable on this problem: measured on the
    host, perturbing every Fisher product by 1e-16 relative moves the iterate by 1.3e-15 after
    10 steps but by 1e-3 after 30 (loss of orthogonality), so only the shorter run can be
    compared tightly."""
    ref, X, T, theta, _ = problem("bce", np.float64, n=500)
    net = ref.replace(backend="cuda")
    runs = []
    for model in (ref, net):
        state = model.linearize(theta, X)
        grad, diag = state.gradient_and_diag(T)
        precond = model.backend.damped_power(diag, 1.0, 0.75)
        runs.append(
            solve_damped(
                state.fisher_vp, model.backend.scale_(-1.0, grad), 1.0, precond=precond, max_iter=10, ops=model.backend
            )
        )
    want, got = runs
    assert (got.iterations, got.reason) == (want.iterations, want.reason) == (10, "max_iter")
    x = net.backend.to_numpy(got.x)
    assert np.linalg.norm(x - want.x) <= 1e-10 * np.linalg.norm(want.x)
    np.testing.assert_allclose(got.q, want.q, rtol=1e-10)


def test_kernel_checks_on_the_gpu():
    """``kernel_checks.py`` (run under the simulator by ``test_simulator.py``) on the device."""
    here = Path(__file__).resolve().parent
    root = here.parents[2]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(here / "kernel_checks.py")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
