"""Exponential map and geodesics against closed-form geodesics of three toy manifolds."""

import numpy as np
import pytest

import riemannopt as ro
from riemannopt.errors import ExpMapError, MethodError

EXPMAPS = ["dop853", "dopri", "solve_ivp"]


# -- closed forms (independent of riemannopt: elementary geometry) ---------------------------------
def polar_geodesic(x, v, t):
    """Straight line in Cartesian coordinates, converted back to (r, θ)."""
    r, th = x
    p = np.array([r * np.cos(th), r * np.sin(th)])
    u = np.array([v[0] * np.cos(th) - r * np.sin(th) * v[1], v[0] * np.sin(th) + r * np.cos(th) * v[1]])
    q = p + t * u
    ang = np.arctan2(q[1], q[0])
    ang += 2 * np.pi * np.round((th - ang) / (2 * np.pi))  # continuous branch near θ0 for short arcs
    return np.array([np.hypot(*q), ang])


def sphere_geodesic(x, v, t):
    """Great circle through the embedded point with the embedded velocity."""
    th, ph = x
    P = np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    dth = np.array([np.cos(th) * np.cos(ph), np.cos(th) * np.sin(ph), -np.sin(th)])
    dph = np.array([-np.sin(th) * np.sin(ph), np.sin(th) * np.cos(ph), 0.0])
    U = dth * v[0] + dph * v[1]
    s = np.linalg.norm(U)
    Q = P * np.cos(s * t) + U / s * np.sin(s * t)
    ang = np.arctan2(Q[1], Q[0])
    ang += 2 * np.pi * np.round((ph - ang) / (2 * np.pi))
    return np.array([np.arccos(Q[2]), ang])


def halfplane_geodesic(x, v, t):
    """Semicircle centred on the real axis: x = c + R tanh(s), y = R / cosh(s), unit speed in s."""
    x0, y0 = x
    lam = np.linalg.norm(v) / y0  # hyperbolic speed
    if v[0] == 0:
        return np.array([x0, y0 * np.exp(v[1] / y0 * t)])
    c = x0 + y0 * v[1] / v[0]
    R = np.hypot(x0 - c, y0)
    s = np.arctanh((x0 - c) / R) + np.sign(v[0]) * lam * t
    return np.array([c + R * np.tanh(s), R / np.cosh(s)])


CASES = [
    ("polar", ro.models.polar_plane, polar_geodesic, [1.3, 0.4], [0.7, -0.9]),
    ("sphere", ro.models.sphere, sphere_geodesic, [1.1, 0.3], [0.6, 0.8]),
    ("half-plane", ro.models.poincare_half_plane, halfplane_geodesic, [0.2, 1.5], [0.9, 0.5]),
    ("half-plane vertical", ro.models.poincare_half_plane, halfplane_geodesic, [0.2, 1.5], [0.0, -0.7]),
]


@pytest.fixture(scope="module")
def compiled():
    return {
        name: ctor().compile()
        for name, ctor in [
            ("polar", ro.models.polar_plane),
            ("sphere", ro.models.sphere),
            ("half-plane", ro.models.poincare_half_plane),
        ]
    }


@pytest.mark.parametrize("method", EXPMAPS)
@pytest.mark.parametrize("name, ctor, closed, x, v", CASES, ids=[c[0] for c in CASES])
def test_exp_map_matches_closed_form(compiled, method, name, ctor, closed, x, v):
    """Exp_x(v) = γ(1) against the closed-form geodesic, to 1e-9 relative."""
    C = compiled[name.split(" ")[0]]
    for scale in [0.3, 1.0, 2.0]:
        vv = scale * np.array(v)
        got = ro.exp_map(C, x, vv, method=method)
        want = closed(np.array(x), vv, 1.0)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", EXPMAPS)
@pytest.mark.parametrize("name, ctor, closed, x, v", CASES, ids=[c[0] for c in CASES])
def test_geodesic_curve_and_speed(compiled, method, name, ctor, closed, x, v):
    """ro.geodesic samples the closed form, and the speed g(γ̇, γ̇) stays constant (to 1e-10)."""
    C = compiled[name.split(" ")[0]]
    ts = np.linspace(0.0, 1.5, 13)
    path = ro.geodesic(C, x, v, ts, method=method)
    for t, xt in zip(ts, path.x):
        np.testing.assert_allclose(xt, closed(np.array(x), np.array(v), t), rtol=1e-9, atol=1e-12)
    speed = np.array([vt @ C.metric(xt) @ vt for xt, vt in zip(path.x, path.v)])
    assert speed[0] == pytest.approx(np.array(v) @ C.metric(x) @ np.array(v), rel=1e-14)
    np.testing.assert_allclose(speed, speed[0], rtol=1e-10)


def test_exp_map_of_zero_is_identity(compiled):
    x = np.array([1.2, 0.3])
    np.testing.assert_array_equal(ro.exp_map(compiled["polar"], x, np.zeros(2)), x)


@pytest.mark.parametrize("method", EXPMAPS)
def test_exp_map_through_the_origin_fails(compiled, method):
    """A straight line through r = 0 leaves the polar chart: the solver cannot finish."""
    with pytest.raises(ExpMapError, match="exp_map"):
        ro.exp_map(compiled["polar"], [1.0, 0.0], [-2.0, 0.0], method=method)


def test_exp_map_bad_method(compiled):
    with pytest.raises(MethodError, match="dopri"):
        ro.exp_map(compiled["polar"], [1.0, 0.0], [0.1, 0.0], method="rk45")
