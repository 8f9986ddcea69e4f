"""The model catalogue: data set, likelihoods (against scipy.stats), parameters and domains."""

import numpy as np
import pytest
import scipy.optimize as so
import scipy.special as sc
import scipy.stats as st
import sympy as sp

import riemannopt as ro
from riemannopt.errors import InputError, ShapeError


def test_gamma_data_is_the_papers_data_set():
    """Bit-identical to ``np.random.seed(1234); np.random.gamma(20.0, 1/20.0, 10000)``, and the
    global random state is left alone."""
    saved = np.random.get_state()
    try:
        np.random.seed(1234)
        expected = np.random.gamma(20.0, 1 / 20.0, 10000)
        np.random.seed(99)
        before = np.random.get_state()
        data = ro.models.gamma_data()
        after = np.random.get_state()
    finally:
        np.random.set_state(saved)
    assert data.shape == (10000,) and data.dtype == np.float64
    np.testing.assert_array_equal(data, expected)
    assert before[1].tolist() == after[1].tolist() and before[2] == after[2]
    # the other arguments mean what they say
    small = ro.models.gamma_data(seed=3, n=50, shape=2.0, rate=4.0)
    np.testing.assert_array_equal(small, np.random.RandomState(3).gamma(2.0, 0.25, 50))


def test_gamma_mle_parameters(gamma_problem):
    data = ro.models.gamma_data()
    by_name = {s.name: v for s, v in gamma_problem.params.items()}
    assert by_name == {
        "mean_x": pytest.approx(data.mean(), rel=1e-15),
        "mean_log_x": pytest.approx(np.log(data).mean(), rel=1e-15),
    }
    assert [c.name for c in gamma_problem.coords] == ["alpha", "beta"]
    assert gamma_problem.name == "gamma"


GAMMA_POINTS = [(20.0, 20.0), (2.0, 3.0), (0.7, 0.2), (35.0, 50.0)]


@pytest.mark.parametrize("alpha, beta", GAMMA_POINTS)
def test_gamma_mle_loss_is_mean_negative_log_likelihood(gamma_problem, gamma_compiled, alpha, beta):
    """Loss = −mean log p(data | α, β), reference ``scipy.stats.gamma(a=α, scale=1/β).logpdf``,
    rtol 1e-12, for the compiled loss and for the sympy loss."""
    data = ro.models.gamma_data()
    ref = -st.gamma(a=alpha, scale=1 / beta).logpdf(data).mean()
    assert gamma_compiled.loss([alpha, beta]) == pytest.approx(ref, rel=1e-12)
    subs = {**gamma_problem.params, **dict(zip(gamma_problem.coords, (alpha, beta)))}
    assert float(gamma_problem.loss.evalf(30, subs=subs)) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.3, 0.4), (-2.0, 5.0)])
def test_gaussian_mle_loss_is_mean_negative_log_likelihood(mu, sigma):
    """Loss = −mean log N(data | μ, σ²), reference ``scipy.stats.norm(μ, σ).logpdf``, rtol 1e-12."""
    data = np.random.default_rng(4).normal(0.5, 2.0, 1000)
    P = ro.models.gaussian_mle(data)
    ref = -st.norm(loc=mu, scale=sigma).logpdf(data).mean()
    subs = {**P.params, **dict(zip(P.coords, (mu, sigma)))}
    assert float(P.loss.evalf(30, subs=subs)) == pytest.approx(ref, rel=1e-12)
    # the compiled loss (the module is shared by every gaussian_mle problem)
    assert P.compile().loss([mu, sigma]) == pytest.approx(ref, rel=1e-12)


def test_gamma_mle_gradient_vanishes_at_the_mle(gamma_compiled):
    """At the MLE (β = α/x̄, log α − ψ(α) = log x̄ − mean log x, solved by brentq), ∇L = 0 to 1e-12
    and the natural direction is 0; compare scipy's own fit to 1e-5."""
    data = ro.models.gamma_data()
    mx, mlx = data.mean(), np.log(data).mean()
    a_hat = so.brentq(lambda a: np.log(a) - sc.digamma(a) - (np.log(mx) - mlx), 1e-3, 1e4, xtol=1e-15, rtol=1e-15)
    b_hat = a_hat / mx
    x_hat = np.array([a_hat, b_hat])
    np.testing.assert_allclose(gamma_compiled.grad(x_hat), 0.0, atol=1e-12)
    np.testing.assert_allclose(gamma_compiled.direction(x_hat), 0.0, atol=1e-9)
    a_sp, _, scale_sp = st.gamma.fit(data, floc=0)
    np.testing.assert_allclose([a_sp, 1 / scale_sp], x_hat, rtol=1e-4)
    assert 19.0 < a_hat < 21.0 and 19.0 < b_hat < 21.0  # close to the generating (20, 20)
    # the loss is lower there than nearby
    assert gamma_compiled.loss(x_hat) < min(gamma_compiled.loss(x_hat * s) for s in (0.99, 1.01))


def test_gaussian_mle_gradient_vanishes_at_sample_moments():
    data = np.random.default_rng(5).normal(-1.0, 0.7, 400)
    P = ro.models.gaussian_mle(data)
    C = P.compile()
    np.testing.assert_allclose(C.grad([data.mean(), data.std()]), 0.0, atol=1e-12)


def test_model_data_validation():
    with pytest.raises(ShapeError, match="non-empty one-dimensional"):
        ro.models.gamma_mle([])
    with pytest.raises(ShapeError, match="positive"):
        ro.models.gamma_mle([1.0, -2.0, 3.0])
    with pytest.raises(ShapeError, match="non-empty one-dimensional"):
        ro.models.gaussian_mle(np.array([]))
    # a column of data is flattened
    P = ro.models.gaussian_mle(np.array([[1.0], [3.0]]))
    assert {s.name: v for s, v in P.params.items()} == {"mean_x": 2.0, "mean_x2": 5.0}


def test_gamma_reparams_catalogue():
    """The four parameterizations of paper §7.1, (α, β) = φ(α', β'), by hand at (2, 3)."""
    R = ro.models.GAMMA_REPARAMS
    assert set(R) == {"identity", "inv_beta", "cube_beta", "squares"}
    expected = {"identity": (2, 3), "inv_beta": (2, sp.Rational(1, 3)), "cube_beta": (2, 27), "squares": (4, 9)}
    for name, (coords, phi) in R.items():
        assert len(coords) == 2 and all(isinstance(c, sp.Symbol) for c in coords)
        vals = tuple(sp.sympify(e).subs(dict(zip(coords, (2, 3)))) for e in phi)
        assert vals == expected[name], name


def test_toy_manifold_definitions(polar_problem, sphere_problem, half_plane_problem):
    """Metrics and domains as documented; losses by hand at one point (rtol 1e-14)."""
    r, th = polar_problem.coords
    assert polar_problem.metric.matrix == sp.diag(1, r**2)
    assert polar_problem.domain == (r > 0,)
    subs = {**polar_problem.params, r: 2.0, th: 0.3}
    # half the squared Euclidean distance from (2cos0.3, 2sin0.3) to the default target (1, 0.5)
    ref = ((2 * np.cos(0.3) - 1) ** 2 + (2 * np.sin(0.3) - 0.5) ** 2) / 2
    assert float(polar_problem.loss.evalf(subs=subs)) == pytest.approx(ref, rel=1e-14)

    t, p = sphere_problem.coords
    assert sphere_problem.metric.matrix == sp.diag(1, sp.sin(t) ** 2)
    assert set(sphere_problem.domain) == {t > 0, t < sp.pi}
    pt = np.array([np.sin(1.1) * np.cos(0.4), np.sin(1.1) * np.sin(0.4), np.cos(1.1)])
    subs = {**sphere_problem.params, t: 1.1, p: 0.4}
    assert float(sphere_problem.loss.evalf(subs=subs)) == pytest.approx(-pt @ [0.0, 0.6, 0.8], rel=1e-14)

    x, y = half_plane_problem.coords
    assert half_plane_problem.metric.matrix == sp.diag(1 / y**2, 1 / y**2)
    assert half_plane_problem.domain == (y > 0,)
    subs = {**half_plane_problem.params, x: 1.5, y: 0.5}
    assert float(half_plane_problem.loss.evalf(subs=subs)) == pytest.approx(0.5 + np.log(0.25) ** 2 / 2, rel=1e-14)


def test_toy_targets_are_parameters():
    P = ro.models.polar_plane(target=(3.0, -1.0))
    assert sorted(P.params.values()) == [-1.0, 3.0]
    assert P.key == ro.models.polar_plane().key  # the target is a runtime constant, not code
    S = ro.models.sphere(target=(1.0, 0.0, 0.0))
    assert sorted(S.params.values()) == [0.0, 0.0, 1.0]
    H = ro.models.poincare_half_plane(target=(0.0, 3.0))
    assert sorted(H.params.values()) == [0.0, 3.0]


# -- GLMs on a data set (issue 22): logistic and Poisson regression -----------------------------
def _glm_data(kind, m=2500, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(m), rng.normal(scale=0.7, size=(m, d - 1))])
    z = X @ np.linspace(0.4, -0.3, d)
    y = (rng.random(m) < sc.expit(z)).astype(float) if kind == "logistic" else rng.poisson(np.exp(z)).astype(float)
    return X, y


def _glm_numpy(kind, X, y, w):
    """Loss, gradient and Fisher metric of the GLM, transcribed in numpy."""
    z, m = X @ w, len(X)
    if kind == "logistic":
        p = sc.expit(z)
        return np.mean(np.logaddexp(0, z) - y * z), X.T @ (p - y) / m, (X * (p * (1 - p))[:, None]).T @ X / m
    mu = np.exp(z)
    return np.mean(mu - y * z + sc.gammaln(y + 1)), X.T @ (mu - y) / m, (X * mu[:, None]).T @ X / m


_GLMS = {"logistic": ro.models.logistic_regression, "poisson": ro.models.poisson_regression}


@pytest.fixture(scope="module", params=list(_GLMS))
def glm(request):
    X, y = _glm_data(request.param)
    P = _GLMS[request.param](X, y)
    return request.param, X, y, P, P.compile()


def test_glm_metric_gradient_loss_equal_numpy(glm):
    """Loss, gradient and Fisher metric (``Xᵀ diag(p(1−p)) X / m``, ``Xᵀ diag(e^{Xw}) X / m``)
    equal the numpy transcription to 1e-12 relative; coordinates are w0 … w3."""
    kind, X, y, P, C = glm
    assert [c.name for c in P.coords] == ["w0", "w1", "w2", "w3"] and P.rows == len(X)
    for w in (np.zeros(4), np.array([0.3, -0.5, 0.2, 0.8])):
        loss, grad, G = _glm_numpy(kind, X, y, w)
        assert C.loss(w) == pytest.approx(loss, rel=1e-12)
        assert np.abs(C.grad(w) - grad).max() <= 1e-12 * np.abs(grad).max()
        assert np.abs(C.metric(w) - G).max() <= 1e-12 * np.abs(G).max()


def test_glm_christoffel_equals_central_differences(glm):
    """Γ^m_ij = g^{mk} ½(∂_i g_kj + ∂_j g_ki − ∂_k g_ij) with ∂g by central differences of the
    numpy metric (1e-8 relative)."""
    kind, X, y, _, C = glm
    w, h = np.array([0.3, -0.5, 0.2, 0.8]), 1e-5
    dg = np.array(
        [(_glm_numpy(kind, X, y, w + h * e)[2] - _glm_numpy(kind, X, y, w - h * e)[2]) / (2 * h) for e in np.eye(4)]
    )
    first = 0.5 * (np.einsum("ikj->kij", dg) + np.einsum("jki->kij", dg) - dg)
    second = np.einsum("mk,kij->mij", np.linalg.inv(_glm_numpy(kind, X, y, w)[2]), first)
    assert np.abs(C.christoffel(w) - second).max() <= 1e-8 * np.abs(second).max()


def test_glm_geo_and_exact_reach_the_scipy_mle(glm):
    """``geo`` and ``exact`` end at the maximum-likelihood estimate of ``scipy.optimize.minimize``
    (Newton trust region on the numpy loss, gradient and Hessian) to 1e-8."""
    kind, X, y, _, C = glm

    def fun(w):
        return _glm_numpy(kind, X, y, w)[:2]

    res = so.minimize(
        fun,
        np.zeros(4),
        jac=True,
        hess=lambda w: _glm_numpy(kind, X, y, w)[2],
        method="trust-exact",
        options={"gtol": 1e-14},
    )
    assert np.abs(fun(res.x)[1]).max() < 1e-10  # converged; the Fisher's eigenvalues are ≥ 0.05
    for method in ("geo", "exact"):
        end = ro.optimize(C, method, np.zeros(4), 0.5, 150).x[-1]
        np.testing.assert_allclose(end, res.x, rtol=0, atol=1e-8, err_msg=f"{kind} {method}")


@pytest.mark.parametrize(
    ("model", "X", "y", "error", "match"),
    [
        ("logistic", np.ones(3), np.ones(3), ShapeError, "X must be a non-empty"),
        ("logistic", np.ones((3, 2)), np.ones(4), ShapeError, r"y must have shape \(3,\)"),
        ("logistic", np.ones((3, 2)), np.array([0, 1, 2.0]), InputError, r"y must lie in \[0, 1\]"),
        ("logistic", np.ones((3, 2)), np.array(["a", "b", "c"]), InputError, "numeric"),
        ("logistic", np.array([[1.0, np.nan]] * 3), np.ones(3), InputError, r"data\[x1\] is not finite"),
        ("poisson", np.ones((3, 2)), np.array([1.0, -1, 0]), InputError, "non-negative"),
        ("poisson", np.ones((3, 2)), np.array([1.0, np.inf, 0]), InputError, r"data\[y\] is not finite"),
        ("poisson", np.ones((0, 2)), np.ones(0), ShapeError, "X must be a non-empty"),
    ],
)
def test_glm_bad_data(model, X, y, error, match):
    with pytest.raises(error, match=match):
        _GLMS[model](X, y)
