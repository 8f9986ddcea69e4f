"""Generated data sets and the .npz loader (riemannopt.nn.datasets)."""

import sys

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

from riemannopt.errors import BackendUnavailableError, InputError, ShapeError
from riemannopt.nn import datasets
from riemannopt.nn.datasets import curves, digits, load_npz, spirals


def test_curves_are_deterministic_per_seed_and_in_range():
    a, b, c = curves(30, 10, size=10, seed=7), curves(30, 10, size=10, seed=7), curves(30, 10, size=10, seed=8)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_train, c.X_train)
    assert a.X_train.shape == (30, 100) and a.X_test.shape == (10, 100) and a.task == "autoencoder"
    assert a.T_train is a.X_train
    for X in (a.X_train, a.X_test):
        assert X.min() >= 0 and X.max() <= 1
        # every image has a (nearly) fully inked pixel, soft (anti-aliased) edges and mostly background
        assert np.all(X.max(axis=1) > 0.9) and np.all(np.mean((X > 0) & (X < 1), axis=1) > 0)
        assert np.all(np.mean(X == 0, axis=1) > 0.5)
    # The test set comes from its own stream: it does not change with n_train.
    np.testing.assert_array_equal(curves(5, 10, size=10, seed=7).X_test, a.X_test)
    np.testing.assert_array_equal(curves(5, 10, size=10, seed=7).X_train, a.X_train[:5])


def test_curve_pixels_follow_the_pen():
    """Each pixel's intensity is clip(width/2 + ½ − d, 0, 1) with d the distance from its centre
    to the drawn polyline, measured here by brute force over a dense resampling of the polyline
    (spacing under 0.02 px, hence the tolerance)."""
    from riemannopt.nn.datasets import _curve_points, _draw

    line = _curve_points(np.random.default_rng(0), 1, 16, 24)[0]
    img = _draw(line[None], 16, 1.5)[0]
    t = np.linspace(0, 1, 300)[:, None]
    dense = np.concatenate([a + t * (b - a) for a, b in zip(line[:-1], line[1:])])
    c = np.arange(16) + 0.5
    centers = np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1).reshape(-1, 2)
    dist = np.min(np.linalg.norm(centers[:, None, :] - dense[None, :, :], axis=2), axis=1)
    np.testing.assert_allclose(img, np.clip(1.25 - dist, 0, 1), atol=0.02)
    assert 0 < np.mean(img > 0) < 0.5


def test_spirals_are_not_linearly_separable():
    """The best linear softmax classifier (fitted here with L-BFGS) misclassifies over 40 % of
    the training points; the labels are balanced and the inputs have unit variance."""
    d = spirals(1500, 300, classes=5, dim=20, seed=1)
    X, y = d.X_train, d.T_train
    assert d.task == "classifier" and X.shape == (1500, 20) and set(np.unique(y)) == set(range(5))
    np.testing.assert_allclose(X.var(axis=0), 1.0, atol=0.15)
    assert np.bincount(y).min() > 200

    def f(w):
        W, b = w[:100].reshape(20, 5), w[100:]
        s = X @ W + b
        p = np.exp(s - logsumexp(s, axis=1, keepdims=True))
        loss = np.mean(logsumexp(s, axis=1) - s[np.arange(len(y)), y])
        p[np.arange(len(y)), y] -= 1
        return loss, np.concatenate([(X.T @ p).ravel(), p.sum(axis=0)]) / len(y)

    w = minimize(f, np.zeros(105), jac=True, method="L-BFGS-B").x
    error = np.mean(np.argmax(X @ w[:100].reshape(20, 5) + w[100:], axis=1) != y)
    assert error > 0.4
    np.testing.assert_array_equal(spirals(1500, 300, seed=1).T_test, d.T_test)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: curves(0, 1), "n_train must be an integer >= 1"),
        (lambda: curves(2, 1, size=2), "size must be an integer >= 4"),
        (lambda: curves(2, 1, width=-1.0), "width must be a finite number > 0"),
        (lambda: spirals(5, 5, classes=1), "classes must be an integer >= 2"),
        (lambda: spirals(5, 5, noise=float("nan")), "noise must be a finite number"),
    ],
)
def test_generator_arguments(call, match):
    with pytest.raises(InputError, match=match):
        call()


def test_load_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X, Xt = rng.uniform(size=(8, 3)), rng.uniform(size=(4, 3))
    np.savez(tmp_path / "ae.npz", X_train=X, X_test=Xt)
    d = load_npz(tmp_path / "ae.npz")
    assert d.task == "autoencoder" and d.name == "ae"
    np.testing.assert_array_equal(d.T_train, X)
    np.savez(tmp_path / "cls.npz", X_train=X, X_test=Xt, T_train=np.arange(8) % 3, T_test=np.array([0.0, 1, 2, 1]))
    d = load_npz(tmp_path / "cls.npz", name="mine")
    assert d.task == "classifier" and d.name == "mine" and d.T_test.dtype.kind == "i"


@pytest.mark.parametrize(
    "arrays, error, match",
    [
        (dict(X_train=np.ones((3, 2))), InputError, "lacks X_test"),
        (dict(X_train=np.ones((3, 2)), X_test=np.ones((2, 3))), ShapeError, "have 2 and 3 columns"),
        (dict(X_train=np.ones(3), X_test=np.ones((2, 3))), ShapeError, "X_train in bad.npz must be a non-empty 2-D"),
        (dict(X_train=np.full((3, 2), np.nan), X_test=np.ones((2, 2))), InputError, "must be finite"),
        (dict(X_train=np.ones((3, 2)), X_test=np.ones((2, 2)), T_train=np.zeros(3)), InputError, "only one of"),
        (
            dict(X_train=np.ones((3, 2)), X_test=np.ones((2, 2)), T_train=np.zeros(2), T_test=np.zeros(2)),
            ShapeError,
            "T_train in bad.npz has 2 rows for 3 examples",
        ),
        (
            dict(X_train=np.ones((3, 2)), X_test=np.ones((2, 2)), T_train=np.full(3, 0.5), T_test=np.zeros(2)),
            InputError,
            "integer class labels",
        ),
        (
            dict(X_train=np.ones((3, 2)), X_test=np.ones((2, 2)), T_train=-np.ones(3, int), T_test=np.zeros(2, int)),
            InputError,
            "labels >= 0",
        ),
    ],
)
def test_load_npz_errors(arrays, error, match, tmp_path):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(error, match=match):
        load_npz(tmp_path / "bad.npz")


def test_load_npz_missing_or_unreadable(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_npz(tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(InputError, match="cannot read"):
        load_npz(tmp_path / "text.npz")


# -- scikit-learn's digits ------------------------------------------------------------------------


def test_digits_shape_range_split_and_determinism():
    """1797 real 8×8 images in [0, 1]; seed s permutes them once: a disjoint train / test split
    (default 1200 / 597, all the images), the same for the same seed, another for another, the
    test set independent of n_train."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    d = digits(seed=3)
    assert d.task == "classifier" and d.name == "digits"
    assert d.X_train.shape == (1200, 64) and d.X_test.shape == (597, 64) and d.X_train.dtype == np.float64
    for X in (d.X_train, d.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
        np.testing.assert_array_equal(X * 16, np.round(X * 16))  # pixels 0–16 scaled by 1/16
    assert d.T_train.dtype.kind == "i" and set(np.unique(d.T_train)) == set(range(10))
    # Every image once: the split is a permutation of scikit-learn's images, labels kept with them.
    ref = load_digits()
    both = np.concatenate([d.X_train, d.X_test]) * 16
    key = lambda X: sorted(map(bytes, X.astype(np.uint8)))  # noqa: E731
    assert key(both) == key(ref.data)
    i = int(np.flatnonzero((ref.data == d.X_train[0] * 16).all(axis=1))[0])
    assert d.T_train[0] == ref.target[i]
    again, other = digits(seed=3), digits(seed=4)
    np.testing.assert_array_equal(again.X_train, d.X_train)
    np.testing.assert_array_equal(again.T_test, d.T_test)
    assert not np.array_equal(other.X_train, d.X_train)
    small = digits(100, 597, seed=3)
    np.testing.assert_array_equal(small.X_test, d.X_test)
    np.testing.assert_array_equal(small.X_train, d.X_train[:100])


def test_digits_autoencoder_and_standardized_inputs():
    pytest.importorskip("sklearn")
    ae = digits(50, 20, seed=1, task="autoencoder")
    assert ae.task == "autoencoder" and ae.T_train is ae.X_train and ae.X_test.shape == (20, 64)
    plain = digits(50, 20, seed=1)
    np.testing.assert_array_equal(ae.X_train, plain.X_train)
    std = digits(50, 20, seed=1, standardize=True)
    both = np.concatenate([std.X_train, std.X_test])
    assert abs(both.mean()) < 1e-12 and abs(both.std() - 1) < 1e-12
    # one affine map for all pixels (the paper's code for the MNIST classifier)
    scale = (std.X_train[0] - std.X_train[0].min()) / np.ptp(std.X_train[0])
    np.testing.assert_allclose(scale, (plain.X_train[0] - plain.X_train[0].min()) / np.ptp(plain.X_train[0]))
    np.testing.assert_array_equal(std.T_train, plain.T_train)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_train=1200, n_test=598), "n_train \\+ n_test must be at most the 1797 digit images"),
        (dict(n_train=0), "n_train must be an integer >= 1"),
        (dict(task="regression"), "task must be 'classifier' or 'autoencoder'"),
        (dict(standardize="yes"), "standardize must be True or False"),
    ],
)
def test_digits_arguments(kwargs, match):
    """Arguments are checked before scikit-learn is needed."""
    with pytest.raises(InputError, match=match):
        digits(**kwargs)


def test_digits_without_scikit_learn_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setattr(datasets, "_DIGITS", None)
    with pytest.raises(BackendUnavailableError, match=r'install the data extra: pip install "riemannopt\[data\]"'):
        digits()
    with pytest.raises(BackendUnavailableError, match="scikit-learn"):
        datasets.require_sklearn()
