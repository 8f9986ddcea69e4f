"""Reparameterization x = φ(ξ) of the Gamma problem, for all four parameterizations of paper §7.1.

Independent references:

* the transformation law of the connection, Γ̃(u, v) = J⁻¹[Γ(Ju, Jv) + ∂²φ(u, v)] with J = ∂φ/∂ξ,
  where Γ is the *compiled* base problem's and ∂²φ the Hessian of φ from sympy (and, as a coarser
  second check, from finite differences of ``Q.to_base``);
* the pull-back g̃ = Jᵀ g J with g from the compiled base metric and J exact (sympy) or from
  finite differences of ``Q.to_base``;
* φ and φ⁻¹ written by hand in numpy for ``to_base`` / ``from_base``.

The new problem's symbolic quantities are evaluated with mpmath at 30 digits.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp

import riemannopt as ro

NAMES = ["identity", "inv_beta", "cube_beta", "squares"]

# φ and φ⁻¹ by hand, (α', β') ↦ (α, β) and back.
PHI = {
    "identity": lambda a, b: (a, b),
    "inv_beta": lambda a, b: (a, 1 / b),
    "cube_beta": lambda a, b: (a, b**3),
    "squares": lambda a, b: (a**2, b**2),
}
PHI_INV = {
    "identity": lambda a, b: (a, b),
    "inv_beta": lambda a, b: (a, 1 / b),
    "cube_beta": lambda a, b: (a, np.cbrt(b)),
    "squares": lambda a, b: (np.sqrt(a), np.sqrt(b)),
}


def _sym_inverse(name, alpha, beta):
    return {
        "identity": (alpha, beta),
        "inv_beta": (alpha, 1 / beta),
        "cube_beta": (alpha, sp.cbrt(beta)),
        "squares": (sp.sqrt(alpha), sp.sqrt(beta)),
    }[name]


@pytest.fixture(scope="module")
def reparams(gamma_problem):
    out = {}
    for name in NAMES:
        coords, phi = ro.models.GAMMA_REPARAMS[name]
        out[name] = gamma_problem.reparameterize(coords, phi)
    return out


class _MP:
    """mpmath (30 digits) evaluation of sympy expressions of a problem's coordinates and params."""

    def __init__(self, problem, exprs):
        self.shape = np.shape(np.array(exprs.tolist() if hasattr(exprs, "tolist") else exprs, dtype=object))
        flat = sp.flatten(exprs.tolist()) if hasattr(exprs, "tolist") else list(exprs)
        self.f = sp.lambdify([problem.coords, problem.param_symbols], flat, modules="mpmath")
        self.p = [mpmath.mpf(float(v)) for v in problem.param_values]

    def __call__(self, x):
        with mpmath.workdps(30):
            vals = self.f([mpmath.mpf(float(t)) for t in x], self.p)
            return np.array([float(mpmath.re(v)) for v in vals]).reshape(self.shape)


def _points(rng, count):
    return rng.uniform(0.4, 4.0, size=(count, 2))


def _jacobian(name):
    coords, phi = ro.models.GAMMA_REPARAMS[name]
    phi = sp.Matrix(phi)
    J = sp.lambdify([coords], phi.jacobian(coords), "numpy")
    H = [sp.lambdify([coords], sp.hessian(e, coords), "numpy") for e in phi]
    return (lambda xi: np.asarray(J(xi), dtype=float)), (lambda xi: [np.asarray(h(xi), dtype=float) for h in H])


@pytest.mark.parametrize("name", NAMES)
def test_christoffel_transformation_law(gamma_compiled, reparams, name):
    """Γ̃(u, v) = J⁻¹[Γ(Ju, Jv) + ∂²φ(u, v)] at 6 random (ξ, u, v); rtol 1e-10 of |Γ̃|.

    Γ̃ is the symbolic Christoffel tensor of the reparameterized problem (mpmath), Γ the compiled
    base problem's ``gamma_uv``, ∂²φ the sympy Hessian of φ."""
    Q = reparams[name]
    G_new = _MP(Q, Q.metric.christoffel)
    J_of, H_of = _jacobian(name)
    rng = np.random.default_rng(100)
    for xi in _points(rng, 6):
        u, v = rng.normal(size=(2, 2))
        x = Q.to_base(xi)
        J, H = J_of(xi), H_of(xi)
        G = G_new(xi)
        for a, b in [(v, v), (u, v)]:
            lhs = np.einsum("mij,i,j->m", G, a, b)
            d2phi = np.array([a @ Hk @ b for Hk in H])
            rhs = np.linalg.solve(J, gamma_compiled.gamma_uv(x, J @ a, J @ b) + d2phi)
            np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-10 * np.abs(rhs).max(), err_msg=f"{name} at {xi}")


@pytest.mark.parametrize("name", NAMES)
def test_second_derivative_of_phi_by_finite_differences(reparams, name):
    """∂²φ(v, v) from sympy matches the second difference of ``Q.to_base`` along v (h = 1e-4,
    truncation ~h², round-off ~1e-8; rtol 1e-5) — the ingredient of the transformation law."""
    Q = reparams[name]
    _, H_of = _jacobian(name)
    rng = np.random.default_rng(101)
    for xi in _points(rng, 4):
        v = rng.normal(size=2)
        h = 1e-4
        fd = (Q.to_base(xi + h * v) - 2 * Q.to_base(xi) + Q.to_base(xi - h * v)) / h**2
        exact = np.array([v @ Hk @ v for Hk in H_of(xi)])
        np.testing.assert_allclose(fd, exact, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(exact).max()))


@pytest.mark.parametrize("name", NAMES)
def test_pulled_back_metric(gamma_compiled, reparams, name):
    """g̃(ξ) = Jᵀ g(φ(ξ)) J: with the exact J (rtol 1e-12) and with J from a 4th-order central
    difference of ``Q.to_base`` (h = 1e-3, rtol 1e-8)."""
    Q = reparams[name]
    g_new = _MP(Q, Q.metric.matrix)
    J_of, _ = _jacobian(name)
    rng = np.random.default_rng(102)
    for xi in _points(rng, 5):
        g = gamma_compiled.metric(Q.to_base(xi))
        J = J_of(xi)
        got = g_new(xi)
        np.testing.assert_allclose(got, J.T @ g @ J, rtol=1e-12, atol=1e-14 * np.abs(got).max())
        h = 1e-3
        cols = []
        for k in range(2):
            e = np.zeros(2)
            e[k] = h
            f = Q.to_base
            cols.append((-f(xi + 2 * e) + 8 * f(xi + e) - 8 * f(xi - e) + f(xi - 2 * e)) / (12 * h))
        J_fd = np.column_stack(cols)
        np.testing.assert_allclose(got, J_fd.T @ g @ J_fd, rtol=1e-8, atol=1e-8 * np.abs(got).max())


@pytest.mark.parametrize("name", NAMES)
def test_loss_gradient_and_direction_transform(gamma_compiled, reparams, name):
    """L̃(ξ) = L(φ(ξ)) (rtol 1e-12), ∇̃L = Jᵀ∇L (rtol 1e-11) and the natural direction is a vector,
    d̃ = J⁻¹ d (rtol 1e-9 of |d̃|), with L, ∇L, d from the compiled base problem."""
    Q = reparams[name]
    loss_new = _MP(Q, [Q.loss])
    grad_new = _MP(Q, Q.gradient)
    dir_new = _MP(Q, -Q.metric.inverse * Q.gradient)
    J_of, _ = _jacobian(name)
    rng = np.random.default_rng(103)
    for xi in _points(rng, 5):
        x = Q.to_base(xi)
        J = J_of(xi)
        np.testing.assert_allclose(loss_new(xi)[0], gamma_compiled.loss(x), rtol=1e-12)
        np.testing.assert_allclose(grad_new(xi).ravel(), J.T @ gamma_compiled.grad(x), rtol=1e-11, atol=1e-12)
        d = dir_new(xi).ravel()
        np.testing.assert_allclose(
            d, np.linalg.solve(J, gamma_compiled.direction(x)), rtol=0, atol=1e-9 * np.abs(d).max()
        )


@pytest.mark.parametrize("name", NAMES)
def test_to_base_matches_phi(reparams, name):
    """``to_base`` against φ written by hand (rtol 1e-15), for one point and for rows."""
    Q = reparams[name]
    rng = np.random.default_rng(104)
    xi = _points(rng, 7)
    expected = np.column_stack(PHI[name](xi[:, 0], xi[:, 1]))
    out = Q.to_base(xi)
    assert out.shape == (7, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    single = Q.to_base(list(xi[3]))
    assert single.shape == (2,)
    np.testing.assert_allclose(single, expected[3], rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_from_base_newton_round_trip(reparams, name):
    """Without an inverse, ``from_base`` solves φ(ξ) = x by Newton: it matches φ⁻¹ written by hand
    (rtol 1e-12), for base points spanning two decades, one point and rows."""
    Q = reparams[name]
    assert Q._inverse is None
    rng = np.random.default_rng(105)
    x = np.exp(rng.uniform(np.log(0.1), np.log(30.0), size=(6, 2)))
    expected = np.column_stack(PHI_INV[name](x[:, 0], x[:, 1]))
    xi = Q.from_base(x)
    assert xi.shape == (6, 2)
    np.testing.assert_allclose(xi, expected, rtol=1e-12)
    np.testing.assert_allclose(Q.to_base(xi), x, rtol=1e-12)
    one = Q.from_base(x[2])
    assert one.shape == (2,)
    np.testing.assert_allclose(one, expected[2], rtol=1e-12)
    # and the other way round: from_base(to_base(ξ)) = ξ
    xi0 = _points(rng, 4)
    np.testing.assert_allclose(Q.from_base(Q.to_base(xi0)), xi0, rtol=1e-12)


def test_from_base_uses_guess(reparams):
    """``squares`` has two preimages ±√x; the guess picks the branch (the domain allows both)."""
    Q = reparams["squares"]
    x = np.array([4.0, 9.0])
    np.testing.assert_allclose(Q.from_base(x), [2.0, 3.0], rtol=1e-13)
    np.testing.assert_allclose(Q.from_base(x, guess=[-1.0, -1.0]), [-2.0, -3.0], rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_from_base_with_supplied_inverse(gamma_problem, name):
    """With ``inverse=`` the closed form is used: it matches φ⁻¹ by hand (rtol 1e-14) and
    round-trips through ``to_base``."""
    coords, phi = ro.models.GAMMA_REPARAMS[name]
    alpha, beta = gamma_problem.coords
    Q = gamma_problem.reparameterize(coords, phi, inverse=_sym_inverse(name, alpha, beta))
    assert Q._inverse is not None
    rng = np.random.default_rng(106)
    x = rng.uniform(0.2, 25.0, size=(5, 2))
    expected = np.column_stack(PHI_INV[name](x[:, 0], x[:, 1]))
    np.testing.assert_allclose(Q.from_base(x), expected, rtol=1e-14)
    np.testing.assert_allclose(Q.from_base(x[0]), expected[0], rtol=1e-14)
    np.testing.assert_allclose(Q.to_base(Q.from_base(x)), x, rtol=1e-13)


def test_reparameterized_problem_bookkeeping(gamma_problem, reparams):
    Q = reparams["inv_beta"]
    assert Q.base is gamma_problem
    assert Q.params == gamma_problem.params
    assert Q.coords == ro.models.GAMMA_REPARAMS["inv_beta"][0]
    assert "reparameterized" in Q.name
    assert len(Q.domain) == len(gamma_problem.domain)
    assert Q.key != gamma_problem.key
    named = gamma_problem.reparameterize(*ro.models.GAMMA_REPARAMS["inv_beta"], name="gamma-inv")
    assert named.name == "gamma-inv" and named.key == Q.key


def test_identity_reparameterization_reproduces_the_metric(gamma_problem, reparams):
    """The identity map gives the same metric and Christoffel symbols, up to renaming (exact)."""
    Q = reparams["identity"]
    ren = dict(zip(Q.coords, gamma_problem.coords))
    assert (Q.metric.matrix.xreplace(ren) - gamma_problem.metric.matrix).applyfunc(sp.simplify) == sp.zeros(2)
    diff = sp.Array(Q.metric.christoffel).applyfunc(lambda e: e.xreplace(ren)) - gamma_problem.metric.christoffel
    assert all(sp.simplify(e) == 0 for e in sp.flatten(diff.tolist()))


def test_reparameterize_pulls_back_domain(reparams):
    """The domain conditions follow φ: for inv_beta, β = 1/β' > 0 ⇔ β' > 0."""
    Q = reparams["inv_beta"]
    inside = Q._in_domain_numeric
    assert inside(np.array([1.0, 2.0]))
    assert not inside(np.array([1.0, -2.0]))
    assert not inside(np.array([-1.0, 2.0]))
