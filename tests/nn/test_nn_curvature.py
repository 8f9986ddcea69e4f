"""The training objective (riemannopt.nn.objective) and the curvature of each iteration
(riemannopt.nn.curvature), against per-example gradients and the network's own products."""

import numpy as np
import pytest

from riemannopt.nn import MLP
from riemannopt.nn.curvature import Curvature
from riemannopt.nn.objective import Objective

WD = 0.05


@pytest.fixture(scope="module")
def problem():
    net = MLP([3, 4, 2], ["tanh", "softmax"], "softmax_ce", dtype=np.float64)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 3))
    labels = rng.integers(0, 2, 10)
    theta = net.init(1, scheme="gaussian")
    return net, X, labels, theta, rng


def weights_mask(net):
    m = np.zeros(net.n_params)
    for W, _ in net.layout.views(m):
        W[...] = 1
    return m


def test_objective_value_is_loss_plus_weight_decay_on_weights(problem):
    """f(θ) = mean cross-entropy + ½w‖weights‖² (biases excluded); a non-finite θ evaluates to
    +inf without a forward pass."""
    net, X, labels, theta, _ = problem
    obj = Objective(net, X, labels, WD, seed=0)
    ev = obj.evaluate(theta)
    loss = net.loss(theta, X, labels)
    assert ev.loss == pytest.approx(loss, rel=1e-12)
    assert ev.value == pytest.approx(loss + 0.5 * WD * np.sum((weights_mask(net) * theta) ** 2), rel=1e-12)
    bad = theta.copy()
    bad[0] = np.inf
    assert obj.evaluate(bad).value == np.inf and obj.evaluate(bad).fwd is None


def test_empirical_and_fisher_products_with_weight_decay(problem):
    """Fisher: F v + w m⊙v with F from MLP.fisher_vp.  Empirical: (1/n) Σ g_k g_kᵀ v + w m⊙v with
    the per-example gradients g_k taken one row at a time (Martens, New perspectives, §7)."""
    net, X, labels, theta, rng = problem
    obj = Objective(net, X, labels, WD, seed=0)
    ev = obj.evaluate(theta)
    v = rng.standard_normal(net.n_params)
    decay = WD * weights_mask(net) * v
    fisher = Curvature(obj, "fisher").at(ev, 1)
    np.testing.assert_allclose(fisher.fvp(v), net.fisher_vp(theta, X, v) + decay, rtol=1e-10, atol=1e-14)
    G = np.array([net.gradient(theta, X[k : k + 1], labels[k : k + 1]) for k in range(len(X))])
    empirical = Curvature(obj, "empirical").at(ev, 1)
    np.testing.assert_allclose(empirical.fvp(v), G.T @ (G @ v) / len(X) + decay, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(fisher.cvp(v), net.connection_vp(theta, X, v), rtol=1e-10, atol=1e-14)


def test_chunks_cycle_and_cover_the_data(problem):
    """Iteration k uses chunk (k − 1) mod chunks; the chunks partition the (shuffled) examples;
    with one chunk of the training data the evaluation's forward pass is reused."""
    net, X, labels, theta, _ = problem
    obj = Objective(net, X, labels, 0.0, seed=5)
    curv = Curvature(obj, "fisher", chunks=3)
    parts = [curv.chunk(k)[0] for k in (1, 2, 3)]
    assert [len(p) for p in parts] == [3, 4, 3]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts), axis=0), np.sort(X, axis=0))
    np.testing.assert_array_equal(curv.chunk(4)[0], parts[0])
    ev = obj.evaluate(theta)
    v = np.ones(net.n_params)
    np.testing.assert_allclose(curv.at(ev, 2).fvp(v), net.fisher_vp(theta, parts[1], v), rtol=1e-12)
    assert Curvature(obj, "fisher", chunks=1).at(ev, 7).fwd is ev.fwd
