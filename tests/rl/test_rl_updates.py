"""The ng / mid / geo policy updates against dense linear algebra on a tiny policy.

The damped Fisher ``A = F + λI`` is assembled column by column from ``fisher_vp`` (checked
against Monte-Carlo and exact Fishers in test_rl_policy.py) and solved with ``numpy.linalg.solve``;
CG runs to convergence.  ``mid``'s gradient at the half step is checked against complex steps of
the importance-weighted surrogate ``−(1/n) Σ Â π_θ(a|s)/π_old(a|s)`` written independently.
"""

import math

import numpy as np
import pytest

from riemannopt.errors import MethodError
from riemannopt.rl import Batch, CategoricalPolicy, GaussianPolicy, policy_update, standardize, step_rate

CG = dict(tol=1e-13, eps=0, max_iter=500)
LAM = 0.05


def make_batch(pol, params, rng, n=12):
    X = rng.standard_normal((n, pol.obs_dim))
    state = pol.linearize(params, X)
    A = state.sample(rng)
    return Batch(obs=X, actions=A, log_probs=state.log_prob(A), advantages=rng.standard_normal(n), returns=np.zeros(n))


@pytest.fixture(scope="module", params=["gauss", "cat"])
def setup(request):
    rng = np.random.default_rng(21)
    if request.param == "gauss":
        pol = GaussianPolicy(3, 2, hidden=(4,), log_std=-0.2)
    else:
        pol = CategoricalPolicy(3, 3, hidden=(4,))
    params = pol.init(5, out_scale=1.0)
    batch = make_batch(pol, params, rng)
    return pol, params, batch


def dense(state, n):
    return np.column_stack([state.fisher_vp(e) for e in np.eye(n)]) + LAM * np.eye(n)


def test_ng_geo_mid_match_dense_solves(setup):
    pol, params, batch = setup
    n = pol.n_params
    adv = standardize(batch.advantages)
    state = pol.linearize(params, batch.obs)
    A = dense(state, n)
    d = np.linalg.solve(A, -state.surrogate_gradient(batch.actions, adv))
    r = 0.4
    ng = policy_update(pol, params, batch, "ng", lr=r, damping=LAM, **CG)
    np.testing.assert_allclose(ng.params, params + r * d, rtol=1e-9, atol=1e-11)

    c = np.linalg.solve(A, state.connection_vp(d))
    geo = policy_update(pol, params, batch, "geo", lr=r, damping=LAM, **CG)
    np.testing.assert_allclose(geo.params, params + r * d - 0.5 * r * r * c, rtol=1e-9, atol=1e-11)

    half = params + 0.5 * r * d
    hstate = pol.linearize(half, batch.obs)
    g_half = is_surrogate_gradient(pol, half, batch, adv)
    d_mid = np.linalg.solve(dense(hstate, n), -g_half)
    mid = policy_update(pol, params, batch, "mid", lr=r, damping=LAM, **CG)
    np.testing.assert_allclose(mid.params, params + r * d_mid, rtol=1e-8, atol=1e-11)
    assert ng.correction == 0.0
    assert geo.correction == pytest.approx(0.5 * r * np.linalg.norm(c) / np.linalg.norm(d), rel=1e-8)
    # The three differ at second order in r: the corrections are real, and small next to r·d.
    for other in (geo, mid):
        gap = np.linalg.norm(other.params - ng.params)
        assert 1e-6 * np.linalg.norm(r * d) < gap < 0.5 * np.linalg.norm(r * d)


def is_surrogate_gradient(pol, theta, batch, adv, h=1e-30):
    """∇ of −(1/n) Σ Â_k exp(log π_θ(a_k|s_k) − log π_old(a_k|s_k)) by complex steps through a
    hand-written log-density."""

    def logp(p):
        X = batch.obs
        a = X
        sizes = [pol.obs_dim, *pol.hidden, pol.net.sizes[-1]]
        k = 0
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            W = p[k : k + n_in * n_out].reshape(n_out, n_in)
            k += n_in * n_out
            a = a @ W.T + p[k : k + n_out]
            k += n_out
            if i < len(sizes) - 2:
                a = np.tanh(a)
        if isinstance(pol, GaussianPolicy):
            ls = p[-1]
            res = batch.actions - a
            return -0.5 * np.exp(-2 * ls) * np.sum(res * res, axis=1) - pol.act_dim * (ls + 0.5 * math.log(2 * math.pi))
        z = a - a.real.max(axis=1, keepdims=True)
        return z[np.arange(len(X)), batch.actions] - np.log(np.exp(z).sum(axis=1))

    def surrogate(p):
        return -np.mean(adv * np.exp(logp(p) - batch.log_probs))

    return np.array([surrogate(theta + 1j * h * e).imag / h for e in np.eye(len(theta))])


def test_trust_region_caps_the_second_order_kl(setup):
    """With a binding trust region ½ r² dᵀFd = δ exactly, and the exact KL of the ng step is
    close to it (second order)."""
    pol, params, batch = setup
    up = policy_update(pol, params, batch, "ng", lr=100.0, max_kl=1e-4, damping=LAM, **CG)
    assert up.rate < 100.0
    assert up.kl_predicted == pytest.approx(1e-4, rel=1e-12)
    assert up.kl == pytest.approx(1e-4, rel=0.05)
    # mid and geo: the same r, then their own update is held to δ (shrunk if it left the region).
    state = pol.linearize(params, batch.obs)
    for method in ("mid", "geo"):
        big = policy_update(pol, params, batch, method, lr=100.0, max_kl=1e-4, damping=LAM, **CG)
        delta = big.params - params
        assert big.rate == up.rate and 0.5 * delta @ state.fisher_vp(delta) <= 1e-4 * (1 + 1e-12)
        assert big.shrink == 1.0 or 0.5 * delta @ state.fisher_vp(delta) == pytest.approx(1e-4, rel=1e-12)
        if isinstance(pol, GaussianPolicy):  # this batch's mid and geo updates do leave the region
            assert big.shrink < 1.0
    loose = policy_update(pol, params, batch, "ng", lr=1e-3, max_kl=1.0, damping=LAM, **CG)
    assert loose.rate == 1e-3


def test_step_rate():
    assert step_rate(0.5, 8.0, None) == 0.5
    assert step_rate(0.5, 8.0, 0.01) == pytest.approx(math.sqrt(0.02 / 8.0))
    assert step_rate(0.01, 8.0, 0.01) == 0.01
    assert step_rate(0.5, 0.0, 0.01) == 0.5  # a zero direction: nothing to cap


def test_unknown_method(setup):
    pol, params, batch = setup
    with pytest.raises(MethodError, match="unknown policy update 'geof'"):
        policy_update(pol, params, batch, "geof", lr=0.1)
    with pytest.raises(MethodError, match="unknown curvature 'exact'.*'exact' is now called 'fisher'"):
        policy_update(pol, params, batch, "ng", lr=0.1, curvature="exact")


@pytest.mark.parametrize(
    "field, value",
    [
        ("lr", -1.0),
        ("max_kl", 0.0),
        ("gamma", 1.5),
        ("lam", float("nan")),
        ("n_envs", 0),
        ("cg_iters", 2.5),
        ("hidden", ()),
    ],
)
def test_config_rejects_bad_settings_before_any_work(field, value):
    from riemannopt.errors import InputError
    from riemannopt.rl import RLConfig

    with pytest.raises(InputError, match=f"RLConfig.{field}"):
        RLConfig(**{field: value})


def test_default_learning_rates():
    from riemannopt.rl import PAPER_LR, default_lr

    assert default_lr("Reacher-v5") == 1.0 and PAPER_LR["Reacher"] == 0.03  # tuned here, see docs/rl.rst
    assert default_lr("Hopper-v5") == PAPER_LR["Hopper"]  # the paper's, where not tuned here
    assert default_lr("Acrobot-v1") == 0.3
