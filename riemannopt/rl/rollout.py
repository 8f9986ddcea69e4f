"""Collecting batches of experience from vectorised environments.

A :class:`Collector` steps ``n`` environments in lock-step with a policy for a fixed number of
steps, keeps episodes running across batches (an on-policy batch is a time window, not a set of
whole episodes), records every finished episode's undiscounted return, and turns the batch into
advantages with :func:`~riemannopt.rl.gae`.

Observations are normalized by running statistics (:class:`RunningNorm`, as ACKTR's
observation filter does): the policy and the value function see ``clip((s − mean)/std, ±10)``.
The statistics are updated after each batch, so every product of one update sees inputs
normalized the same way.
"""

from dataclasses import dataclass, field

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import NonFiniteError
from riemannopt.rl.advantages import gae

__all__ = ["RunningNorm", "Batch", "Collector"]


class RunningNorm:
    """Running mean and variance of observations (Chan et al.'s parallel update of moments).

    Parameters
    ----------
    dim : int
    clip : float
        Normalized observations are clipped to ``[−clip, clip]``.
    """

    def __init__(self, dim, clip=10.0):
        dim = check_number(dim, "dim", integer=True, low=1)
        self.mean = np.zeros(dim)
        self.var = np.ones(dim)
        self.count = 0
        self.clip = check_number(clip, "clip", low=0, strict=True)

    def __call__(self, obs):
        """``clip((obs − mean) / √(var + 1e-8))``; the identity until the first :meth:`update`."""
        if self.count == 0:
            return np.asarray(obs, dtype=np.float64)
        z = (np.asarray(obs, dtype=np.float64) - self.mean) / np.sqrt(self.var + 1e-8)
        return np.clip(z, -self.clip, self.clip)

    def update(self, obs):
        """Merge the moments of the rows of ``obs`` into the running ones."""
        obs = np.asarray(obs, dtype=np.float64).reshape(-1, len(self.mean))
        n = len(obs)
        if n == 0:
            return
        mean, var = obs.mean(axis=0), obs.var(axis=0)
        total = self.count + n
        delta = mean - self.mean
        m2 = self.var * self.count + var * n + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var = m2 / total
        self.count = total


@dataclass
class Batch:
    """One batch of on-policy experience, flattened over time and environments.

    Attributes
    ----------
    obs : ndarray, shape (N, obs_dim)
        Normalized observations (the policy's inputs).
    actions : ndarray
        Actions as sampled, before the policy hands them to the environment
        (:meth:`~riemannopt.rl.Policy.env_actions`, e.g. clipped to the action bounds): shape
        ``(N, k)``, or ``(N,)`` integers for a discrete policy.
    log_probs : ndarray, shape (N,)
        ``log π_old(a | s)`` of the policy that acted.
    advantages : ndarray, shape (N,)
        GAE estimates (not standardized).
    returns : ndarray, shape (N,)
        λ-returns, the value function's targets.
    episodes : list of (int, float, int)
        ``(environment steps so far, return, length)`` of each episode that ended in this batch.
    steps : int
        Environment steps taken so far, this batch included.
    """

    obs: np.ndarray
    actions: np.ndarray
    log_probs: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray
    episodes: list = field(default_factory=list)
    steps: int = 0


class Collector:
    """Steps vectorised environments with a policy and turns the experience into batches.

    Parameters
    ----------
    env : gymnasium.vector.VectorEnv
        From :func:`~riemannopt.rl.make_vec_env` (same-step autoreset).
    info : EnvInfo
        The environment's description (its action bounds, handed with each batch of actions to
        the policy's :meth:`~riemannopt.rl.Policy.env_actions`).
    seed : int
        Seeds the environments (``seed, seed + 1, ...``) and the action noise.
    normalize : bool
        Normalize observations by running statistics.

    Raises
    ------
    NonFiniteError
        The environment returned a NaN or infinite observation or reward (here or in
        :meth:`collect`), naming the environment, the step and the entry.
    """

    def __init__(self, env, info, seed, *, normalize=True):
        seed = check_number(seed, "seed", integer=True, low=0)
        self.env = env
        self.info = info
        self.n_envs = env.num_envs
        self.rng = np.random.default_rng(seed)
        self.norm = RunningNorm(info.obs_dim) if normalize else None
        self.steps = 0
        obs, _ = env.reset(seed=seed)
        self.obs = self._finite(obs, "observation")
        self.ep_return = np.zeros(self.n_envs)
        self.ep_length = np.zeros(self.n_envs, dtype=int)

    def _finite(self, values, what):
        """``values`` (one row per environment) as float64, or a NonFiniteError naming the first
        non-finite entry (NaN observations would otherwise surface as a network input error)."""
        values = np.asarray(values, dtype=np.float64)
        if not np.isfinite(values).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
            entry = f"[{bad[1]}]" if len(bad) > 1 else ""
            when = f"after environment step {self.steps}" if self.steps else "at reset"
            raise NonFiniteError(
                f"{self.info.env_id} returned a non-finite {what} {when}: environment {bad[0]}'s {what}{entry} = "
                f"{values[bad]}"
            )
        return values

    def _normalized(self, obs):
        return self.norm(obs) if self.norm is not None else np.asarray(obs, dtype=np.float64)

    def collect(self, policy, params, value, n_steps, gamma, lam):
        """``n_steps`` steps of every environment with ``policy`` at ``params``.

        Returns
        -------
        Batch
            ``n_steps · n_envs`` rows, advantages by GAE with ``value`` as the baseline (it
            bootstraps through time limits from the true final observation).
        """
        n_steps = check_number(n_steps, "n_steps", integer=True, low=1)
        gamma = check_number(gamma, "gamma", low=0, high=1)
        lam = check_number(lam, "lam", low=0, high=1)
        n, T = self.n_envs, n_steps
        obs_dim = self.info.obs_dim
        raw_obs = np.empty((T, n, obs_dim))
        next_raw = np.empty((T, n, obs_dim))
        actions, log_probs = [], np.empty((T, n))
        rewards, terminated, ends = np.empty((T, n)), np.empty((T, n), bool), np.empty((T, n), bool)
        episodes = []
        for t in range(T):
            raw_obs[t] = self.obs
            state = policy.linearize(params, self._normalized(self.obs))
            a = state.sample(self.rng)
            log_probs[t] = state.log_prob(a)
            actions.append(a)
            env_a = policy.env_actions(a, self.info.low, self.info.high)
            obs, r, term, trunc, info = self.env.step(env_a)
            self.steps += n
            obs = self._finite(obs, "observation")
            r = self._finite(r, "reward")
            rewards[t], terminated[t], ends[t] = r, term, term | trunc
            next_raw[t] = obs
            self.ep_return += r
            self.ep_length += 1
            ended = np.flatnonzero(ends[t])
            for i in ended:
                next_raw[t, i] = info["final_obs"][i]
            if ended.size:  # the other rows were checked as observations
                self._finite(next_raw[t], "final observation")
            for i in ended:
                episodes.append((self.steps, float(self.ep_return[i]), int(self.ep_length[i])))
                self.ep_return[i] = 0.0
                self.ep_length[i] = 0
            self.obs = obs
        obs_n = self._normalized(raw_obs.reshape(T * n, obs_dim))
        values = value(obs_n).reshape(T, n)
        next_values = value(self._normalized(next_raw.reshape(T * n, obs_dim))).reshape(T, n)
        adv = gae(rewards, values, next_values, terminated, ends, gamma, lam)
        if self.norm is not None:
            self.norm.update(raw_obs.reshape(T * n, obs_dim))
        acts = np.stack(actions)  # (T, n, k) or (T, n)
        return Batch(
            obs=obs_n,
            actions=acts.reshape(T * n, *acts.shape[2:]),
            log_probs=log_probs.reshape(-1),
            advantages=adv.reshape(-1),
            returns=(adv + values).reshape(-1),
            episodes=episodes,
            steps=self.steps,
        )
