"""Generalized advantage estimation (Schulman, Moritz, Levine, Jordan & Abbeel, ICLR 2016).

Pure functions on arrays whose first axis is time and whose other axes (if any) are parallel
environments.  Episodes end inside a batch in two ways that GAE must tell apart:

* **termination** (the task is over: the pole fell): the value after the last step is 0;
* **truncation** (a time limit cut the episode: Pendulum always stops after 200 steps): the
  episode could have continued, so the value after the last step is ``V(s_final)`` of the true
  final observation, not 0 — treating a time limit as a terminal state teaches the value function
  that the state 199 steps in is worth nothing, a well-known source of bias (Pardo et al.,
  *Time limits in reinforcement learning*, ICML 2018).

Either way the advantage recursion stops at the end of an episode: the next row belongs to a
new episode.
"""

import numpy as np

from riemannopt._checks import check_number

__all__ = ["gae", "standardize"]


def gae(rewards, values, next_values, terminated, ends, gamma, lam):
    """Generalized advantage estimates ``Â_t = Σ_l (γλ)^l δ_{t+l}`` (Schulman et al. 2016, eq. 16),
    the sum running to the end of ``t``'s episode or of the batch.

    With the TD residual ``δ_t = r_t + γ (1 − terminated_t) V(s'_t) − V(s_t)`` (``s'_t`` the state
    after step ``t``), computed backwards as ``Â_t = δ_t + γλ (1 − ends_t) Â_{t+1}``.  At the last
    row of the batch an unfinished episode is cut: ``Â_{T−1} = δ_{T−1}``, bootstrapped through
    ``next_values[T−1]`` (the standard truncation of the sum at the batch end).

    Parameters
    ----------
    rewards : array_like, shape (T, ...)
        ``r_t``.
    values : array_like, shape (T, ...)
        ``V(s_t)``.
    next_values : array_like, shape (T, ...)
        ``V(s'_t)`` of the state reached by step ``t``: the next row's state inside an episode,
        the true final observation's value where the episode ended (ignored where it
        terminated), the value of the state after the batch in the last row.
    terminated : array_like of bool, shape (T, ...)
        The episode ended in a terminal state at step ``t`` (no bootstrapping).
    ends : array_like of bool, shape (T, ...)
        The episode ended at step ``t``, by termination or truncation (the recursion stops).
    gamma, lam : float
        Discount γ and the GAE parameter λ (λ = 0: one-step TD residuals; λ = 1: discounted
        returns minus the baseline).

    Returns
    -------
    ndarray, shape (T, ...)
        ``Â_t``; the value targets are ``Â_t + V(s_t)`` (the λ-returns).
    """
    gamma = check_number(gamma, "gamma", low=0, high=1)
    lam = check_number(lam, "lam", low=0, high=1)
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    ends = np.asarray(ends, dtype=bool) | terminated
    delta = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    adv = np.empty_like(delta)
    running = np.zeros_like(delta[0]) if delta.ndim else 0.0
    for t in range(len(delta) - 1, -1, -1):
        running = delta[t] + gamma * lam * np.where(ends[t], 0.0, running)
        adv[t] = running
    return adv


def standardize(x, eps=1e-8):
    """``(x − mean) / (std + eps)``: advantages on a fixed scale, so that a fixed learning rate
    means the same in every task and at every stage of training (as ACKTR does)."""
    eps = check_number(eps, "eps", low=0)
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / (x.std() + eps)
