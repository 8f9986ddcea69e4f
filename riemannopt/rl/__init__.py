"""Natural policy gradient with midpoint integration and geodesic correction (paper §7.3).

Policies on the Fisher manifold whose products are the network products of :mod:`riemannopt.nn`
(:mod:`~riemannopt.rl.policy`), generalized advantage estimation
(:mod:`~riemannopt.rl.advantages`), a value-function baseline (:mod:`~riemannopt.rl.value`),
rollouts of gymnasium environments (:mod:`~riemannopt.rl.envs`, :mod:`~riemannopt.rl.rollout`),
the ``ng`` / ``mid`` / ``geo`` updates built on :mod:`riemannopt.nn.directions`
(:mod:`~riemannopt.rl.updates`; optionally on ACKTR's Kronecker-factored Fisher,
:mod:`~riemannopt.rl.kfac`), training runs (:mod:`~riemannopt.rl.training`) and the
multi-seed study behind ``riemannopt rl`` (:mod:`~riemannopt.rl.study`).

gymnasium is optional (``pip install "riemannopt[rl]"``) and imported only when an environment
is made; everything else works without it.  ``import riemannopt`` does not import this package.
"""

from riemannopt.rl.advantages import gae, standardize
from riemannopt.rl.envs import EnvInfo, env_info, make_vec_env, require_gymnasium
from riemannopt.rl.kfac import KFAC
from riemannopt.rl.policy import POLICIES, CategoricalPolicy, GaussianPolicy, Policy, PolicyState, make_policy
from riemannopt.rl.rollout import Batch, Collector, RunningNorm
from riemannopt.rl.study import Study, run_study
from riemannopt.rl.training import PAPER_LR, TUNED_LR, RLConfig, RLResult, default_lr, train
from riemannopt.rl.updates import CURVATURES, METHODS, RENAMED_CURVATURES, UpdateResult, policy_update, step_rate
from riemannopt.rl.value import ValueFunction

__all__ = [
    "gae",
    "standardize",
    "EnvInfo",
    "env_info",
    "make_vec_env",
    "require_gymnasium",
    "Policy",
    "PolicyState",
    "GaussianPolicy",
    "CategoricalPolicy",
    "POLICIES",
    "make_policy",
    "Batch",
    "Collector",
    "RunningNorm",
    "RLConfig",
    "RLResult",
    "PAPER_LR",
    "TUNED_LR",
    "default_lr",
    "train",
    "METHODS",
    "CURVATURES",
    "RENAMED_CURVATURES",
    "KFAC",
    "UpdateResult",
    "policy_update",
    "step_rate",
    "ValueFunction",
    "Study",
    "run_study",
]
