"""Update directions (paper eq. 5, 7, 8–9 with damping) against dense linear algebra: the damped
Fisher ``A = F + λI`` assembled column by column from ``fisher_vp`` (itself checked against
complex-step Jacobians in test_nn_products.py) and solved with ``numpy.linalg.solve``."""

import numpy as np
import pytest

from riemannopt.nn import MLP
from riemannopt.nn.directions import (
    faster_geodesic_direction,
    geodesic_correction,
    geodesic_update,
    natural_direction,
)

CG = dict(tol=1e-13, eps=0, max_iter=500)


@pytest.fixture(scope="module")
def setup():
    net = MLP([3, 4, 2], ["tanh", "sigmoid"], "bce")
    rng = np.random.default_rng(5)
    theta = net.init(0, scheme="gaussian")
    X = rng.standard_normal((6, 3))
    T = rng.uniform(0, 1, (6, 2))
    state = net.linearize(theta, X)
    lam = 0.3
    A = np.column_stack([state.fisher_vp(e) for e in np.eye(net.n_params)]) + lam * np.eye(net.n_params)
    return net, state, state.gradient(T), A, lam, rng


def test_natural_direction(setup):
    net, state, g, A, lam, _ = setup
    d = natural_direction(state.fisher_vp, g, lam, ops=net.backend, **CG).x
    np.testing.assert_allclose(d, np.linalg.solve(A, -g), rtol=1e-9, atol=1e-12)


def test_geodesic_correction_and_update(setup):
    net, state, g, A, lam, _ = setup
    d = np.linalg.solve(A, -g)
    c = geodesic_correction(state.fisher_vp, state.connection_vp, d, lam, ops=net.backend, **CG).x
    np.testing.assert_allclose(c, np.linalg.solve(A, state.connection_vp(d)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(geodesic_update(d, c, 0.7, ops=net.backend), 0.7 * d - 0.245 * c, rtol=1e-15)


def test_faster_geodesic_direction(setup):
    """With a previous update Δ: A⁻¹(−g − ½Γ(Δ, Δ)); without one it is the natural direction,
    bit for bit."""
    net, state, g, A, lam, rng = setup
    delta = 0.1 * rng.standard_normal(net.n_params)
    w = faster_geodesic_direction(state.fisher_vp, state.connection_vp, g, delta, lam, ops=net.backend, **CG).x
    np.testing.assert_allclose(w, np.linalg.solve(A, -g - 0.5 * state.connection_vp(delta)), rtol=1e-9, atol=1e-12)
    first = faster_geodesic_direction(state.fisher_vp, state.connection_vp, g, None, lam, ops=net.backend, **CG).x
    np.testing.assert_array_equal(first, natural_direction(state.fisher_vp, g, lam, ops=net.backend, **CG).x)


def test_directions_leave_their_inputs_alone(setup):
    net, state, g, _, lam, _ = setup
    g0 = g.copy()
    natural_direction(state.fisher_vp, g, lam, ops=net.backend, max_iter=3)
    np.testing.assert_array_equal(g, g0)
