"""Policy products against independent computations on tiny policies.

The reference here is a naive, complex-safe forward pass written from the documented flat layout
(each layer's ``W`` row-major, then ``b``; the Gaussian policy's log σ last) and the policies'
log-densities written out by hand.  Scores ``∇ log π(a | s)`` come from complex steps of that
reference (exact to round-off), and from them:

* a **Monte-Carlo Fisher** ``E_s E_{a∼π} [∇log π ∇log πᵀ]`` from sampled actions (the definition
  of the policy's Fisher; tolerance from the Monte-Carlo standard error);
* an **exact Fisher** of the same definition: the expectation over actions by Gauss–Hermite
  quadrature for the Gaussian (exact, since the integrand is a polynomial of degree ≤ 4 in the
  action) and by enumeration for the categorical policy;
* the **connection** by central finite differences of that exact Fisher, through
  ``Γ_first(v, v) = (∂_v F) v − ½ ∇(vᵀ F v)`` (the identity of tests/nn/test_nn_products.py);
* the **surrogate gradient** ``∇[−(1/n) Σ w log π]`` by complex steps of the reference.
"""

import itertools

import numpy as np
import pytest

from riemannopt.errors import InputError, MethodError, ShapeError
from riemannopt.rl import CategoricalPolicy, GaussianPolicy

OBS, HIDDEN, ACT, NACT, NSTATES = 2, (3,), 2, 3, 4


def ref_net(theta, X, sizes, out):
    a = X
    k = 0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = theta[k : k + n_in * n_out].reshape(n_out, n_in)
        k += n_in * n_out
        b = theta[k : k + n_out]
        k += n_out
        s = a @ W.T + b
        a = np.tanh(s) if i < len(sizes) - 2 else s
    assert k == len(theta)
    if out == "softmax":
        e = np.exp(a - a.real.max(axis=1, keepdims=True))
        a = e / e.sum(axis=1, keepdims=True)
    return a


def ref_gauss_logp(params, X, A):
    """log N(a | μ_θ(s), σ² I), σ = exp(params[-1]), for rows of X and A (A may be (m, n, k))."""
    mu = ref_net(params[:-1], X, [OBS, *HIDDEN, ACT], "linear")
    ls = params[-1]
    r = A - mu
    return -0.5 * np.exp(-2 * ls) * np.sum(r * r, axis=-1) - ACT * ls - 0.5 * ACT * np.log(2 * np.pi)


def ref_cat_logp(params, X, A):
    y = ref_net(params, X, [OBS, *HIDDEN, NACT], "softmax")
    return np.log(y[np.arange(len(X)), A])


def scores(logp, params, X, A, h=1e-30):
    """∇_params log π(A | X) by complex steps, shape (..., P)."""
    eye = np.eye(len(params))
    return np.stack([logp(params + 1j * h * e, X, A).imag / h for e in eye], axis=-1)


@pytest.fixture(scope="module")
def gauss():
    pol = GaussianPolicy(OBS, ACT, hidden=HIDDEN, log_std=-0.3)
    rng = np.random.default_rng(11)
    params = pol.init(3, out_scale=1.0)  # a full-size output layer: outputs that depend on θ
    X = rng.standard_normal((NSTATES, OBS))
    return pol, params, X, rng


@pytest.fixture(scope="module")
def cat():
    pol = CategoricalPolicy(OBS, NACT, hidden=HIDDEN)
    rng = np.random.default_rng(12)
    params = pol.init(4, out_scale=1.0)
    X = rng.standard_normal((NSTATES, OBS))
    return pol, params, X, rng


def gauss_exact_fisher(params, X, m=5):
    """E_s E_a[score scoreᵀ] with a tensor Gauss–Hermite rule of m nodes per action dimension."""
    x, w = np.polynomial.hermite.hermgauss(m)
    nodes = np.array(list(itertools.product(x, repeat=ACT)))  # (m^k, k)
    weights = np.prod(np.array(list(itertools.product(w, repeat=ACT))), axis=1) / np.pi ** (ACT / 2)
    mu = ref_net(params[:-1], X, [OBS, *HIDDEN, ACT], "linear")
    sigma = np.exp(params[-1])
    A = mu[None] + np.sqrt(2) * sigma * nodes[:, None, :]  # (m^k, n, k)
    S = scores(ref_gauss_logp, params, X, A)  # (m^k, n, P)
    return np.einsum("q,qnp,qnr->pr", weights, S, S) / len(X)


def cat_exact_fisher(params, X):
    y = ref_net(params, X, [OBS, *HIDDEN, NACT], "softmax")
    F = 0
    for a in range(NACT):
        S = scores(ref_cat_logp, params, X, np.full(len(X), a))
        F = F + np.einsum("n,np,nr->pr", y[:, a], S, S)
    return F / len(X)


def assert_within_mc_error(estimate, per_sample, exact, n_sigma=4.5):
    """|estimate − exact| ≤ n_sigma standard errors (componentwise), and the check is tight: the
    standard errors are small next to the exact values."""
    se = per_sample.std(axis=0) / np.sqrt(len(per_sample))
    assert np.max(se) < 0.03 * np.max(np.abs(exact)), "too few samples for a meaningful check"
    z = np.abs(estimate - exact) / se
    assert z.max() < n_sigma, f"Monte-Carlo Fisher differs by {z.max():.1f} standard errors"


# -- Fisher-vector products ---------------------------------------------------------------------


def test_gaussian_fisher_matches_monte_carlo(gauss):
    """F v against (1/N) Σ score (scoreᵀ v) over 40 000 sampled actions per state."""
    pol, params, X, rng = gauss
    m = 40_000
    mu = ref_net(params[:-1], X, [OBS, *HIDDEN, ACT], "linear")
    A = mu[None] + np.exp(params[-1]) * rng.standard_normal((m, NSTATES, ACT))
    S = scores(ref_gauss_logp, params, X, A).reshape(-1, pol.n_params)
    v = rng.standard_normal(pol.n_params)
    per_sample = S * (S @ v)[:, None]
    assert_within_mc_error(per_sample.mean(axis=0), per_sample, pol.linearize(params, X).fisher_vp(v))


def test_categorical_fisher_matches_monte_carlo(cat):
    pol, params, X, rng = cat
    m = 40_000
    y = ref_net(params, X, [OBS, *HIDDEN, NACT], "softmax")
    A = np.stack([rng.choice(NACT, size=m, p=row) for row in y], axis=1)  # (m, n)
    Xr = np.broadcast_to(X, (m, NSTATES, OBS)).reshape(-1, OBS)
    S = scores(ref_cat_logp, params, Xr, A.reshape(-1))
    v = rng.standard_normal(pol.n_params)
    per_sample = S * (S @ v)[:, None]
    assert_within_mc_error(per_sample.mean(axis=0), per_sample, pol.linearize(params, X).fisher_vp(v))


@pytest.mark.parametrize("kind", ["gauss", "cat"])
def test_fisher_matches_exact_expectation(kind, gauss, cat):
    """The same definition with the expectation over actions done exactly: agreement to
    round-off, on every basis vector (the whole matrix)."""
    pol, params, X, _ = gauss if kind == "gauss" else cat
    F = gauss_exact_fisher(params, X) if kind == "gauss" else cat_exact_fisher(params, X)
    state = pol.linearize(params, X)
    ours = np.column_stack([state.fisher_vp(e) for e in np.eye(pol.n_params)])
    np.testing.assert_allclose(ours, F, rtol=1e-9, atol=1e-12 * np.abs(F).max())


# -- connection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "cat"])
def test_connection_matches_finite_differences_of_the_fisher(kind, gauss, cat):
    """Γ_first(v, v) = (∂_v F) v − ½ ∇(vᵀFv) with F the exact Fisher above, by central
    differences (h = 1e-5: truncation ~1e-10, round-off ~1e-11 relative)."""
    pol, params, X, rng = gauss if kind == "gauss" else cat
    fisher = (lambda p: gauss_exact_fisher(p, X)) if kind == "gauss" else (lambda p: cat_exact_fisher(p, X))
    v = rng.standard_normal(pol.n_params)
    h = 1e-5
    dF_v = (fisher(params + h * v) - fisher(params - h * v)) @ v / (2 * h)
    grad_vFv = np.array(
        [(v @ fisher(params + h * e) @ v - v @ fisher(params - h * e) @ v) / (2 * h) for e in np.eye(pol.n_params)]
    )
    expected = dF_v - 0.5 * grad_vFv
    ours = pol.linearize(params, X).connection_vp(v)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7 * np.abs(expected).max())


def test_gaussian_connection_of_log_std_alone_is_zero(gauss):
    """Along a pure log-σ direction the metric block is the constant 2k: Γ(v, v) = 0 exactly."""
    pol, params, X, _ = gauss
    v = np.zeros(pol.n_params)
    v[-1] = 1.7
    np.testing.assert_array_equal(pol.linearize(params, X).connection_vp(v), 0.0)


# -- surrogate gradient, log-density, KL ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "cat"])
def test_surrogate_gradient_matches_complex_step(kind, gauss, cat):
    """∇[−(1/n) Σ w_k log π(a_k | s_k)] with signed weights, against complex steps."""
    pol, params, X, rng = gauss if kind == "gauss" else cat
    state = pol.linearize(params, X)
    A = state.sample(rng)
    w = rng.standard_normal(NSTATES) * 3
    logp = ref_gauss_logp if kind == "gauss" else ref_cat_logp
    expected = -(w @ scores(logp, params, X, A)) / NSTATES
    np.testing.assert_allclose(state.surrogate_gradient(A, w), expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(state.log_prob(A), logp(params, X, A), rtol=1e-13)


@pytest.mark.parametrize("kind", ["gauss", "cat"])
def test_kl_is_half_the_fisher_quadratic_form_for_small_steps(kind, gauss, cat):
    """KL(π_θ ‖ π_{θ+εv}) = ½ ε² vᵀFv + O(ε³): the closed-form KL against the Fisher products."""
    pol, params, X, rng = gauss if kind == "gauss" else cat
    state = pol.linearize(params, X)
    v = rng.standard_normal(pol.n_params)
    quad = 0.5 * v @ state.fisher_vp(v)
    ratios = [state.kl(pol.linearize(params + eps * v, X)) / (eps**2 * quad) for eps in (1e-2, 1e-3)]
    assert abs(ratios[0] - 1) < 0.05 and abs(ratios[1] - 1) < 0.005, ratios


def test_gaussian_kl_matches_quadrature(gauss):
    """The closed-form Gaussian KL against E_{a∼π₁}[log π₁ − log π₂] by Gauss–Hermite quadrature
    (exact: the integrand is quadratic in a)."""
    pol, params, X, rng = gauss
    other = params + 0.3 * rng.standard_normal(pol.n_params)
    x, w = np.polynomial.hermite.hermgauss(4)
    nodes = np.array(list(itertools.product(x, repeat=ACT)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=ACT))), axis=1) / np.pi ** (ACT / 2)
    mu = ref_net(params[:-1], X, [OBS, *HIDDEN, ACT], "linear")
    A = mu[None] + np.sqrt(2) * np.exp(params[-1]) * nodes[:, None, :]
    expected = np.mean(weights @ (ref_gauss_logp(params, X, A) - ref_gauss_logp(other, X, A)))
    assert pol.linearize(params, X).kl(pol.linearize(other, X)) == pytest.approx(expected, rel=1e-12)


def test_categorical_samples_follow_the_probabilities(cat):
    """Sampled action frequencies against the probabilities (binomial standard errors)."""
    pol, params, X, rng = cat
    Xr = np.repeat(X[:1], 50_000, axis=0)
    state = pol.linearize(params, Xr)
    freq = np.bincount(state.sample(rng), minlength=NACT) / len(Xr)
    p = state.probs[0]
    assert np.all(np.abs(freq - p) < 4.5 * np.sqrt(p * (1 - p) / len(Xr)))


def test_bad_inputs_name_the_problem(gauss, cat):
    pol, params, X, _ = gauss
    with pytest.raises(InputError, match=r"weights must be finite, but weights\[1\]"):
        pol.linearize(params, X).surrogate_gradient(np.zeros((NSTATES, ACT)), [0, np.nan, 0, 0])
    with pytest.raises(ShapeError, match=r"policy parameters must have shape \(18,\)"):
        pol.linearize(params[:-1], X)
    with pytest.raises(InputError, match="finite"):
        pol.linearize(np.full_like(params, np.nan), X)
    with pytest.raises(ShapeError, match="actions must have shape"):
        pol.linearize(params, X).log_prob(np.zeros((NSTATES, ACT + 1)))
    cpol, cparams, cX, _ = cat
    with pytest.raises(InputError, match=r"actions must lie in \[0, 3\)"):
        cpol.linearize(cparams, cX).log_prob(np.array([0, 1, 2, 3]))
    with pytest.raises(ShapeError, match="act_dim must be an integer >= 1"):
        GaussianPolicy(2, 0)


# -- the distribution as the rest of riemannopt.rl asks it ----------------------------------------


@pytest.mark.parametrize("kind", ["gauss", "cat"])
def test_output_fisher_factors_sum_to_the_output_distributions_fisher(kind, gauss, cat):
    """Σ_j u_j u_jᵀ per state against the Fisher of the output distribution in the output layer's
    pre-activation, written out: I/σ² for N(μ, σ² I) (linear output), diag(y) − y yᵀ for
    softmax(s); and the distribution's own parameters' Fisher, 2k for log σ and none for the
    categorical policy, against the exact Fisher of the module above (its last diagonal entry)."""
    pol, params, X, _ = gauss if kind == "gauss" else cat
    n_out = ACT if kind == "gauss" else NACT
    y = ref_net(pol.network_params(params), X, [OBS, *HIDDEN, n_out], "linear" if kind == "gauss" else "softmax")
    us = pol.output_fisher_factors(params, y)
    ours = sum(np.einsum("ni,nj->nij", u, u) for u in us)
    if kind == "gauss":
        ref = np.broadcast_to(np.exp(-2 * params[-1]) * np.eye(ACT), ours.shape)
        np.testing.assert_allclose(pol.extra_fisher(params), [gauss_exact_fisher(params, X)[-1, -1]], rtol=1e-12)
    else:
        ref = np.stack([np.diag(r) - np.outer(r, r) for r in y])
        assert pol.extra_fisher(params).shape == (0,)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert pol.network_params(params).shape == (pol.n_params - pol.n_extra,)


def test_env_actions_and_action_spaces(gauss, cat):
    """A Gaussian policy's actions reach the environment clipped to the action bounds (the sampled
    ones are what the batch keeps); a categorical policy's pass as they are.  Each distribution
    says which gymnasium spaces it acts in and its size there."""
    pol, *_ = gauss
    a = np.array([[-3.0, 0.5], [2.5, -0.1]])
    np.testing.assert_array_equal(
        pol.env_actions(a, np.array([-2.0, -1.0]), np.array([2.0, 1.0])), [[-2, 0.5], [2, -0.1]]
    )
    assert pol.env_actions(a, None, None) is a
    ints = np.array([0, 2, 1])
    assert cat[0].env_actions(ints, None, None) is ints
    gym = pytest.importorskip("gymnasium")
    box = gym.spaces.Box(-2.0, 2.0, (3,))
    n, low, high = GaussianPolicy.space_size(box, gym.spaces)
    assert n == 3 and np.all(low == -2) and np.all(high == 2)
    assert CategoricalPolicy.space_size(box, gym.spaces) is None
    assert CategoricalPolicy.space_size(gym.spaces.Discrete(5), gym.spaces) == (5, None, None)
    assert GaussianPolicy.space_size(gym.spaces.Discrete(5), gym.spaces) is None
    assert GaussianPolicy.space_size(gym.spaces.Box(-1.0, 1.0, (2, 2)), gym.spaces) is None


def test_a_new_distribution_is_one_class(monkeypatch):
    """A subclass of Policy that sets ``kind`` is entered in POLICIES when defined, and
    make_policy builds it by that name; a second class of the same name is refused."""
    from riemannopt.rl import policy as policy_module

    monkeypatch.setattr(policy_module, "POLICIES", dict(policy_module.POLICIES))

    class Coin(CategoricalPolicy):
        kind = "coin"

        def __init__(self, obs_dim, n, hidden=(4,), activation="tanh"):
            super().__init__(obs_dim, 2, hidden, activation)

    assert policy_module.POLICIES["coin"] is Coin
    made = policy_module.make_policy("coin", 3, 7, (5,))
    assert type(made) is Coin and made.n_actions == 2 and made.hidden == (5,)
    with pytest.raises(TypeError, match="two policy distributions named 'coin'"):
        type("OtherCoin", (CategoricalPolicy,), {"kind": "coin"})
    with pytest.raises(
        MethodError, match="unknown policy kind 'die'; expected one of 'gaussian', 'categorical', 'coin'"
    ):
        policy_module.make_policy("die", 3, 7)
