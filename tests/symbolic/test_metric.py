"""Metric: inverse, Christoffel symbols of both kinds, metric compatibility.

Independent references used here:

* textbook closed forms of Γ for the polar plane, the unit sphere, the Poincaré half-plane and the
  Gaussian in (μ, σ), compared exactly (``simplify(difference) == 0``);
* algebraic identities that hold for the Levi-Civita connection of any metric (symmetry in the
  lower indices, ``g·Γ = Γ_first``, ``∂_i g_kj = Γ_kij + Γ_jik``), compared exactly;
* metric compatibility ``∇g = 0`` checked numerically, with ``∂_k g_ij`` from a fourth-order central
  finite difference of the *compiled* metric and Γ from the *compiled* Christoffel symbols.
"""

import numpy as np
import pytest
import sympy as sp

import riemannopt as ro


def _zero(expr):
    return sp.simplify(expr) == 0


def _christoffel_closed_form(n, entries):
    """A full (n, n, n) nested list of Γ^m_ij from the nonzero ``{(m, i, j): expr}`` (i ≤ j)."""
    G = [[[sp.S.Zero] * n for _ in range(n)] for _ in range(n)]
    for (m, i, j), e in entries.items():
        G[m][i][j] = G[m][j][i] = e
    return G


def _assert_christoffel_equals(M, expected):
    n = M.n
    for m in range(n):
        for i in range(n):
            for j in range(n):
                got = M.christoffel[m, i, j]
                assert _zero(got - expected[m][i][j]), f"Γ^{m}_{i}{j} = {got}, expected {expected[m][i][j]}"


# -- textbook closed forms (exact) ------------------------------------------------------------------
def test_polar_christoffel_closed_form(polar_problem):
    """Flat plane in (r, θ): Γ^r_θθ = −r, Γ^θ_rθ = Γ^θ_θr = 1/r, all others 0 (exact)."""
    M = polar_problem.metric
    r, th = M.coords
    _assert_christoffel_equals(M, _christoffel_closed_form(2, {(0, 1, 1): -r, (1, 0, 1): 1 / r}))


def test_sphere_christoffel_closed_form(sphere_problem):
    """Unit sphere in (θ, φ): Γ^θ_φφ = −sinθ cosθ, Γ^φ_θφ = cot θ, all others 0 (exact)."""
    M = sphere_problem.metric
    th, ph = M.coords
    expected = _christoffel_closed_form(2, {(0, 1, 1): -sp.sin(th) * sp.cos(th), (1, 0, 1): sp.cot(th)})
    _assert_christoffel_equals(M, expected)


def test_half_plane_christoffel_closed_form(half_plane_problem):
    """Poincaré half-plane, g = I/y²: Γ^x_xy = −1/y, Γ^y_xx = 1/y, Γ^y_yy = −1/y, others 0 (exact)."""
    M = half_plane_problem.metric
    x, y = M.coords
    expected = _christoffel_closed_form(2, {(0, 0, 1): -1 / y, (1, 0, 0): 1 / y, (1, 1, 1): -1 / y})
    _assert_christoffel_equals(M, expected)


def test_gaussian_christoffel_closed_form():
    """N(μ, σ²) in (μ, σ), g = diag(1/σ², 2/σ²) (a scaled hyperbolic plane), worked out by hand:
    Γ^μ_μσ = −1/σ, Γ^σ_μμ = 1/(2σ), Γ^σ_σσ = −1/σ, others 0 (exact)."""
    M = ro.models.gaussian_fisher()
    mu, s = M.coords
    _assert_christoffel_equals(
        M, _christoffel_closed_form(2, {(0, 0, 1): -1 / s, (1, 0, 0): 1 / (2 * s), (1, 1, 1): -1 / s})
    )


def test_euclidean_cartesian_is_flat():
    """Constant metric → every Christoffel symbol is exactly 0, and the inverse is the matrix inverse."""
    x, y, z = sp.symbols("x y z", real=True)
    g = sp.Matrix([[2, 1, 0], [1, 3, 0], [0, 0, 5]])
    M = ro.Metric([x, y, z], g)
    assert all(e == 0 for e in sp.flatten(M.christoffel.tolist()))
    assert all(e == 0 for e in sp.flatten(M.christoffel_first.tolist()))
    assert M.inverse == g.inv()
    assert M.det == 25


def test_christoffel_shape_and_index_convention():
    """Array shape (n, n, n) and the [m, i, j] = Γ^m_ij convention on a metric with distinct entries.

    For g = diag(1, e^{2x}) in (x, y): Γ^x_yy = −e^{2x}, Γ^y_xy = 1 (by hand), Γ_first[x, y, y] = −e^{2x},
    Γ_first[y, x, y] = e^{2x} (exact)."""
    x, y = sp.symbols("x y", real=True)
    M = ro.Metric([x, y], sp.diag(1, sp.exp(2 * x)))
    assert M.christoffel.shape == (2, 2, 2)
    assert M.christoffel_first.shape == (2, 2, 2)
    _assert_christoffel_equals(M, _christoffel_closed_form(2, {(0, 1, 1): -sp.exp(2 * x), (1, 0, 1): sp.S.One}))
    assert _zero(M.christoffel_first[0, 1, 1] + sp.exp(2 * x))
    assert _zero(M.christoffel_first[1, 0, 1] - sp.exp(2 * x))
    assert _zero(M.christoffel_first[1, 1, 0] - sp.exp(2 * x))


# -- identities for every catalogue metric (exact) --------------------------------------------------
def _metrics():
    P = ro.models.gamma_mle(ro.models.gamma_data(n=10))
    sq = P.reparameterize(*ro.models.GAMMA_REPARAMS["squares"])
    return {
        "polar": ro.models.polar_plane().metric,
        "sphere": ro.models.sphere().metric,
        "half-plane": ro.models.poincare_half_plane().metric,
        "gamma": ro.models.gamma_fisher(),
        "gaussian": ro.models.gaussian_fisher(),
        "beta": ro.models.beta_fisher(),
        "gamma-squares": sq.metric,
    }


@pytest.fixture(scope="module")
def metrics():
    return _metrics()


METRIC_NAMES = ["polar", "sphere", "half-plane", "gamma", "gaussian", "beta", "gamma-squares"]


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_inverse_is_inverse(metrics, name):
    """g · g⁻¹ simplifies to the identity (exact)."""
    M = metrics[name]
    assert (M.matrix * M.inverse - sp.eye(M.n)).applyfunc(sp.simplify) == sp.zeros(M.n)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_christoffel_symmetric_in_lower_indices(metrics, name):
    """Γ^m_ij = Γ^m_ji and Γ_kij = Γ_kji (torsion-free), exactly."""
    M = metrics[name]
    n = M.n
    for a in range(n):
        for i in range(n):
            for j in range(i + 1, n):
                assert _zero(M.christoffel[a, i, j] - M.christoffel[a, j, i])
                assert _zero(M.christoffel_first[a, i, j] - M.christoffel_first[a, j, i])


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_lowered_christoffel_is_first_kind(metrics, name):
    """g_km Γ^m_ij = Γ_kij (exact)."""
    M = metrics[name]
    n, g = M.n, M.matrix
    for k in range(n):
        for i in range(n):
            for j in range(n):
                lowered = sum(g[k, m] * M.christoffel[m, i, j] for m in range(n))
                assert _zero(lowered - M.christoffel_first[k, i, j]), (k, i, j)


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_first_kind_metric_compatibility_symbolic(metrics, name):
    """∂_i g_kj = Γ_kij + Γ_jik (∇g = 0 written with the first kind), exactly."""
    M = metrics[name]
    n, g, x = M.n, M.matrix, M.coords
    for i in range(n):
        for k in range(n):
            for j in range(n):
                lhs = sp.diff(g[k, j], x[i])
                assert _zero(lhs - M.christoffel_first[k, i, j] - M.christoffel_first[j, i, k]), (i, k, j)


# -- ∇g = 0 numerically with the compiled functions ---------------------------------------------------
def _random_points(name, rng, count):
    lo, hi = {
        "polar": ([0.3, -np.pi], [3.0, np.pi]),
        "sphere": ([0.3, -np.pi], [np.pi - 0.3, np.pi]),
        "half-plane": ([-2.0, 0.3], [2.0, 3.0]),
        "gamma": ([0.5, 0.5], [20.0, 20.0]),
        "gaussian": ([-2.0, 0.5], [2.0, 3.0]),
    }[name]
    return rng.uniform(lo, hi, size=(count, 2))


# Coordinates bounded below by 0: their finite-difference step shrinks with them.
_POSITIVE = {("polar", 0), ("sphere", 0), ("half-plane", 1), ("gamma", 0), ("gamma", 1), ("gaussian", 1)}


def _fd_partial(f, x, k, h):
    """Fourth-order central difference ∂_k f(x) (error O(h⁴))."""
    e = np.zeros_like(x)
    e[k] = h
    return (-f(x + 2 * e) + 8 * f(x + e) - 8 * f(x - e) + f(x - 2 * e)) / (12 * h)


@pytest.fixture(scope="module")
def compiled_models(gamma_compiled, polar_problem, sphere_problem, half_plane_problem):
    return {
        "polar": polar_problem.compile(),
        "sphere": sphere_problem.compile(),
        "half-plane": half_plane_problem.compile(),
        "gamma": gamma_compiled,
        "gaussian": ro.models.gaussian_mle(np.linspace(-1.0, 2.0, 7)).compile(),
    }


@pytest.mark.parametrize("name", ["polar", "sphere", "half-plane", "gamma", "gaussian"])
def test_metric_compatibility_numeric(compiled_models, name):
    """∂_k g_ij = Γ^l_ki g_lj + Γ^l_kj g_il at random points.

    Reference: ∂_k g_ij by a 4th-order central difference of ``C.metric`` with step h = 1e-3·scale
    (truncation ~h⁴, round-off ~1e-13); tolerance 1e-8 relative to the largest |∂g| or |g|."""
    C = compiled_models[name]
    rng = np.random.default_rng(11)
    for x in _random_points(name, rng, 5):
        g = C.metric(x)
        G = C.christoffel(x)
        for k in range(2):
            h = 1e-3 * min(1.0, abs(x[k])) if (name, k) in _POSITIVE else 1e-3
            dg = _fd_partial(C.metric, x, k, h)
            rhs = np.einsum("li,lj->ij", G[:, k, :], g) + np.einsum("lj,il->ij", G[:, k, :], g)
            scale = max(np.abs(dg).max(), np.abs(g).max())
            np.testing.assert_allclose(rhs, dg, rtol=0, atol=1e-8 * scale, err_msg=f"{name} at {x}, k={k}")


@pytest.mark.parametrize("name", ["polar", "sphere", "half-plane", "gamma", "gaussian"])
def test_compiled_first_kind_is_lowered_second_kind(compiled_models, name):
    """Numerically, g · Γ (compiled) equals Γ_first (compiled), rtol 1e-12 of the largest entry."""
    C = compiled_models[name]
    rng = np.random.default_rng(12)
    for x in _random_points(name, rng, 4):
        lowered = np.einsum("km,mij->kij", C.metric(x), C.christoffel(x))
        first = C.christoffel_first(x)
        np.testing.assert_allclose(lowered, first, rtol=0, atol=1e-12 * np.abs(first).max())


# -- construction -----------------------------------------------------------------------------------
def test_metric_accepts_nested_lists_and_compares_equal():
    r, th = sp.symbols("r theta", real=True)
    A = ro.Metric([r, th], [[1, 0], [0, r**2]])
    B = ro.Metric((r, th), sp.diag(1, r**2))
    assert A == B and hash(A) == hash(B)
    assert A.n == 2 and A.coords == (r, th)
    assert _zero(A.det - r**2)
    assert A != ro.Metric([r, th], sp.diag(1, 2 * r**2))
    assert "Metric(" in repr(A)
