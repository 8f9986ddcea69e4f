"""parallel_transport: closed forms on the sphere and the Poincaré half-plane, preserved inner
products, linearity, and transport there and back."""

import numpy as np
import pytest

import riemannopt as ro


@pytest.fixture(scope="module")
def sphere():
    return ro.models.sphere().compile()


@pytest.fixture(scope="module")
def half_plane():
    return ro.models.poincare_half_plane().compile()


@pytest.fixture(scope="module")
def gamma():
    return ro.models.gamma_mle(ro.models.gamma_data()).compile()


def _embed(th, ph):
    return np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])


def _jacobian(th, ph):
    """Columns: the embedded coordinate vectors ∂/∂θ, ∂/∂φ of the unit sphere."""
    return np.array(
        [
            [np.cos(th) * np.cos(ph), -np.sin(th) * np.sin(ph)],
            [np.cos(th) * np.sin(ph), np.sin(th) * np.cos(ph)],
            [-np.sin(th), 0.0],
        ]
    )


@pytest.mark.parametrize("x, v, w", [((1.0, 0.3), (0.4, 0.9), (0.7, -0.2)), ((2.0, -1.0), (-0.8, 0.5), (0.1, 1.3))])
def test_sphere_great_circle_closed_form(sphere, x, v, w):
    """On the unit sphere the geodesic from p with embedded velocity u (speed s) is the great
    circle p cos(st) + (u/s) sin(st); a parallel field keeps its components along the unit
    tangent T(t) = −p sin(st) + (u/s) cos(st) and along the binormal p × u/s.  Compared in R³
    after mapping the result through the embedding's Jacobian (1e-10)."""
    x, v, w = map(np.array, (x, v, w))
    J0 = _jacobian(*x)
    p, u, we = _embed(*x), J0 @ v, J0 @ w
    s = np.linalg.norm(u)
    e = u / s
    b = np.cross(p, e)
    T1 = -p * np.sin(s) + e * np.cos(s)
    want = (we @ e) * T1 + (we @ b) * b
    W = ro.parallel_transport(sphere, x, v, w)
    y = ro.exp_map(sphere, x, v)
    np.testing.assert_allclose(_embed(*y), p * np.cos(s) + e * np.sin(s), atol=1e-10)
    np.testing.assert_allclose(_jacobian(*y) @ W, want, atol=1e-10)


@pytest.mark.parametrize(
    "x, v, w",
    [
        ((0.0, 1.0), (1.0, 0.5), (0.3, -0.8)),
        ((0.3, 2.0), (-1.5, 2.0), (1.0, 1.0)),
        ((0.5, 1.5), (0.0, 0.9), (0.4, 0.2)),
    ],
)
def test_half_plane_closed_form(half_plane, x, v, w):
    """The half-plane metric is conformal (g = I/y²), so Euclidean angles are the metric's: a
    parallel field keeps its angle to the geodesic's velocity and its hyperbolic length, i.e. its
    Euclidean length scales with y.  The expected W(1) is the end velocity γ̇(1) (closed form of
    the geodesic: x = c + r tanh τ, y = r / cosh τ, or a vertical line) rotated by the initial
    angle and rescaled (1e-10)."""
    x, v, w = map(np.array, (x, v, w))
    xe, ve = _half_plane_geodesic_end(x, v)
    y = ro.exp_map(half_plane, x, v)
    np.testing.assert_allclose(y, xe, atol=1e-10)
    angle = np.arctan2(w[1], w[0]) - np.arctan2(v[1], v[0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    want = rot @ (ve / np.linalg.norm(ve)) * np.linalg.norm(w) * xe[1] / x[1]
    np.testing.assert_allclose(ro.parallel_transport(half_plane, x, v, w), want, atol=1e-10)


def _half_plane_geodesic_end(x, v):
    """(γ(1), γ̇(1)) of the half-plane geodesic from x with velocity v, in closed form."""
    speed = np.hypot(*v) / x[1]  # hyperbolic speed, constant
    if abs(v[0]) < 1e-15:  # vertical line: y(t) = y0 exp(±speed t)
        y1 = x[1] * np.exp(np.sign(v[1]) * speed)
        return np.array([x[0], y1]), np.array([0.0, np.sign(v[1]) * speed * y1])
    # semicircle centred at (c, 0), radius r: x = c + r tanh τ, y = r / cosh τ, τ = τ0 + σ·speed·t
    c = x[0] + x[1] * v[1] / v[0]
    r = np.hypot(x[0] - c, x[1])
    tau0 = np.arctanh((x[0] - c) / r)
    sigma = np.sign(v[0])
    tau = tau0 + sigma * speed
    dtau = sigma * speed
    pos = np.array([c + r * np.tanh(tau), r / np.cosh(tau)])
    vel = np.array([r / np.cosh(tau) ** 2, -r * np.tanh(tau) / np.cosh(tau)]) * dtau
    return pos, vel


def test_inner_products_preserved(gamma):
    """On the Gamma manifold (a non-trivial Fisher metric) transport is an isometry:
    g(W1, W2) at the end equals g(w1, w2) at the start, for every pair (1e-10 relative)."""
    x, v = np.array([1.5, 1.2]), np.array([0.6, -0.4])
    ws = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.3]])
    Ws = np.array([ro.parallel_transport(gamma, x, v, w) for w in ws])
    y = ro.exp_map(gamma, x, v)
    np.testing.assert_allclose(Ws @ gamma.metric(y) @ Ws.T, ws @ gamma.metric(x) @ ws.T, rtol=1e-10)


def test_linear_and_there_and_back(gamma):
    """Transport is linear in w, and transporting back along the reversed geodesic (from γ(1)
    with velocity −γ̇(1)) returns w (1e-10)."""
    x, v = np.array([1.5, 1.2]), np.array([0.6, -0.4])
    w1, w2 = np.array([0.3, 0.9]), np.array([-1.1, 0.2])
    T = lambda w: ro.parallel_transport(gamma, x, v, w)  # noqa: E731
    np.testing.assert_allclose(T(2 * w1 - 3 * w2), 2 * T(w1) - 3 * T(w2), rtol=1e-10, atol=1e-12)
    end = ro.geodesic(gamma, x, v, [0.0, 1.0])
    back = ro.parallel_transport(gamma, end.x[-1], -end.v[-1], T(w1))
    np.testing.assert_allclose(back, w1, rtol=1e-10, atol=1e-12)


def test_transporting_the_velocity_gives_the_end_velocity(gamma):
    """A geodesic's velocity is parallel along it: transporting v gives γ̇(1) (1e-11)."""
    x, v = np.array([1.5, 1.2]), np.array([0.6, -0.4])
    np.testing.assert_allclose(ro.parallel_transport(gamma, x, v, v), ro.geodesic(gamma, x, v, [1.0]).v[0], rtol=1e-11)


def test_bad_inputs(gamma):
    """A bad w is named before any work; a geodesic that leaves the domain is an ExpMapError."""
    with pytest.raises(ro.errors.InputError, match=r"w must be finite"):
        ro.parallel_transport(gamma, [1.0, 1.0], [0.1, 0.1], [np.nan, 0.0])
    with pytest.raises(ro.errors.ShapeError, match=r"w must have shape \(2,\)"):
        ro.parallel_transport(gamma, [1.0, 1.0], [0.1, 0.1], [1.0, 0.0, 0.0])
    with pytest.raises(ro.errors.ExpMapError, match="parallel_transport failed: the geodesic from x"):
        ro.parallel_transport(ro.models.polar_plane().compile(), [1.0, 0.0], [-2.0, 0.0], [0.0, 1.0])
