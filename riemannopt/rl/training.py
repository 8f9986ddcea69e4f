"""One training run of natural policy gradient: collect, estimate advantages, update, repeat.

:func:`train` is the loop; :class:`RLConfig` holds every setting (defaults from the paper's
App. E.2 where it gives them, ACKTR's otherwise) and :func:`default_lr` the per-environment
learning rates.  A run is reproducible: one seed fixes the initial networks, the environments'
resets and the action noise.
"""

import functools
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from riemannopt._checks import _short, as_float_array, check_number
from riemannopt._io import deferred_interrupt
from riemannopt._threads import blas_threads
from riemannopt.errors import InputError, MethodError, NonFiniteError, OptimizationError, TrainingError
from riemannopt.rl.advantages import standardize
from riemannopt.rl.envs import check_env_id, env_info, make_vec_env
from riemannopt.rl.policy import make_policy
from riemannopt.rl.rollout import Collector
from riemannopt.rl.updates import CURVATURES, METHODS, RENAMED_CURVATURES, _unknown_curvature, policy_update
from riemannopt.rl.value import ValueFunction

__all__ = ["RLConfig", "RLResult", "PAPER_LR", "TUNED_LR", "MAX_LOG_STD", "default_lr", "train"]

#: The paper's learning rates (App. E.2), chosen there so that ACKTR (K-FAC steps with its own
#: damping and momentum 0) reaches the highest return at 1M steps.  Keys are environment names
#: without the version.
PAPER_LR = {
    "HalfCheetah": 1.0,
    "Hopper": 0.03,
    "Reacher": 0.03,
    "Walker2d": 0.03,
    "InvertedPendulum": 0.3,
    "InvertedDoublePendulum": 0.01,
}

#: Learning rates chosen here by the paper's protocol (the best ``ng`` return at the end of the
#: run, 200k steps, among 0.1, 0.3 and 1.0, two seeds each; see the docs' reinforcement-learning
#: page).  They differ from :data:`PAPER_LR` where the exact-Fisher step is larger or smaller than
#: K-FAC's: Reacher's 0.03 barely moves an exact-Fisher policy (return −51 after 200k steps,
#: against −7 at 1.0).
TUNED_LR = {
    "Pendulum": 0.3,
    "InvertedPendulum": 0.3,
    "Reacher": 1.0,
    "CartPole": 0.3,
}


_UPDATE_RECORDS = (
    "steps",
    "rate",
    "kl_predicted",
    "kl",
    "cg_iterations",
    "correction",
    "shrink",
    "update_time",
    "entropy",
)


def default_lr(env_id):
    """η for ``env_id`` (by name without the ``-vN`` suffix): :data:`TUNED_LR` if the
    environment was tuned here, else :data:`PAPER_LR` if the paper gives a value, else 0.3."""
    name = check_env_id(env_id).split("/")[-1].split("-v")[0]
    return TUNED_LR.get(name, PAPER_LR.get(name, 0.3))


#: The largest ``|RLConfig.log_std|``: an initial σ between e⁻²⁰ and e²⁰.
MAX_LOG_STD = 20.0


@dataclass(frozen=True)
class RLConfig:
    """Settings of a run.

    Every setting is checked when the config is made (an :class:`~riemannopt.errors.InputError`
    naming it); numbers are stored as Python ``int`` / ``float`` and ``hidden`` as a tuple.

    Attributes
    ----------
    lr : float or None
        η, the largest step (None: :func:`default_lr` of the environment).
    max_kl : float or None
        δ of the trust region ``r = min(η, √(2δ/dᵀFd))`` (None: fixed steps).
    damping : float
        λ of the damped Fisher ``F + λI`` (> 0 with ``curvature="kfac"``, whose Kronecker
        factors are singular without it).
    curvature : {"fisher", "kfac"}
        The Fisher of the updates: the Fisher itself by exact products with CG, or ACKTR's
        Kronecker factors (:func:`~riemannopt.rl.policy_update`).  (Studies saved with the
        earlier name ``"exact"`` load as ``"fisher"``: :meth:`from_dict`.)
    cg_iters : int
        The most CG steps per solve.
    n_envs, n_steps : int
        Environments stepped in parallel and steps of each per batch (a batch is their product,
        2048 by default, near ACKTR's 2500 for continuous control).
    gamma, lam : float
        Discount and GAE parameter (ACKTR: 0.99 and 0.97), in [0, 1].
    hidden : tuple of int
        Hidden widths of the policy and the value network (App. E.2: two of 64).
    log_std : float
        Initial log σ of a Gaussian policy, within ±:data:`MAX_LOG_STD`.
    vf_lr, vf_epochs, vf_minibatch :
        Adam settings of the value function.
    normalize_obs : bool
        Normalize observations by running statistics.
    """

    lr: float = None
    max_kl: float = 0.01
    damping: float = 1e-2
    curvature: str = "fisher"
    cg_iters: int = 10
    n_envs: int = 8
    n_steps: int = 256
    gamma: float = 0.99
    lam: float = 0.97
    hidden: tuple = (64, 64)
    log_std: float = 0.0
    vf_lr: float = 1e-3
    vf_epochs: int = 10
    vf_minibatch: int = 64
    normalize_obs: bool = True

    def __post_init__(self):
        def put(name, value):  # a frozen dataclass: store the checked, normalized value
            object.__setattr__(self, name, value)

        if not isinstance(self.curvature, str) or self.curvature not in CURVATURES:
            raise InputError(f"RLConfig.curvature: {_unknown_curvature(self.curvature)}")
        for name in ("lr", "max_kl"):
            value = getattr(self, name)
            if value is not None:
                put(name, check_number(value, f"RLConfig.{name}", low=0, strict=True))
        kfac = self.curvature == "kfac"
        put("damping", check_number(self.damping, "RLConfig.damping", low=0, strict=kfac))
        for name in ("gamma", "lam"):
            put(name, check_number(getattr(self, name), f"RLConfig.{name}", low=0, high=1))
        put("log_std", check_number(self.log_std, "RLConfig.log_std", low=-MAX_LOG_STD, high=MAX_LOG_STD))
        put("vf_lr", check_number(self.vf_lr, "RLConfig.vf_lr", low=0, strict=True))
        for name in ("cg_iters", "n_envs", "n_steps", "vf_epochs", "vf_minibatch"):
            put(name, check_number(getattr(self, name), f"RLConfig.{name}", integer=True, low=1))
        hidden = self.hidden
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (tuple, list)) or not hidden:
            raise InputError(f"RLConfig.hidden must be positive layer widths such as (64, 64), got {hidden!r}")
        put(
            "hidden", tuple(check_number(h, f"RLConfig.hidden[{i}]", integer=True, low=1) for i, h in enumerate(hidden))
        )
        if not isinstance(self.normalize_obs, (bool, np.bool_)):
            raise InputError(f"RLConfig.normalize_obs must be True or False, got {self.normalize_obs!r}")
        put("normalize_obs", bool(self.normalize_obs))

    @property
    def batch(self):
        """Environment steps per update."""
        return self.n_envs * self.n_steps

    def resolved(self, env_id):
        """This config with ``lr`` filled in for ``env_id``."""
        return self if self.lr is not None else replace(self, lr=default_lr(env_id))

    @classmethod
    def from_dict(cls, data):
        """The config of ``dataclasses.asdict(config)`` as JSON gives it back (a list for
        ``hidden``), as a study or run saves it; a curvature saved under an earlier name
        (:data:`~riemannopt.rl.updates.RENAMED_CURVATURES`: ``"exact"``) is read as its name
        now (``"fisher"``)."""
        config = dict(data)
        config["hidden"] = tuple(config["hidden"])
        curvature = config.get("curvature")
        if isinstance(curvature, str) and curvature in RENAMED_CURVATURES:
            config["curvature"] = RENAMED_CURVATURES[curvature]
        return cls(**config)


@dataclass
class RLResult:
    """The record of one run.

    Attributes
    ----------
    env_id, method : str
    seed : int
    config : RLConfig
        With ``lr`` resolved.
    episode_steps : ndarray of int
        Environment steps taken when each episode ended.
    episode_returns : ndarray
        Each finished episode's undiscounted return.
    updates : dict of ndarray
        Per update: ``steps`` (environment steps before it), ``rate`` (r), ``kl_predicted``,
        ``kl``, ``cg_iterations``, ``correction``, ``shrink`` (see :class:`~riemannopt.rl.UpdateResult`),
        ``update_time`` (seconds spent in the policy update alone), ``entropy`` (of the policy
        that collected the batch, mean over its states).
    params : ndarray
        The final policy parameters (those of the last finished update).
    steps : int or None
        Environment steps of the batches collected in full (None: unknown, a record from before
        this was kept).
    interrupted : bool
        Ctrl-C stopped the run: the record holds what was finished before.
    failure : str or None
        Why the run stopped early (the message of the :class:`~riemannopt.errors.TrainingError`
        it raised), or None.
    """

    env_id: str
    method: str
    seed: int
    config: RLConfig
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    updates: dict = field(default_factory=dict)
    params: np.ndarray = None
    steps: int = None
    interrupted: bool = False
    failure: str = None

    @property
    def complete(self):
        """The run neither failed nor was interrupted."""
        return not self.interrupted and self.failure is None

    def returns_at(self, steps, window=10):
        """The average return of the last ``window`` episodes finished by each of ``steps``
        environment steps (NaN before the first episode ends): the learning curve of Figure 4."""
        window = check_number(window, "window", integer=True, low=1)
        steps = np.atleast_1d(as_float_array(steps, "steps"))
        out = np.full(len(steps), np.nan)
        ends = np.searchsorted(self.episode_steps, steps, side="right")
        csum = np.concatenate([[0.0], np.cumsum(self.episode_returns)])
        for i, e in enumerate(ends):
            if e:
                s = max(0, e - window)
                out[i] = (csum[e] - csum[s]) / (e - s)
        return out

    def to_dict(self):
        """A JSON-ready dict (the parameters are left out)."""
        return {
            "env_id": self.env_id,
            "method": self.method,
            "seed": self.seed,
            "config": asdict(self.config),
            "episode_steps": self.episode_steps.tolist(),
            "episode_returns": self.episode_returns.tolist(),
            "updates": {k: np.asarray(v).tolist() for k, v in self.updates.items()},
            "steps": self.steps,
            "interrupted": self.interrupted,
            "failure": self.failure,
        }

    @classmethod
    def from_dict(cls, data):
        """The inverse of :meth:`to_dict` (``params`` is None; the config read by
        :meth:`RLConfig.from_dict`)."""
        steps = data.get("steps")
        return cls(
            data["env_id"],
            data["method"],
            int(data["seed"]),
            RLConfig.from_dict(data["config"]),
            np.asarray(data["episode_steps"], dtype=int),
            np.asarray(data["episode_returns"], dtype=float),
            {k: np.asarray(v) for k, v in data["updates"].items()},
            steps=None if steps is None else int(steps),
            interrupted=bool(data.get("interrupted", False)),
            failure=data.get("failure"),
        )


def check_seed(seed, name="seed"):
    """``seed`` as an int ≥ 0 (what numpy's and gymnasium's seeding accept), else an
    :class:`~riemannopt.errors.InputError` naming ``name``."""
    return check_number(seed, name, integer=True, low=0)


def check_config(config, name="config"):
    """``config`` if it is an :class:`RLConfig`, ``RLConfig()`` if None, else an InputError."""
    if config is None:
        return RLConfig()
    if not isinstance(config, RLConfig):
        raise InputError(
            f"{name} must be an RLConfig (e.g. RLConfig(lr=0.3)), got {type(config).__name__} {_short(config)}"
        )
    return config


def check_timesteps(timesteps, config, name="timesteps"):
    """``timesteps`` as an int of at least one batch of ``config``; the message says how to lower
    the batch."""
    timesteps = check_number(timesteps, name, integer=True, low=1)
    if timesteps < config.batch:
        raise InputError(
            f"{name} = {timesteps} is less than one batch of {config.batch} environment steps "
            f"(n_envs {config.n_envs} × n_steps {config.n_steps}): raise {name} or lower RLConfig.n_envs "
            "or RLConfig.n_steps"
        )
    return timesteps


def train(env_id, method, timesteps, *, seed=0, config=None, info=None, on_batch=None):
    """Train a policy on ``env_id`` with natural policy gradient updated by ``method``.

    Each iteration collects ``config.batch`` environment steps with the current policy,
    estimates advantages by GAE with the value function as the baseline, updates the policy by
    :func:`~riemannopt.rl.policy_update` (standardized advantages), then fits the value
    function to the batch's λ-returns.  The BLAS library runs on one thread, unless
    ``OPENBLAS_NUM_THREADS`` (or the like) is set or the call is inside
    a ``with riemannopt.blas_threads(n):`` block.

    Ctrl-C (``KeyboardInterrupt``) ends the run and returns what was finished, marked
    ``interrupted``: the episodes of every batch collected in full and the updates made.  During
    the set-up before the first batch (the environment's and the policy's construction) nothing
    has been computed yet, and the KeyboardInterrupt propagates.

    Parameters
    ----------
    env_id : str
        A gymnasium environment with a flat Box observation space and a Box (Gaussian policy)
        or Discrete (categorical policy) action space.
    method : {"ng", "mid", "geo"}
    timesteps : int
        Environment steps to take, at least one batch (``config.batch``), rounded up to whole
        batches.
    seed : int
        ≥ 0.
    config : RLConfig, optional
    info : EnvInfo, optional
        The environment's description, if already checked (:func:`~riemannopt.rl.env_info`).
    on_batch : callable, optional
        Called with the number of environment steps of each batch (progress bars).

    Returns
    -------
    RLResult

    Raises
    ------
    MethodError
        An unknown method or environment.
    InputError
        A bad argument (named), before any work.
    BackendUnavailableError
        gymnasium (or the environment's own dependency) is missing.
    TrainingError
        The run diverged or the environment returned a non-finite observation or reward;
        ``.result`` holds the run up to the failing update (marked with ``failure``) and
        ``.iteration`` that update's index.
    """
    return _train(env_id, method, timesteps, seed=seed, config=config, info=info, on_batch=on_batch)


def _warm_up(update):
    """Run the first policy update once, untimed, and discard it, so that numba's compilation
    (or loading from its cache) of the network kernels the update uses is not counted in
    ``update_time`` (issue 21: compile before timing).  The update is a pure function of its
    arguments, so the run is unchanged; Ctrl-C is held back meanwhile (an interrupted
    compilation would break numba's cache write)."""
    with deferred_interrupt():
        update()


@blas_threads()
def _train(env_id, method, timesteps, *, seed=0, config=None, info=None, on_batch=None, keep=None):
    """:func:`train`; ``keep(result)``, if given, receives the result with Ctrl-C held back, so
    that a study never loses a run that had finished."""
    from riemannopt.rl.envs import EnvInfo

    check_env_id(env_id)
    if method not in METHODS:
        raise MethodError(f"unknown policy update {method!r}; expected one of {', '.join(METHODS)}")
    config = check_config(config)
    timesteps = check_timesteps(timesteps, config)
    seed = check_seed(seed)
    if info is not None and (not isinstance(info, EnvInfo) or info.env_id != env_id):
        raise InputError(f"info must be env_info({env_id!r}), got {_short(info)}")
    if on_batch is not None and not callable(on_batch):
        raise InputError(f"on_batch must be callable or None, got {_short(on_batch)}")
    config = config.resolved(env_id)
    info = info or env_info(env_id)
    policy = make_policy(info.kind, info.obs_dim, info.n, config.hidden, log_std=config.log_std)
    run = _Run(env_id, method, seed, config, policy.init(seed))
    env = None
    interrupted = False
    try:
        value = ValueFunction(
            info.obs_dim,
            config.hidden,
            seed=seed + 1_000_003,
            lr=config.vf_lr,
            epochs=config.vf_epochs,
            minibatch=config.vf_minibatch,
        )
        env = make_vec_env(env_id, config.n_envs)
        collector = Collector(env, info, seed, normalize=config.normalize_obs)
        vf_rng = np.random.default_rng([seed, 1])
        iteration = 0
        while collector.steps < timesteps:
            before = collector.steps
            try:
                batch = collector.collect(policy, run.params, value, config.n_steps, config.gamma, config.lam)
            except NonFiniteError as exc:
                raise run.failed(
                    f"{method} on {env_id} (seed {seed}) failed in batch {iteration}: {exc}", iteration
                ) from exc
            run.commit_batch(batch.episodes, collector.steps)
            update = functools.partial(
                policy_update,
                policy,
                run.params,
                batch,
                method,
                lr=config.lr,
                max_kl=config.max_kl,
                damping=config.damping,
                curvature=config.curvature,
                max_iter=config.cg_iters,
                advantages=standardize(batch.advantages),
            )
            try:
                if iteration == 0:
                    _warm_up(update)
                t0 = time.perf_counter()
                up = update()
            except OptimizationError as exc:
                raise run.failed(
                    f"{method} on {env_id} (seed {seed}) diverged at update {iteration}: {exc}", iteration
                ) from exc
            elapsed = time.perf_counter() - t0
            record = dict(steps=before, update_time=elapsed, entropy=policy.linearize(run.params, batch.obs).entropy())
            run.commit_update({k: record[k] if k in record else getattr(up, k) for k in _UPDATE_RECORDS}, up.params)
            value.fit(batch.obs, batch.returns, vf_rng)
            iteration += 1
            if on_batch is not None:
                on_batch(collector.steps - before)
    except KeyboardInterrupt:
        interrupted = True
    except TrainingError as exc:
        if keep is not None:
            with deferred_interrupt():
                keep(exc.result)
        raise
    finally:
        if env is not None:
            with deferred_interrupt():
                env.close()
    with deferred_interrupt():
        result = run.result(interrupted=interrupted)
        if keep is not None:
            keep(result)
    return result


class _Run:
    """What a run has finished so far; every commit is made whole or not at all (Ctrl-C is held
    back over it), so that an interrupted run's record is a prefix of the uninterrupted one."""

    def __init__(self, env_id, method, seed, config, params):
        self.env_id, self.method, self.seed, self.config = env_id, method, seed, config
        self.params = params
        self.episodes = []
        self.steps = 0
        self.log = {k: [] for k in _UPDATE_RECORDS}

    def commit_batch(self, episodes, steps):
        with deferred_interrupt():
            self.episodes.extend(episodes)
            self.steps = steps

    def commit_update(self, record, params):
        with deferred_interrupt():
            for k in _UPDATE_RECORDS:
                self.log[k].append(record[k])
            self.params = params

    def result(self, *, interrupted=False, failure=None):
        ep = np.array(self.episodes, dtype=float).reshape(-1, 3)
        return RLResult(
            self.env_id,
            self.method,
            self.seed,
            self.config,
            ep[:, 0].astype(int),
            ep[:, 1],
            {k: np.asarray(v) for k, v in self.log.items()},
            self.params,
            steps=self.steps,
            interrupted=interrupted,
            failure=failure,
        )

    def failed(self, message, iteration):
        """The TrainingError that ends the run, carrying the record so far."""
        return TrainingError(message, iteration=iteration, result=self.result(failure=message))
