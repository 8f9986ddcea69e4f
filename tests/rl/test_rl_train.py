"""Training runs through gymnasium: learning, reproducibility, episode bookkeeping, errors.

Needs the ``rl`` extra (gymnasium), which CI installs; tiny seeded runs only.
"""

import subprocess
import sys

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="needs the rl extra: pip install '.[rl]'")

from riemannopt import rl  # noqa: E402
from riemannopt.errors import BackendUnavailableError, MethodError, TrainingError  # noqa: E402

SMALL = rl.RLConfig(n_envs=4, n_steps=128, hidden=(32, 32), vf_epochs=5)


def test_ng_improves_the_average_return_on_cartpole():
    """A random CartPole policy balances for ~20 steps; 16 ng updates of 512 steps (seeded)
    more than double the average return of the last 10 episodes."""
    res = rl.train("CartPole-v1", "ng", 8192, seed=0, config=SMALL)
    first = res.episode_returns[:10].mean()
    last = res.returns_at(8192)[0]
    assert first < 40 and last > 2 * first, (first, last)
    assert len(res.updates["kl"]) == 16 and np.all(res.updates["kl"] > 0)


def test_ng_improves_a_gaussian_policy_on_pendulum():
    """Pendulum (continuous actions): 20 updates lift the average return of 8 parallel
    episodes by more than a few of its standard deviations (seeded)."""
    cfg = rl.RLConfig(n_envs=8, n_steps=200, hidden=(32, 32), lr=1.0, vf_epochs=5)
    res = rl.train("Pendulum-v1", "ng", 32_000, seed=0, config=cfg)
    first, last = res.episode_returns[:8], res.episode_returns[-8:]
    assert last.mean() - first.mean() > 3 * first.std() / np.sqrt(8), (first.mean(), last.mean())


@pytest.mark.parametrize("method, curvature", [("mid", "fisher"), ("geo", "fisher"), ("geo", "kfac")])
def test_runs_are_reproducible_per_seed(method, curvature):
    cfg = rl.RLConfig(n_envs=4, n_steps=128, hidden=(32, 32), vf_epochs=5, curvature=curvature)
    a = rl.train("Pendulum-v1", method, 2048, seed=3, config=cfg)
    b = rl.train("Pendulum-v1", method, 2048, seed=3, config=cfg)
    c = rl.train("Pendulum-v1", method, 2048, seed=4, config=cfg)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.episode_returns, b.episode_returns)
    for k in ("rate", "kl", "cg_iterations"):
        np.testing.assert_array_equal(a.updates[k], b.updates[k])
    assert not np.array_equal(a.params, c.params)


@pytest.mark.parametrize("method, curvature", [("ng", "fisher"), ("geo", "fisher"), ("mid", "kfac")])
def test_warm_up_leaves_the_run_unchanged(method, curvature, monkeypatch):
    """The untimed first update that compiles the kernels before the clock (issue 21, item 8) is
    discarded: the run equals one without it, bit for bit, times aside (the reference is the
    same run with the warm-up switched off)."""
    from riemannopt.rl import training

    calls = []
    real = training._warm_up
    monkeypatch.setattr(training, "_warm_up", lambda update: calls.append(1) or real(update))
    cfg = rl.RLConfig(n_envs=2, n_steps=128, hidden=(16,), vf_epochs=2, curvature=curvature)
    warm = rl.train("Pendulum-v1", method, 768, seed=5, config=cfg)
    monkeypatch.setattr(training, "_warm_up", lambda update: None)
    cold = rl.train("Pendulum-v1", method, 768, seed=5, config=cfg)
    assert calls == [1]  # once per run, before the first update
    np.testing.assert_array_equal(warm.params, cold.params)
    np.testing.assert_array_equal(warm.episode_returns, cold.episode_returns)
    for k, v in cold.updates.items():
        if k != "update_time":
            np.testing.assert_array_equal(warm.updates[k], v, err_msg=k)


def test_collector_records_episodes_and_bootstraps_time_limits():
    """Pendulum episodes stop at 200 steps (truncation): two environments for 250 steps give
    two episodes of length 200 ending at 400 total steps, whose returns are the rewards of a
    replay of the same seeded environment with the same actions; the last row is bootstrapped."""
    info = rl.env_info("Pendulum-v1")
    env = rl.make_vec_env("Pendulum-v1", 2)
    col = rl.Collector(env, info, seed=7, normalize=False)
    pol = rl.GaussianPolicy(info.obs_dim, info.n, hidden=(8,))
    params = pol.init(0)
    batch = col.collect(pol, params, lambda obs: np.zeros(len(obs)), 250, 0.99, 0.95)
    env.close()
    assert [(s, n) for s, _, n in batch.episodes] == [(400, 200), (400, 200)]
    actions = batch.actions.reshape(250, 2, 1)
    for i in range(2):
        single = gym.make("Pendulum-v1")
        single.reset(seed=7 + i)
        total = sum(single.step(np.clip(actions[t, i], -2, 2))[1] for t in range(200))
        assert batch.episodes[i][1] == pytest.approx(total, rel=1e-6)
    assert batch.obs.shape == (500, 3) and batch.advantages.shape == (500,)


def test_unknown_environment_and_method():
    with pytest.raises(MethodError, match="unknown gymnasium environment 'NoSuchEnv-v0'"):
        rl.env_info("NoSuchEnv-v0")
    with pytest.raises(MethodError, match="unknown policy update 'adam'"):
        rl.train("CartPole-v1", "adam", 10)


def test_divergence_raises_training_error_with_the_partial_run(monkeypatch):
    """A non-finite update ends the run with a TrainingError that names the update and carries
    the episodes so far."""
    import riemannopt.rl.training as train_module

    real = train_module.policy_update
    batches = []

    def poisoned(policy, params, batch, method, **kw):
        if not any(b is batch for b in batches):  # the first update also runs once untimed
            batches.append(batch)
        if len(batches) == 2:  # update 1
            batch.advantages[:] = np.nan
            kw["advantages"] = batch.advantages
        return real(policy, params, batch, method, **kw)

    monkeypatch.setattr(train_module, "policy_update", poisoned)
    with pytest.raises(TrainingError, match="diverged at update 1") as exc:
        rl.train("CartPole-v1", "ng", 4096, seed=0, config=SMALL)
    assert exc.value.iteration == 1 and len(exc.value.result.updates["kl"]) == 1


def test_missing_gymnasium_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install \"riemannopt\[rl\]\""):
        rl.env_info("CartPole-v1")


def test_import_riemannopt_does_not_import_rl_or_gymnasium():
    code = "import sys, riemannopt; print('riemannopt.rl' in sys.modules, 'gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_mujoco_task_runs():
    """The paper's tasks need MuJoCo (in the rl extra): one seeded batch of InvertedPendulum-v5
    with geo; its episodes end by termination (the pole falls), so several finish at once."""
    pytest.importorskip("mujoco", reason="needs the rl extra: pip install '.[rl]'")
    info = rl.env_info("InvertedPendulum-v5")
    assert (info.kind, info.obs_dim, info.n) == ("gaussian", 4, 1)
    res = rl.train("InvertedPendulum-v5", "geo", 512, seed=0, config=SMALL, info=info)
    assert len(res.episode_returns) > 4 and np.all(res.episode_returns >= 1)
    assert res.updates["kl"][0] > 0 and res.updates["correction"][0] > 0
