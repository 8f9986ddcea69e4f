"""Every available backend against the contract of ``riemannopt.nn.backends.base.Backend``.

A partial backend fails here (an abstract method left out, a product that disagrees) rather than
at run time.  Each backend runs through the public :class:`~riemannopt.nn.MLP` API and is
compared with the numpy backend of the same dtype, whose products are themselves checked
against complex-step derivatives and dense matrices in ``test_nn_products.py``:
float64 ≤ 1e-12 and float32 ≤ 1e-5 relative (norm-wise).  Shapes are tiny and odd, so that they
divide no tile size, and include a batch of one and a hidden width of one.  The architectures
are enumerated from the registries (:func:`architectures`): every loss of ``LOSSES`` with every
output activation of ``ACTIVATIONS`` it allows, and once as a one-layer network, with the
element-wise activations taking turns on the hidden layers — a new activation or loss is
checked here without being named.

Backends that need a GPU run here only where one is present; the CUDA kernels also run through
this module under numba's CUDA simulator (``tests/nn/cuda``), which makes them available
without a GPU.
"""

import numpy as np
import pytest

from riemannopt.nn import MLP, available_backends, get_backend, solve_damped
from riemannopt.nn.activations import ACTIVATIONS
from riemannopt.nn.backends.base import Backend
from riemannopt.nn.losses import LOSSES

BACKENDS = available_backends()

#: The activations allowed on hidden layers.
HIDDEN = [name for name, cls in ACTIVATIONS.items() if cls.elementwise]


def architectures():
    """``{id: (sizes, activations, loss)}`` from the registries: for each loss, each output
    activation it allows after one or two hidden layers (the hidden activations in turn, a
    hidden width of one every other time), and a one-layer network."""
    out, turn = {}, 0
    for loss, cls in LOSSES.items():
        outputs = [name for name, act in ACTIVATIONS.items() if cls.allows(act)]
        for output in outputs:
            depth = 2 - turn % 2
            hidden = [HIDDEN[(turn + i) % len(HIDDEN)] for i in range(depth)]
            widths = [7, 1][:depth] if turn % 2 == 0 else [5]
            out[f"{loss}-{'-'.join(hidden)}-{output}"] = ([4, *widths, 3], [*hidden, output], loss)
            turn += 1
        out[f"{loss}-one-layer-{outputs[0]}"] = ([3, 2], [outputs[0]], loss)
    return out


#: (sizes, activations, loss) of every product test.
ARCHITECTURES = architectures()
#: The network of the CG and training runs.
TRAINED = ([6, 5, 3, 6], ["sigmoid", "linear", "sigmoid"], "bce")
BATCHES = (1, 7)
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def targets(loss, shape, rng):
    """Valid targets of the loss (what ``MLP`` checks: its ``targets`` attribute)."""
    kind = LOSSES[loss].targets
    if kind == "unit":
        return rng.uniform(0, 1, shape)
    if kind == "distribution":
        return rng.dirichlet(np.ones(shape[1]), shape[0])
    return rng.standard_normal(shape)


def data(sizes, loss, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    return X, targets(loss, (n, sizes[-1]), rng).astype(dtype), rng


def test_architectures_cover_the_registries():
    """Every loss with every output activation it allows, every element-wise activation on a
    hidden layer, a one-layer network of every loss, a hidden width of one."""
    cases = ARCHITECTURES.values()
    assert {(loss, acts[-1]) for _, acts, loss in cases} == {
        (loss, name) for loss, cls in LOSSES.items() for name, act in ACTIVATIONS.items() if cls.allows(act)
    }
    assert {a for _, acts, _ in cases for a in acts[:-1]} == set(HIDDEN)
    assert {loss for sizes, _, loss in cases if len(sizes) == 2} == set(LOSSES)
    assert any(1 in sizes[1:-1] for sizes, _, _ in cases)


def close(got, want, dtype):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    scale = max(np.linalg.norm(want), np.finfo(dtype).tiny)
    assert np.linalg.norm(got - want) <= TOL[dtype] * scale, (
        f"relative difference {np.linalg.norm(got - want) / scale:.2e}"
    )


@pytest.mark.parametrize("name", BACKENDS)
def test_backend_implements_the_whole_contract(name):
    """No abstract method is left out, and the class is registered under its own name."""
    cls = get_backend(name)
    assert issubclass(cls, Backend) and cls.name == name
    assert not cls.__abstractmethods__, f"{name} lacks {sorted(cls.__abstractmethods__)}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("name", BACKENDS)
def test_products_agree_with_numpy(name, arch, n, dtype):
    """Every product, the outputs, the loss and both error kinds, with θ, X and T given as numpy
    arrays (the backend converts them once) and results read back with ``to_numpy``."""
    sizes, acts, loss = ARCHITECTURES[arch]
    ref_net = MLP(sizes, acts, loss, sigma=0.8, dtype=dtype)
    net = MLP(sizes, acts, loss, sigma=0.8, dtype=dtype, backend=name)
    X, T, rng = data(sizes, loss, n, dtype)
    theta = (ref_net.init(1, scheme="gaussian", scale=0.7) + 0.1 * rng.standard_normal(ref_net.n_params)).astype(dtype)
    v = rng.standard_normal(ref_net.n_params).astype(dtype)
    lam = rng.uniform(0.5, 2.0, (n, sizes[-1])).astype(dtype)
    ref, got = ref_net.linearize(theta, X), net.linearize(theta, X)
    host = net.backend.to_numpy
    close(host(got.y), ref.y, dtype)
    assert got.loss(T) == pytest.approx(ref.loss(T), rel=TOL[dtype], abs=TOL[dtype])
    for kind in ("squared", "classification"):
        assert got.error(T, kind) == pytest.approx(ref.error(T, kind), rel=TOL[dtype], abs=TOL[dtype])
    close(host(got.gradient(T)), ref.gradient(T), dtype)
    for g, r in zip(got.gradient_and_diag(T), ref.gradient_and_diag(T)):
        close(host(g), r, dtype)
    close(host(got.fisher_vp(v)), ref.fisher_vp(v), dtype)
    close(host(got.empirical_fisher_vp(v, T)), ref.empirical_fisher_vp(v, T), dtype)
    close(host(got.connection_vp(v)), ref.connection_vp(v), dtype)
    for g, r in zip(got.connection_terms(v), ref.connection_terms(v)):
        close(host(g), r, dtype)
    close(host(got.term3(v)), ref.term3(v), dtype)
    close(host(got.term3(v, lam)), ref.term3(v, lam), dtype)
    close(host(got.perturb_vp(v, T)), ref.perturb_vp(v, T), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", BACKENDS)
def test_vector_operations(name, dtype):
    """The CG and training vector operations against plain numpy formulas, on an odd length;
    in-place operations return the array they modified."""
    backend = get_backend(name)(MLP([3, 2], ["sigmoid"], "bce").layout, ("sigmoid",), "bce", 1.0, np.dtype(dtype))
    rng = np.random.default_rng(2)
    n = 1001
    x_h, y_h = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    d_h = rng.uniform(0, 3, n).astype(dtype)
    x, y, d = (backend.asarray(a, "a") for a in (x_h, y_h, d_h))
    h = backend.to_numpy
    assert backend.dot(x, y) == pytest.approx(float(x_h.astype(np.float64) @ y_h), rel=TOL[dtype] * 10)
    close(h(backend.axpby(0.5, x, -2.0, y)), 0.5 * x_h - 2.0 * y_h, dtype)
    close(h(backend.multiply(x, y)), x_h * y_h, dtype)
    close(h(backend.divide(x, d)), x_h / d_h, dtype)
    close(h(backend.damped_power(d, 0.3, 0.75)), (d_h + 0.3) ** 0.75, dtype)
    close(h(backend.copy(x)), x_h, dtype)
    close(h(backend.zeros(5)), np.zeros(5), dtype)
    z = backend.copy(y)
    assert backend.axpy_(3.0, x, z) is z
    close(h(z), y_h + 3.0 * x_h, dtype)
    assert backend.scale_(-0.25, z) is z
    close(h(z), -0.25 * (y_h + 3.0 * x_h), dtype)
    # Adam, two steps against the textbook formulas.
    theta_h, m_h, s_h = x_h.astype(np.float64), np.zeros(n), np.zeros(n)
    theta, m, s = backend.copy(x), backend.zeros(n), backend.zeros(n)
    for t, g_h in enumerate((y_h, d_h), start=1):
        assert backend.adam_(theta, backend.asarray(g_h, "g"), m, s, t, 1e-3, 0.9, 0.999, 1e-8) is theta
        m_h = 0.9 * m_h + 0.1 * g_h
        s_h = 0.999 * s_h + 0.001 * g_h.astype(np.float64) ** 2
        theta_h -= 1e-3 * (m_h / (1 - 0.9**t)) / (np.sqrt(s_h / (1 - 0.999**t)) + 1e-8)
    close(h(theta), theta_h, dtype)
    assert backend.all_finite(x) and not backend.all_finite(backend.asarray(np.r_[x_h[:5], np.nan], "a"))
    T_h = rng.dirichlet(np.ones(4), 6).astype(dtype)
    T_h[2, 1] += 0.125
    lo, hi, gap = backend.target_stats(backend.asarray(T_h, "T"))
    assert (lo, hi) == (pytest.approx(T_h.min()), pytest.approx(T_h.max()))
    assert gap == pytest.approx(0.125, rel=1e-4)
    close(h(backend.one_hot(np.array([2, 0, 3]), 4)), np.eye(4)[[2, 0, 3]], dtype)


@pytest.mark.parametrize("name", BACKENDS)
def test_solve_damped_runs_on_backend_vectors(name):
    """Truncated CG with ``ops=net.backend`` (vectors in the backend's memory, preconditioned,
    damped, warm-started) takes the same steps as on numpy: same iteration count and stopping
    reason, iterates within 1e-10."""
    sizes, acts, loss = TRAINED
    X, T, rng = data(sizes, loss, 7, np.float64)
    ref_net, net = MLP(sizes, acts, loss), MLP(sizes, acts, loss, backend=name)
    theta = ref_net.init(1, scheme="gaussian")
    x0 = 0.01 * rng.standard_normal(ref_net.n_params)
    results = []
    for model in (ref_net, net):
        state = model.linearize(theta, X)
        grad, diag = state.gradient_and_diag(T)
        precond = model.backend.damped_power(diag, 0.5, 0.75)
        results.append(
            solve_damped(
                state.fisher_vp, model.backend.scale_(-1.0, grad), 0.5, x0=x0, precond=precond, ops=model.backend
            )
        )
    want, got = results
    assert (got.iterations, got.reason) == (want.iterations, want.reason)
    close(net.backend.to_numpy(got.x), want.x, np.float64)
    np.testing.assert_allclose(got.q, want.q, rtol=1e-10)


@pytest.mark.parametrize("method", ["ng", "geo", "geof"])
@pytest.mark.parametrize("name", BACKENDS)
def test_train_runs_on_backend(name, method):
    """Three Hessian-free iterations of ``nn.train`` with θ, data and CG vectors in the backend's
    memory follow the numpy run: the same damping, CG iteration counts and corrections, and
    losses within 1e-9 (float64; the line searches compare values, so round-off could flip a
    decision only at a tie)."""
    from riemannopt.nn import train

    sizes, acts, loss = TRAINED
    X, T, _ = data(sizes, loss, 9, np.float64)
    runs = []
    for backend in ("numpy", name):
        net = MLP(sizes, acts, loss, backend=backend)
        res = train(net, X, T, method, 3, dtype=np.float64, max_cg=8, chunks=1, threshold=np.inf, progress=False)
        runs.append(res)
    want, got = (r.history for r in runs)
    for key in ("damping", "cg_iterations", "corrected"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    np.testing.assert_allclose(got["train_loss"], want["train_loss"], rtol=1e-9)
    np.testing.assert_allclose(np.asarray(runs[1].theta), runs[0].theta, rtol=1e-8, atol=1e-10)
