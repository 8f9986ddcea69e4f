"""Generated data sets and the .npz loader (riemannopt.nn.datasets)."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

from riemannopt.errors import InputError, ShapeError
from riemannopt.nn.datasets import curves, load_npz, spirals


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
