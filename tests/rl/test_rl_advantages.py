"""Generalized advantage estimation against the direct sum of its definition,
``Â_t = Σ_{l ≥ 0} (γλ)^l δ_{t+l}`` over the rest of ``t``'s episode (or of the batch), on hand-made
trajectories with a termination, a truncation and a batch end; and a three-step case computed by
hand."""

import numpy as np
import pytest

from riemannopt.rl import gae, standardize


def direct_gae(r, v, nv, term, ends, gamma, lam):
    """The definition, written as a sum (not the backward recursion the package uses)."""
    T = len(r)
    delta = [r[t] + gamma * (0.0 if term[t] else nv[t]) - v[t] for t in range(T)]
    out = np.zeros(T)
    for t in range(T):
        total, l = 0.0, 0
        while t + l < T:
            total += (gamma * lam) ** l * delta[t + l]
            if ends[t + l] or term[t + l]:
                break
            l += 1
        out[t] = total
    return out


def test_by_hand_three_steps():
    """r = (1, 2, 3), V = (0.5, 1, 1.5), then the episode is truncated with V(s_final) = 4:
    δ = (1 + 0.9·1 − 0.5, 2 + 0.9·1.5 − 1, 3 + 0.9·4 − 1.5) = (1.4, 2.35, 5.1);
    with γλ = 0.45: Â₂ = 5.1, Â₁ = 2.35 + 0.45·5.1 = 4.645, Â₀ = 1.4 + 0.45·4.645 = 3.49025."""
    adv = gae([1, 2, 3], [0.5, 1, 1.5], [1, 1.5, 4], [False] * 3, [False, False, True], 0.9, 0.5)
    np.testing.assert_allclose(adv, [3.49025, 4.645, 5.1], rtol=1e-14)
    # Had the episode terminated instead, the last state would be worth 0: δ₂ = 3 − 1.5.
    adv = gae([1, 2, 3], [0.5, 1, 1.5], [1, 1.5, 4], [False, False, True], [False, False, True], 0.9, 0.5)
    np.testing.assert_allclose(adv[2], 1.5, rtol=1e-14)


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.97), (0.9, 0.0), (0.8, 1.0)])
def test_matches_direct_sum_with_terminations_truncations_and_batch_end(gamma, lam):
    rng = np.random.default_rng(3)
    T, n = 9, 3
    r = rng.standard_normal((T, n))
    v = rng.standard_normal((T, n))
    nv = rng.standard_normal((T, n))
    term = np.zeros((T, n), bool)
    trunc = np.zeros((T, n), bool)
    term[2, 0] = term[6, 0] = True  # env 0: two terminations
    trunc[4, 1] = True  # env 1: a time limit
    term[5, 1] = trunc[7, 1] = True
    # env 2 runs through the whole batch: bootstrapped by nv[T−1] at the end
    ends = term | trunc
    adv = gae(r, v, nv, term, ends, gamma, lam)
    for i in range(n):
        np.testing.assert_allclose(
            adv[:, i],
            direct_gae(r[:, i], v[:, i], nv[:, i], term[:, i], ends[:, i], gamma, lam),
            rtol=1e-12,
            atol=1e-12,
        )


def test_lambda_one_is_the_discounted_return_minus_the_baseline():
    rng = np.random.default_rng(4)
    r, v = rng.standard_normal(6), rng.standard_normal(6)
    nv = np.append(v[1:], 2.5)
    adv = gae(r, v, nv, np.zeros(6, bool), np.zeros(6, bool), 0.9, 1.0)
    returns = [sum(0.9**k * r[t + k] for k in range(6 - t)) + 0.9 ** (6 - t) * 2.5 for t in range(6)]
    np.testing.assert_allclose(adv + v, returns, rtol=1e-12)


def test_standardize():
    x = standardize([1.0, 2.0, 3.0, 6.0])
    assert x.mean() == pytest.approx(0, abs=1e-15) and x.std() == pytest.approx(1, rel=1e-7)
