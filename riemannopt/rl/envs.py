"""Environments through the gymnasium API (an optional dependency: ``pip install "riemannopt[rl]"``).

gymnasium is imported here and nowhere else, and only when an environment is asked for, so that
policies, advantages and updates work (and are documented) without it.
"""

from dataclasses import dataclass

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import BackendUnavailableError, InputError, MethodError
from riemannopt.rl.policy import POLICIES

__all__ = ["EnvInfo", "require_gymnasium", "env_info", "make_vec_env", "check_env_id"]


def check_env_id(env_id, name="env_id"):
    """``env_id`` if it is a gymnasium environment id (a non-empty string), else an
    :class:`~riemannopt.errors.InputError` naming ``name``."""
    if not isinstance(env_id, str) or not env_id.strip():
        raise InputError(f"{name} must be a gymnasium environment id such as 'Pendulum-v1', got {env_id!r}")
    return env_id


def require_gymnasium():
    """The ``gymnasium`` module, or a :class:`~riemannopt.errors.BackendUnavailableError` saying
    how to install it."""
    try:
        import gymnasium
    except ImportError as exc:
        raise BackendUnavailableError(
            f"riemannopt.rl runs environments through gymnasium, which is not installed ({exc}); "
            'install the rl extra: pip install "riemannopt[rl]"'
        ) from None
    return gymnasium


@dataclass(frozen=True)
class EnvInfo:
    """What a policy needs to know about an environment.

    Attributes
    ----------
    env_id : str
    obs_dim : int
    kind : str
        The policy distribution its action space calls for, a key of
        :data:`riemannopt.rl.policy.POLICIES` (the first whose
        :meth:`~riemannopt.rl.Policy.space_size` accepts the space: Box → ``"gaussian"``,
        Discrete → ``"categorical"``).
    n : int
        The distribution's size there: action dimensions (Gaussian) or number of actions
        (categorical).
    low, high : ndarray or None
        Action bounds (of a Box space; the Gaussian policy clips its actions to them before
        stepping), or None.
    max_episode_steps : int or None
    """

    env_id: str
    obs_dim: int
    kind: str
    n: int
    low: np.ndarray = None
    high: np.ndarray = None
    max_episode_steps: int = None


def env_info(env_id):
    """Check that ``env_id`` is a gymnasium environment riemannopt can drive and describe it.

    Raises
    ------
    BackendUnavailableError
        gymnasium (or the package the environment needs, e.g. ``mujoco``) is not installed.
    MethodError
        An unknown environment id, an observation space other than a flat Box, or an action
        space no policy distribution acts in (a flat Box or a Discrete one).
    InputError
        ``env_id`` is not a string.
    """
    check_env_id(env_id)
    gym = require_gymnasium()
    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        raise MethodError(f"unknown gymnasium environment {env_id!r} ({exc})") from None
    try:
        env = gym.make(env_id)
    except (ImportError, gym.error.DependencyNotInstalled) as exc:
        raise BackendUnavailableError(f"environment {env_id!r} needs a package that is not installed: {exc}") from None
    try:
        obs, act = env.observation_space, env.action_space
        if not isinstance(obs, gym.spaces.Box) or len(obs.shape) != 1:
            raise MethodError(f"{env_id}: riemannopt.rl needs a flat Box observation space, got {obs}")
        for kind, policy in POLICIES.items():
            size = policy.space_size(act, gym.spaces)
            if size is not None:
                n, low, high = size
                return EnvInfo(env_id, obs.shape[0], kind, n, low, high, env.spec.max_episode_steps)
        spaces = " or ".join(policy.action_space for policy in POLICIES.values())
        raise MethodError(f"{env_id}: riemannopt.rl needs {spaces} action space, got {act}")
    finally:
        env.close()


def make_vec_env(env_id, n_envs):
    """``n_envs`` copies of ``env_id`` stepped in lock-step (gymnasium's synchronous vector
    environment).

    Episodes reset automatically in the same step that ends them (gymnasium's ``SAME_STEP``
    autoreset), which returns the true final observation in ``info["final_obs"]``: GAE needs it
    to bootstrap through a time limit (:func:`riemannopt.rl.gae`).
    """
    check_env_id(env_id)
    n_envs = check_number(n_envs, "n_envs", integer=True, low=1)
    gym = require_gymnasium()
    from gymnasium.vector import AutoresetMode

    return gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
