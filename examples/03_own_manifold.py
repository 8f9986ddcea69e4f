"""
Your own manifold: geodesics and the exponential map
====================================================

A Riemannian manifold in riemannopt is a list of coordinates and a metric matrix written in
sympy. From the metric riemannopt derives the Christoffel symbols

.. math:: \\Gamma^m_{ij} = \\tfrac12 g^{mk} (\\partial_i g_{kj} + \\partial_j g_{ki} - \\partial_k g_{ij})

(paper eq. 2), compiles them, and integrates the geodesic equation
:math:`\\ddot\\gamma + \\Gamma(\\dot\\gamma, \\dot\\gamma) = 0`. The exponential map
:math:`\\mathrm{Exp}_x(v) = \\gamma(1)` is the end point of the geodesic that leaves ``x`` with
velocity ``v``: it is the step that Riemannian Euler (``re``) takes.

Two manifolds whose geodesics we know in closed form:

* the Poincaré half-plane, ``g = I / y²`` for ``y > 0``: geodesics are half-circles centred on the
  ``x`` axis (and vertical lines);
* the unit sphere in spherical coordinates ``(θ, φ)``, ``g = diag(1, sin²θ)``: geodesics are great
  circles, so in three dimensions every geodesic lies in a plane through the origin.
"""

import numpy as np
import sympy as sp
from matplotlib.figure import Figure

import riemannopt as ro

# %%
# The half-plane, written by hand. A loss is needed to make a :class:`riemannopt.Problem`; the
# geodesics do not depend on it.
x, y = sp.symbols("x y", real=True)
half_plane = ro.Metric([x, y], sp.diag(1 / y**2, 1 / y**2))
print("Christoffel symbols Γ^m_ij of the half-plane:", half_plane.christoffel)
H = ro.Problem(half_plane, (x**2 + sp.log(y) ** 2) / 2, domain=[y > 0], name="half-plane")

# %%
# A fan of geodesics from one point, each sampled over t ∈ [0, 1]. The closed form says each one
# stays on the circle centred at c = x₀ + y₀ v_y / v_x on the axis, through the start point.
start = np.array([0.0, 1.0])
ts = np.linspace(0.0, 1.0, 60)
fan = []
for angle in np.linspace(0.15, np.pi - 0.15, 9):
    v = 1.5 * np.array([np.cos(angle), np.sin(angle)])
    path = ro.geodesic(H, start, v, ts)
    c = start[0] + start[1] * v[1] / v[0]
    radius = np.hypot(start[0] - c, start[1])
    off_circle = np.abs(np.hypot(path.x[:, 0] - c, path.x[:, 1]) - radius).max()
    fan.append((path, off_circle))
print(f"largest distance of a computed point from its closed-form circle: {max(e for _, e in fan):.1e}")
end = ro.exp_map(H, start, [1.5, 0.0])
print(f"Exp_(0, 1)((1.5, 0)) = {end}")

# %%
# The sphere: the catalogue's :func:`riemannopt.models.sphere` is the same construction. Every
# geodesic, mapped to three dimensions, should stay in the plane spanned by its start point and
# its initial velocity.
S = ro.models.sphere()


def embed(theta, phi):
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)


p0 = np.array([1.0, 0.3])
circles = []
# Directions away from the meridians: a meridian runs into a pole, where the chart (θ, φ) ends
# and riemannopt reports that the geodesic left the domain 0 < θ < π.
for angle in np.r_[np.linspace(0.4, np.pi - 0.4, 4), -np.linspace(0.4, np.pi - 0.4, 4)]:
    v = np.array([np.cos(angle), np.sin(angle) / np.sin(p0[0])])  # unit speed: |v|_g = 1
    path = ro.geodesic(S, p0, v, np.linspace(0, 2.5, 80))
    points = embed(path.x[:, 0], path.x[:, 1])
    h = 1e-6  # the initial velocity in R³, by a difference of the embedding
    normal = np.cross(embed(*p0), (embed(*(p0 + h * v)) - embed(*(p0 - h * v))) / (2 * h))
    circles.append((path, np.abs(points @ normal / np.linalg.norm(normal)).max()))
print(f"largest distance of a sphere geodesic from its great-circle plane: {max(e for _, e in circles):.1e}")

# %%
# Drawn in each manifold's own coordinates.
fig = Figure(figsize=(10, 4.2), layout="constrained")
left, right = fig.subplots(1, 2)
for path, _ in fan:
    left.plot(path.x[:, 0], path.x[:, 1], color="C0")
    left.plot(*path.x[-1], "o", color="C0", ms=3)
left.plot(*start, "ko")
left.set(title="Poincaré half-plane: geodesics from (0, 1)", xlabel="x", ylabel="y", aspect="equal")
for i, (path, _) in enumerate(circles):
    right.plot(path.x[:, 1], path.x[:, 0], color=f"C{i}")
right.plot(p0[1], p0[0], "ko")
right.invert_yaxis()
right.set(title="Sphere: great circles in the (φ, θ) chart", xlabel="φ", ylabel="θ")
fig.savefig("geodesics.png", dpi=120)
