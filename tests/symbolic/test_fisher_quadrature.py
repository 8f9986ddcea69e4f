"""Fisher metrics of any family (issue 22, item 2): the quadrature rules, the compiled numerical
expectations and their derivatives, the closed-form route, and the errors on the way.

References, independent of the code under test: closed forms from the literature (Weibull, von
Mises, Student-t, the bivariate normal, the binomial), ``scipy.stats`` pmfs summed in numpy with
``scipy.special`` (the negative binomial's ``g_rr``, which has no closed form), and central
differences of the compiled metric for its derivatives.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import optimize, special, stats

import riemannopt as ro
from riemannopt.codegen.quadrature import de_rule
from riemannopt.errors import NonFiniteError, SymbolicError

EULER = 0.5772156649015329


# -- the rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "a, b, f, exact, tol",
    [
        (0.0, 1.0, lambda x: x**-0.5, 2.0, 1e-14),  # an end singularity
        (0.0, 1.0, lambda x: np.log(x) ** 2, 2.0, 1e-14),
        (0.0, np.inf, lambda x: np.exp(-x) * np.log(x), -EULER, 1e-14),
        (2.0, np.inf, lambda x: 1 / (x * x), 0.5, 1e-14),  # an algebraic tail
        (-np.inf, 0.0, lambda x: np.exp(x), 1.0, 1e-14),
        (-np.inf, np.inf, lambda x: 1 / (1 + x * x), math.pi, 1e-14),  # Cauchy's tails
        # the DE rules' weak case: a Gaussian decays faster than they expect (6e-12 measured)
        (-np.inf, np.inf, lambda x: np.exp(-x * x / 2), math.sqrt(2 * math.pi), 1e-11),
    ],
)
def test_de_rule_integrates_to_round_off(a, b, f, exact, tol):
    x, w = de_rule(a, b)
    assert np.all((a < x) & (x < b)) and np.all(w > 0)
    with np.errstate(under="ignore"):
        assert abs(np.sum(w * f(x)) - exact) <= tol * abs(exact)


def test_de_rule_levels_square_the_error():
    """Each level roughly squares the error (the DE rules' exp(−c/h) convergence)."""
    errors = []
    for level in (2, 3, 4):
        x, w = de_rule(0.0, np.inf, level)
        errors.append(abs(np.sum(w * np.exp(-x) * np.log(x) ** 2) - (EULER**2 + math.pi**2 / 6)))
    assert errors[1] < errors[0] ** 1.5 and errors[2] < 1e-13
    with pytest.raises(SymbolicError, match="level"):
        de_rule(0, 1, 0)


# -- the catalogue's families against closed forms ----------------------------------------------
def _weibull(th):
    lam, k = th
    c = -(1 - EULER) / lam
    return np.array([[k * k / lam**2, c], [c, ((1 - EULER) ** 2 + math.pi**2 / 6) / k**2]])


def _von_mises(th):
    _, kappa = th
    A = special.ive(1, kappa) / special.ive(0, kappa)
    return np.diag([kappa * A, 1 - A / kappa - A * A])


def _student(nu):
    def g(th):
        s2 = th[1] ** 2
        return np.diag([(nu + 1) / ((nu + 3) * s2), 2 * nu / ((nu + 3) * s2)])

    return g


def _negative_binomial(th):
    r, p = th
    k = np.arange(0, 200_000)
    pmf = stats.nbinom.pmf(k, r, p)
    grr = np.sum(pmf * (special.polygamma(1, r) - special.polygamma(1, k + r)))
    return np.array([[grr, -1 / p], [-1 / p, r / (p * p * (1 - p))]])


FAMILIES = {
    "weibull": (ro.models.weibull_fisher, _weibull, [(1.0, 1.0), (3.0, 0.3), (1e3, 20.0), (0.01, 5.0)]),
    "von_mises": (ro.models.von_mises_fisher, _von_mises, [(0.0, 0.05), (1.0, 1.0), (3.0, 30.0), (-2.0, 300.0)]),
    "student_t_1": (lambda: ro.models.student_t_fisher(1), _student(1), [(0.0, 1.0), (5.0, 1e-3), (-1e4, 1e3)]),
    "student_t_5": (lambda: ro.models.student_t_fisher(5), _student(5), [(0.0, 1.0), (2.0, 0.1)]),
    "student_t_30": (lambda: ro.models.student_t_fisher(30), _student(30), [(0.0, 1.0), (1.0, 7.0)]),
    "negative_binomial": (
        ro.models.negative_binomial_fisher,
        _negative_binomial,
        [(1.0, 0.5), (3.5, 0.3), (0.2, 0.9), (40.0, 0.02)],
    ),
}


@pytest.fixture(scope="module")
def compiled():
    cache = {}

    def get(name):
        if name not in cache:
            make = FAMILIES[name][0]
            metric = make()
            loss = sum((c - 1) ** 2 for c in metric.coords)  # any loss: the metric is under test
            cache[name] = ro.Problem(metric, loss, params=dict.fromkeys(metric.parameters, 0.0)).compile()
        return cache[name]

    return get


@pytest.mark.parametrize("name", FAMILIES)
def test_metric_matches_closed_form(compiled, name):
    """Within 1e-10 relative of the closed form (scipy's sum for the negative binomial's g_rr),
    entry by entry, over parameters spanning orders of magnitude."""
    C = compiled(name)
    _, reference, points = FAMILIES[name]
    for th in points:
        g, ref = C.metric(th), reference(th)
        scale = np.abs(ref).max()
        assert np.abs(g - ref).max() <= 1e-10 * scale, (th, g, ref)
        np.testing.assert_array_equal(g, g.T)


def _central_dg(C, th):
    """``dg[a, b, c] = ∂_c g_ab`` by central differences of the compiled metric."""
    th = np.asarray(th, dtype=float)
    n = len(th)
    dg = np.empty((n, n, n))
    for c in range(n):
        e = np.zeros(n)
        e[c] = 1e-5 * abs(th[c]) if th[c] else 1e-5  # relative steps: σ may be 1e-3
        dg[:, :, c] = (C.metric(th + e) - C.metric(th - e)) / (2 * e[c])
    return dg


@pytest.mark.parametrize("name", FAMILIES)
def test_christoffel_symbols_match_central_differences(compiled, name):
    """Γ_kij from the same quadrature (differentiation under the integral) agrees with eq. (2)
    applied to central differences of the metric to 1e-8; the second kind and Γ(v, v) are the
    solves with the metric (``gamma_vv_chol``: the sums of Γ_first(v, v) alone, solved with the
    metric's Cholesky factor; ``state`` holds the quadrature's metric, bit for bit)."""
    C = compiled(name)
    for th in FAMILIES[name][2][:3]:
        dg = _central_dg(C, th)
        first = 0.5 * (np.einsum("kji->kij", dg) + dg - np.einsum("ijk->kij", dg))
        got = C.christoffel_first(th)
        assert np.abs(got - first).max() <= 1e-8 * np.abs(first).max(), (th, got, first)
        second = np.einsum("mk,kij->mij", np.linalg.inv(C.metric(th)), got)
        np.testing.assert_allclose(C.christoffel(th), second, rtol=1e-10, atol=1e-12 * np.abs(second).max())
        v = np.array([0.3, -0.7])
        np.testing.assert_allclose(C.gamma_vv(th, v), np.einsum("mij,i,j->m", second, v, v), rtol=1e-9, atol=1e-12)
        gamma = np.einsum("mij,i,j->m", second, v, v)
        np.testing.assert_allclose(C.gamma_vv_chol(th, v), gamma, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(C.state(th)[2], C.metric(th))


@pytest.mark.parametrize("name", ["weibull", "negative_binomial"])
def test_dgamma_vvv_matches_central_differences(compiled, name):
    """``D_v Γ(v, v)`` (second derivatives of the metric, under the integral) against a central
    difference of the compiled Γ(v, v) along v."""
    C = compiled(name)
    th = np.array(FAMILIES[name][2][1])
    v = np.array([0.4, 0.1]) * th
    h = 1e-5
    fd = (C.gamma_vv(th + h * v, v) - C.gamma_vv(th - h * v, v)) / (2 * h)
    np.testing.assert_allclose(C.dgamma_vvv(th, v), fd, rtol=1e-7, atol=1e-9 * np.abs(fd).max())


def test_reparameterized_family_obeys_the_transformation_law(compiled):
    """The Weibull family in ``(log λ, log k)``: its quadrature metric equals ``Jᵀ g J`` of the
    base metric (the tensor transformation law), computed independently."""
    C = compiled("weibull")
    P = C.problem
    a, b = sp.symbols("a b", real=True)
    R = P.reparameterize((a, b), (sp.exp(a), sp.exp(b))).compile()
    xi = np.array([0.3, -0.5])
    th = np.exp(xi)
    J = np.diag(th)
    np.testing.assert_allclose(R.metric(xi), J.T @ C.metric(th) @ J, rtol=1e-12)


def test_bivariate_normal_with_a_correlated_substitution():
    """A multivariate density (tensor-product rule): N((μ1, μ2), [[1, ρ], [ρ, 1]]) integrated over
    standard normals ``u`` with ``x = (μ1 + u1, μ2 + ρ u1 + √(1−ρ²) u2)``; closed form
    ``Σ⁻¹`` for the means and ``(1 + ρ²)/(1 − ρ²)²`` for ρ.  Gaussian tails are the DE rules'
    weak case: level 4 leaves 4e-10 on ρ's entry, level 5 (289² nodes) round-off."""
    x1, x2, u1, u2 = sp.symbols("x1 x2 u1 u2", real=True)
    m1, m2, rho = sp.symbols("m1 m2 rho", real=True)
    q = (x1 - m1) ** 2 - 2 * rho * (x1 - m1) * (x2 - m2) + (x2 - m2) ** 2
    logp = -q / (2 * (1 - rho**2)) - sp.log(2 * sp.pi) - sp.log(1 - rho**2) / 2
    M = ro.fisher_metric(
        logp,
        (x1, x2),
        [m1, m2, rho],
        support=(sp.Reals, sp.Reals),
        substitution=((u1, u2), (m1 + u1, m2 + rho * u1 + sp.sqrt(1 - rho**2) * u2)),
        method="quadrature",
        level=5,
    )
    C = ro.Problem(M, m1**2 + m2**2 + rho**2, domain=[rho > -1, rho < 1]).compile()
    r = 0.6
    ref = np.zeros((3, 3))
    ref[:2, :2] = np.linalg.inv([[1, r], [r, 1]])
    ref[2, 2] = (1 + r * r) / (1 - r * r) ** 2
    np.testing.assert_allclose(C.metric([0.5, -1.0, r]), ref, rtol=1e-10, atol=1e-12)


def test_finite_discrete_support_binomial():
    """The binomial(10, p) summed over ``Range(0, 11)``: ``n/(p(1 − p))``."""
    k = sp.Symbol("k", integer=True, nonnegative=True)
    p = sp.Symbol("p", positive=True)
    logp = sp.loggamma(11) - sp.loggamma(k + 1) - sp.loggamma(11 - k) + k * sp.log(p) + (10 - k) * sp.log(1 - p)
    M = ro.fisher_metric(logp, k, [p], support=sp.Range(0, 11), method="quadrature")
    C = ro.Problem(M, (p - 0.5) ** 2, domain=[p > 0, p < 1]).compile()
    for pv in (0.1, 0.5, 0.97):
        assert C.metric([pv])[0, 0] == pytest.approx(10 / (pv * (1 - pv)), rel=1e-13)


def test_an_unnormalised_density_gives_nan_and_a_clear_stop():
    """The rule checks itself: a density that does not integrate to 1 (here, the Student-t without
    its constant) gives a NaN metric, and a run stops with a NonFiniteError."""
    x, u = sp.symbols("x u", real=True)
    mu = sp.Symbol("mu", real=True)
    M = ro.fisher_metric(-3 * sp.log(1 + (x - mu) ** 2 / 5), x, [mu], support=sp.Reals, method="quadrature")
    C = ro.Problem(M, mu**2).compile()
    assert np.isnan(C.metric([0.0])).all()
    with pytest.raises(NonFiniteError):
        ro.optimize(C, "ng", [1.0], 0.1, 3)


def test_the_mles_reach_the_maximum_likelihood_estimates():
    """``geo`` on ``weibull_mle`` ends at the root of the Weibull likelihood equations (solved by
    ``scipy.optimize.brentq``: ``1/k + mean log x = Σ x^k log x / Σ x^k``, ``λ = (mean x^k)^{1/k}``),
    and on ``student_t_mle`` at ``scipy.optimize.minimize``'s minimum of the negative
    log-likelihood."""
    rng = np.random.default_rng(3)
    data = 2.5 * rng.weibull(1.7, 400)
    C = ro.models.weibull_mle(data).compile()
    end = ro.optimize(C, "geo", [1.0, 1.0], 0.5, 60).x[-1]
    L = np.log(data)

    def score(k):
        xk = data**k
        return 1 / k + L.mean() - (xk * L).sum() / xk.sum()

    k = optimize.brentq(score, 0.1, 10, xtol=1e-15)
    np.testing.assert_allclose(end, [np.mean(data**k) ** (1 / k), k], rtol=1e-10)
    t = 1.0 + 0.5 * rng.standard_t(4, 400)
    C = ro.models.student_t_mle(t, nu=4).compile()
    end = ro.optimize(C, "geo", [0.0, 1.0], 0.5, 60).x[-1]
    ref = optimize.minimize(
        lambda th: -stats.t.logpdf(t, 4, th[0], th[1]).mean(), [0.9, 0.6], method="BFGS", options={"gtol": 1e-12}
    ).x
    np.testing.assert_allclose(end, ref, rtol=1e-7)


# -- the closed-form route, and the errors --------------------------------------------------------
def test_sympy_closed_form_route_and_its_fallback():
    """Without expectations, sympy integrates the normal's Fisher metric to ``diag(1/σ², 2/σ²)``;
    with no time to do it, ``auto`` falls back on the quadrature."""
    x, mu = sp.symbols("x mu", real=True)
    s = sp.Symbol("sigma", positive=True)
    logp = -sp.log(s) - (x - mu) ** 2 / (2 * s**2) - sp.log(2 * sp.pi) / 2
    M = ro.fisher_metric(logp, x, [mu, s], support=sp.Reals, method="closed", timeout=120)
    assert type(M) is ro.Metric
    assert sp.simplify(M.matrix - sp.diag(1 / s**2, 2 / s**2)) == sp.zeros(2, 2)
    Q = ro.fisher_metric(logp, x, [mu, s], support=sp.Reals, timeout=0.01)
    assert isinstance(Q, ro.QuadratureMetric)
    with pytest.raises(SymbolicError, match="closed form within"):
        ro.fisher_metric(logp, x, [mu, s], support=sp.Reals, method="closed", timeout=0.01)


def test_statistics_that_do_not_determine_the_hessian_are_a_symbolic_error():
    """Student-t with ``x`` and ``x²``, the negative binomial with unknown r: a riemannopt error
    that says what is left and points to the quadrature route (not sympy's PolynomialError)."""
    x, mu = sp.symbols("x mu", real=True)
    s = sp.Symbol("sigma", positive=True)
    logp = ro.models.student_t_log_density(5, mu, s, x)
    with pytest.raises(SymbolicError, match="support="):
        ro.fisher_metric(logp, x, [mu, s], {x: mu, x**2: mu**2 + s**2})
    k = sp.Symbol("k", integer=True, nonnegative=True)
    r, p = sp.symbols("r p", positive=True)
    with pytest.raises(SymbolicError, match=r"loggamma|polygamma|not one of the statistics"):
        ro.fisher_metric(ro.models.negative_binomial_log_density(r, p, k), k, [r, p], {k: r * (1 - p) / p})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "either expectations=.* or support="),
        ({"support": (0, "lam")}, "must not depend on the parameters"),
        ({"support": (1, 0)}, "empty"),
        ({"support": (0, sp.oo), "method": "exact"}, "unknown method"),
        ({"support": (0, sp.oo), "method": "quadrature", "level": 12}, "level"),
        ({"support": (0, sp.oo), "method": "quadrature", "tol": 2.0}, "tol"),
        ({"support": sp.Integers}, "not an interval"),
    ],
)
def test_bad_arguments(kwargs, match):
    x = sp.Symbol("x", positive=True)
    lam = sp.Symbol("lam", positive=True)
    with pytest.raises(SymbolicError, match=match):
        ro.fisher_metric(sp.log(lam) - lam * x, x, [lam], **kwargs)


def test_a_data_symbol_may_not_be_the_quadratures_variable():
    k = sp.Symbol("k", integer=True, nonnegative=True)
    M = ro.models.negative_binomial_fisher()
    with pytest.raises(SymbolicError, match="quadrature"):
        ro.Problem(M, -ro.models.negative_binomial_log_density(k=k), data={k: [1.0, 2.0]})


def test_no_symbolic_matrix():
    M = ro.models.weibull_fisher()
    for attr in ("matrix", "inverse", "christoffel"):
        with pytest.raises(SymbolicError, match="numerically"):
            getattr(M, attr)
