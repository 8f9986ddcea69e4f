"""Fisher metrics: known closed forms (exact) and Monte-Carlo estimates of E[score scoreᵀ].

The Monte-Carlo references draw 200 000 samples with a fixed numpy seed and hand-written score
functions (scipy.special for ψ), independent of sympy.  Each entry must lie within 5 Monte-Carlo
standard errors (sd(s_i s_j)/√N) of the symbolic Fisher evaluated at the same parameters.
"""

import numpy as np
import pytest
import scipy.special as sc
import sympy as sp

import riemannopt as ro
from riemannopt.errors import SymbolicError

N_MC = 200_000


def _exact_equal(A, B):
    return (sp.Matrix(A) - sp.Matrix(B)).applyfunc(sp.simplify) == sp.zeros(*sp.Matrix(A).shape)


# -- closed forms ------------------------------------------------------------------------------------
def test_gamma_fisher_closed_form():
    """Gamma(shape α, rate β): [[ψ1(α), −1/β], [−1/β, α/β²]] (exact)."""
    M = ro.models.gamma_fisher()
    a, b = M.coords
    assert _exact_equal(M.matrix, [[sp.polygamma(1, a), -1 / b], [-1 / b, a / b**2]])


def test_gaussian_fisher_closed_form():
    """N(μ, σ²) in (μ, σ): diag(1/σ², 2/σ²) (exact)."""
    M = ro.models.gaussian_fisher()
    mu, s = M.coords
    assert _exact_equal(M.matrix, sp.diag(1 / s**2, 2 / s**2))


def test_beta_fisher_closed_form():
    """Beta(a, b): [[ψ1(a)−ψ1(a+b), −ψ1(a+b)], [−ψ1(a+b), ψ1(b)−ψ1(a+b)]] (exact)."""
    M = ro.models.beta_fisher()
    a, b = M.coords
    t = sp.polygamma(1, a + b)
    assert _exact_equal(M.matrix, [[sp.polygamma(1, a) - t, -t], [-t, sp.polygamma(1, b) - t]])


def test_poisson_fisher_direct():
    """Poisson(λ), log p = k log λ − λ − log k!, E[k] = λ: Fisher 1/λ (exact)."""
    k = sp.Symbol("k", nonnegative=True)
    lam = sp.Symbol("lambda", positive=True)
    M = ro.fisher_metric(k * sp.log(lam) - lam - sp.loggamma(k + 1), k, [lam], {k: lam})
    assert isinstance(M, ro.Metric)
    assert _exact_equal(M.matrix, [[1 / lam]])


def test_exponential_fisher_direct():
    """Exponential(rate λ), log p = log λ − λ x: Fisher 1/λ², no statistic needed (exact)."""
    x = sp.Symbol("x", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    M = ro.fisher_metric(sp.log(lam) - lam * x, x, [lam], {x: 1 / lam})
    assert _exact_equal(M.matrix, [[1 / lam**2]])
    assert _exact_equal(ro.fisher_metric(sp.log(lam) - lam * x, x, [lam], {}).matrix, [[1 / lam**2]])


def test_gaussian_variance_parameterization_uses_second_moment():
    """N(μ, v) with v = σ²: diag(1/v, 1/(2v²)) — needs x² substituted before x (exact)."""
    x = sp.Symbol("x", real=True)
    mu, v = sp.symbols("mu v", positive=True)
    logp = -sp.log(v) / 2 - (x - mu) ** 2 / (2 * v)
    M = ro.fisher_metric(logp, x, [mu, v], {x: mu, x**2: mu**2 + v})
    assert _exact_equal(M.matrix, sp.diag(1 / v, 1 / (2 * v**2)))
    # the order of the dictionary must not matter
    M2 = ro.fisher_metric(logp, x, [mu, v], {x**2: mu**2 + v, x: mu})
    assert _exact_equal(M2.matrix, M.matrix)


def test_simplify_false_gives_equal_metric():
    M = ro.models.gamma_fisher()
    a, b = M.coords
    x = sp.Symbol("x", positive=True)
    logp = ro.models.gamma_log_density(a, b, x)
    raw = ro.fisher_metric(logp, x, [a, b], {x: a / b, sp.log(x): sp.digamma(a) - sp.log(b)}, simplify=False)
    assert _exact_equal(raw.matrix, M.matrix)


# -- errors ----------------------------------------------------------------------------------------
def test_missing_statistic_raises():
    """N(μ, σ) with only E[x²] given: the (μ, σ) entry 2(x−μ)/σ³ still depends on x."""
    x = sp.Symbol("x", real=True)
    mu, s = sp.symbols("mu sigma", positive=True)
    logp = -sp.log(s) - (x - mu) ** 2 / (2 * s**2)
    with pytest.raises(
        SymbolicError,
        match=r"entry \(0, 1\).*still depends on the variables through 2\*x/sigma\*\*3.*Add that statistic",
    ):
        ro.fisher_metric(logp, x, [mu, s], {x**2: mu**2 + s**2})


def test_non_affine_statistic_raises():
    """Supplying E[x] only: x² becomes (statistic)², not affine, so its expectation is unknown."""
    x = sp.Symbol("x", real=True)
    mu, s = sp.symbols("mu sigma", positive=True)
    logp = -sp.log(s) - (x - mu) ** 2 / (2 * s**2)
    with pytest.raises(SymbolicError, match=r"entry \(1, 1\).*not affine"):
        ro.fisher_metric(logp, x, [mu, s], {x: mu})


def test_variable_must_be_a_symbol():
    mu = sp.Symbol("mu")
    with pytest.raises(SymbolicError, match="variable must be a sympy Symbol"):
        ro.fisher_metric(-(mu**2), "x", [mu], {})


# -- Monte Carlo ------------------------------------------------------------------------------------
def _mc_fisher(scores):
    """E[s sᵀ] and its standard error, entrywise, from samples of the score (rows)."""
    outer = scores[:, :, None] * scores[:, None, :]
    return outer.mean(axis=0), outer.std(axis=0, ddof=1) / np.sqrt(len(scores))


def _numeric(M, point):
    f = sp.lambdify([M.coords], M.matrix, modules=["scipy", "numpy"])
    return np.asarray(f(point), dtype=np.float64)


def _check_mc(M, point, scores):
    est, se = _mc_fisher(scores)
    exact = _numeric(M, point)
    z = np.abs(est - exact) / se
    assert np.all(z < 5), f"Fisher {exact} vs Monte-Carlo {est} (z-scores {z})"


@pytest.mark.parametrize("alpha, beta", [(2.0, 3.0), (20.0, 20.0)])
def test_gamma_fisher_monte_carlo(alpha, beta):
    rng = np.random.default_rng(2018)
    x = rng.gamma(alpha, 1.0 / beta, N_MC)
    scores = np.column_stack([np.log(beta) - sc.digamma(alpha) + np.log(x), alpha / beta - x])
    _check_mc(ro.models.gamma_fisher(), [alpha, beta], scores)


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.5, 0.4)])
def test_gaussian_fisher_monte_carlo(mu, sigma):
    rng = np.random.default_rng(2019)
    x = rng.normal(mu, sigma, N_MC)
    scores = np.column_stack([(x - mu) / sigma**2, -1 / sigma + (x - mu) ** 2 / sigma**3])
    _check_mc(ro.models.gaussian_fisher(), [mu, sigma], scores)


@pytest.mark.parametrize("a, b", [(2.0, 5.0), (0.7, 1.3)])
def test_beta_fisher_monte_carlo(a, b):
    rng = np.random.default_rng(2020)
    x = rng.beta(a, b, N_MC)
    s = sc.digamma(a + b)
    scores = np.column_stack([np.log(x) - sc.digamma(a) + s, np.log1p(-x) - sc.digamma(b) + s])
    _check_mc(ro.models.beta_fisher(), [a, b], scores)


def test_poisson_fisher_monte_carlo():
    k = sp.Symbol("k", nonnegative=True)
    lam = sp.Symbol("lambda", positive=True)
    M = ro.fisher_metric(k * sp.log(lam) - lam - sp.loggamma(k + 1), k, [lam], {k: lam})
    rng = np.random.default_rng(2021)
    draws = rng.poisson(3.5, N_MC)
    _check_mc(M, [3.5], (draws / 3.5 - 1.0)[:, None])


def test_inverse_gaussian_with_reciprocal_statistic():
    """Inverse Gaussian IG(μ, λ): with the statistics x and 1/x both supplied (1/x must not be
    rewritten through x), the Fisher metric is the textbook diag(λ/μ³, 1/(2λ²))."""
    x = sp.Symbol("x", positive=True)
    mu, lam = sp.symbols("mu lam", positive=True)
    logp = sp.log(lam) / 2 - sp.log(2 * sp.pi * x**3) / 2 - lam * (x - mu) ** 2 / (2 * mu**2 * x)
    g = ro.fisher_metric(logp, x, [mu, lam], {x: mu, 1 / x: 1 / mu + 1 / lam}).matrix
    assert sp.simplify(g - sp.diag(lam / mu**3, 1 / (2 * lam**2))) == sp.zeros(2, 2)
