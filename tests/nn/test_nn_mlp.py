"""MLP construction, parameter layout, initialization and input validation."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riemannopt.errors import InputError, MethodError, RiemannOptError, ShapeError
from riemannopt.nn import MLP, BackendUnavailableError


def small_net(**kw):
    return MLP([3, 4, 2], ["tanh", "sigmoid"], "bce", **kw)


def test_n_params_and_unflatten_shapes():
    net = MLP([5, 4, 3, 2], ["tanh", "linear", "softmax"], "softmax_ce")
    assert net.n_params == 5 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2
    params = net.unflatten(np.arange(net.n_params, dtype=float))
    assert [(W.shape, b.shape) for W, b in params] == [((4, 5), (4,)), ((3, 4), (3,)), ((2, 3), (2,))]
    # Layout: W_1 row-major, then b_1, then W_2 ...
    assert params[0][0][1, 0] == 5 and params[0][1][0] == 20 and params[1][0][0, 0] == 24


def test_flatten_unflatten_round_trip():
    net = small_net()
    theta = np.random.default_rng(0).standard_normal(net.n_params)
    np.testing.assert_array_equal(net.flatten(net.unflatten(theta)), theta)
    params = [(np.full((4, 3), 1.0), np.full(4, 2.0)), (np.full((2, 4), 3.0), np.full(2, 4.0))]
    back = net.unflatten(net.flatten(params))
    for (W, b), (W2, b2) in zip(params, back):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


def test_flatten_rejects_wrong_blocks():
    net = small_net()
    with pytest.raises(ShapeError, match="layer 2: W"):
        net.flatten([(np.zeros((4, 3)), np.zeros(4)), (np.zeros((4, 2)), np.zeros(2))])
    with pytest.raises(ShapeError, match="2 \\(W, b\\) pairs"):
        net.flatten([(np.zeros((4, 3)), np.zeros(4))])


@pytest.mark.parametrize("n_in, expected", [(40, 15), (7, 7)])
def test_sparse_init_has_fixed_incoming_fan_in(n_in, expected):
    """Martens' sparse initialization: exactly min(15, n_in) non-zero weights per unit, zero biases."""
    net = MLP([n_in, 30, 5], ["sigmoid", "sigmoid"], "bce")
    params = net.unflatten(net.init(seed=1))
    W1, b1 = params[0]
    np.testing.assert_array_equal(np.count_nonzero(W1, axis=1), expected)
    np.testing.assert_array_equal(np.count_nonzero(params[1][0], axis=1), 15)
    assert not np.any(b1) and not np.any(params[1][1])


def test_init_is_reproducible_and_gaussian_scale():
    net = MLP([400, 300, 2], ["tanh", "linear"], "squared")
    np.testing.assert_array_equal(net.init(3), net.init(3))
    assert not np.array_equal(net.init(3), net.init(4))
    W1 = net.unflatten(net.init(0, scheme="gaussian"))[0][0]
    assert W1.std() == pytest.approx(1 / np.sqrt(400), rel=0.02)  # 120000 samples
    with pytest.raises(MethodError, match="init scheme"):
        net.init(0, scheme="xavier")


@pytest.mark.parametrize(
    "args, error, match",
    [
        (([3], ["tanh"], "bce"), ShapeError, "at least two"),
        (([3, 0, 2], ["tanh", "sigmoid"], "bce"), ShapeError, r"sizes\[1\] must be an integer >= 1, got 0"),
        (([3, 4, 2], ["tanh"], "bce"), ShapeError, "one activation name per layer"),
        (([3, 4, 2], "sigmoid", "bce"), ShapeError, "one activation name per layer"),
        (([3, 4, 2], ["relu", "sigmoid"], "bce"), MethodError, "unknown activation 'relu'"),
        (([3, 4, 2], ["softmax", "softmax"], "softmax_ce"), MethodError, "output layer only"),
        (([3, 4, 2], ["tanh", "sigmoid"], "hinge"), MethodError, "unknown loss 'hinge'"),
        (([3, 4, 2], ["tanh", "tanh"], "bce"), MethodError, "output activation"),
        (([3, 4, 2], ["tanh", "sigmoid"], "softmax_ce"), MethodError, "output activation"),
        (([3, 4, 2], ["tanh", "softmax"], "squared"), MethodError, "output activation"),
    ],
)
def test_bad_architecture_raises(args, error, match):
    with pytest.raises(error, match=match):
        MLP(*args)


def test_bad_options_raise():
    with pytest.raises(MethodError, match="sigma"):
        MLP([2, 1], ["linear"], "squared", sigma=0.0)
    with pytest.raises(MethodError, match="dtype"):
        small_net(dtype=np.int32)
    with pytest.raises(MethodError, match="unknown nn backend"):
        small_net(backend="opencl")


def test_unimportable_backend_names_what_is_missing(monkeypatch):
    """A registered backend whose module cannot be imported (a missing optional dependency) is a
    BackendUnavailableError naming the backend and the import failure, not an ImportError."""
    from riemannopt.nn import backends

    monkeypatch.setitem(backends.BACKENDS, "fake", "riemannopt.nn.backends.no_such_module:Fake")
    with pytest.raises(BackendUnavailableError, match="'fake' backend .*no_such_module") as info:
        small_net(backend="fake")
    assert isinstance(info.value, MethodError) and isinstance(info.value, NotImplementedError)
    assert isinstance(info.value, RiemannOptError)
    assert "fake" not in backends.available_backends() and "numpy" in backends.available_backends()


def test_wrong_shapes_raise_shape_error():
    net = small_net()
    theta, X, T = net.init(0), np.zeros((5, 3)), np.zeros((5, 2))
    v = np.zeros(net.n_params)
    with pytest.raises(ShapeError, match=r"theta must have shape \(26,\)"):
        net.loss(theta[:-1], X, T)
    with pytest.raises(ShapeError, match=r"X must have shape"):
        net.loss(theta, np.zeros((5, 4)), T)
    with pytest.raises(ShapeError, match=r"X must have shape"):
        net.loss(theta, np.zeros(3), T)
    with pytest.raises(ShapeError, match=r"X must have shape"):
        net.loss(theta, np.zeros((0, 3)), np.zeros((0, 2)))
    with pytest.raises(ShapeError, match=r"targets T must have shape \(5, 2\)"):
        net.gradient(theta, X, np.zeros((5, 3)))
    with pytest.raises(ShapeError, match=r"v must have shape"):
        net.fisher_vp(theta, X, v[:3])
    with pytest.raises(ShapeError, match=r"v must have shape"):
        net.connection_vp(theta, X, np.zeros((net.n_params, 1)))
    with pytest.raises(ShapeError, match="lam of shape"):
        net.term3(theta, X, v, lam=np.ones((5, 3)))


def test_softmax_targets_validation():
    net = MLP([3, 4], ["softmax"], "softmax_ce")
    theta, X = net.init(0), np.zeros((3, 3))
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 4\)"):
        net.loss(theta, X, np.array([0, 1, 4]))
    with pytest.raises(ShapeError, match="2 integer labels for 3 examples"):
        net.loss(theta, X, np.array([0, 1]))
    with pytest.raises(ShapeError, match="or integer labels"):
        net.loss(theta, X, np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize(
    "loss, acts, bad, match",
    [
        (
            "bce",
            ["tanh", "sigmoid"],
            dict(T=[[0.5, 1.5]] * 5),
            r"bce targets T must lie in \[0, 1\], but T\[0, 1\] = 1.5",
        ),
        ("bce", ["tanh", "sigmoid"], dict(T=[[0.5, -0.1]] * 5), r"T\[0, 1\] = -0.1"),
        ("squared", ["tanh", "linear"], dict(T=[[0.0, np.inf]] * 5), r"T must be finite, but T\[0, 1\] = inf"),
        ("softmax_ce", ["tanh", "softmax"], dict(T=[[0.5, 0.6]] * 5), "must be distributions .* row 0 .* sums to 1.1"),
        ("softmax_ce", ["tanh", "softmax"], dict(T=[[1.5, -0.5]] * 5), "must be distributions .* row 0"),
        ("bce", ["tanh", "sigmoid"], dict(X_nan=(2, 1)), r"X must be finite, but X\[2, 1\] = nan"),
        ("bce", ["tanh", "sigmoid"], dict(theta_nan=7), r"theta must be finite, but theta\[7\] = nan"),
        ("bce", ["tanh", "sigmoid"], dict(T=[["a", "b"]] * 5), "targets T must be numeric"),
        ("bce", ["tanh", "sigmoid"], dict(X_str=True), "X must be numeric"),
    ],
)
def test_bad_values_raise_input_error(loss, acts, bad, match):
    """NaN or inf in X, θ or T, bce targets outside [0, 1] and softmax targets that are not
    distributions are rejected up front, naming the argument and the first offending entry."""
    net = MLP([3, 4, 2], acts, loss)
    theta, X = net.init(0), np.full((5, 3), 0.5)
    T = np.array(bad.get("T", [[0.0, 1.0]] * 5))
    if "X_nan" in bad:
        X[bad["X_nan"]] = np.nan
    if "theta_nan" in bad:
        theta[bad["theta_nan"]] = np.nan
    if "X_str" in bad:
        X = [["a"] * 3] * 5
    with pytest.raises(InputError, match=match):
        net.gradient(theta, X, T)


def test_a_new_loss_class_is_checked_and_computed_from_its_declarations(monkeypatch):
    """A loss class entered in ``LOSSES`` (and named nowhere else) is validated by ``MLP`` from its
    declared attributes (allowed outputs, unit targets) and computed by the numpy backend's
    kernels from its compiled forms: here a copy of ``bce`` under another name, whose every
    product equals bce's bit for bit."""
    from riemannopt.nn.losses import BCE, LOSSES

    class Logistic(BCE):
        name = "logistic"

    monkeypatch.setitem(LOSSES, "logistic", Logistic)
    with pytest.raises(MethodError, match=r"loss 'logistic' needs an output activation in \['sigmoid'\]"):
        MLP([3, 4, 2], ["tanh", "tanh"], "logistic")
    net, ref = MLP([3, 4, 2], ["tanh", "sigmoid"], "logistic"), MLP([3, 4, 2], ["tanh", "sigmoid"], "bce")
    rng = np.random.default_rng(5)
    theta, X, T = net.init(0), rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 2))
    with pytest.raises(InputError, match=r"logistic targets T must lie in \[0, 1\]"):
        net.gradient(theta, X, T + 1)
    v = rng.standard_normal(net.n_params)
    got, want = net.linearize(theta, X), ref.linearize(theta, X)
    assert got.loss(T) == want.loss(T)
    for product in ("gradient", "fisher_vp", "connection_vp"):
        args = (T,) if product == "gradient" else (v,)
        np.testing.assert_array_equal(getattr(got, product)(*args), getattr(want, product)(*args))


def test_non_finite_direction_and_lam_are_rejected():
    net = small_net()
    theta, X = net.init(0), np.zeros((5, 3))
    v = np.zeros(net.n_params)
    v[3] = np.inf
    with pytest.raises(InputError, match=r"v must be finite, but v\[3\] = inf"):
        net.connection_vp(theta, X, v)
    with pytest.raises(InputError, match="lam must be finite"):
        net.term3(theta, X, np.zeros(net.n_params), lam=np.full((5, 2), np.nan))
    # unflatten is a view, not a computation: it does not judge the values.
    assert np.isnan(net.unflatten(np.full(net.n_params, np.nan))[0][0]).all()


def test_nn_package_does_not_import_sympy():
    """riemannopt.nn must import with sympy unavailable (the top-level package is bypassed)."""
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, types\n"
        "sys.modules['sympy'] = None\n"
        "pkg = types.ModuleType('riemannopt')\n"
        f"pkg.__path__ = [{str(root / 'riemannopt')!r}]\n"
        "sys.modules['riemannopt'] = pkg\n"
        "import riemannopt.nn as nn\n"
        "net = nn.MLP([2, 2], ['sigmoid'], 'bce')\n"
        "print(net.n_params)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"
