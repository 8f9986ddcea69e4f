"""Bad inputs and failing runs of :mod:`riemannopt.rl` and ``riemannopt rl`` (issue 21, items 2, 6
and 7): each gives its ``riemannopt.errors`` exception, with a message naming the offending
argument, environment or file, before any work; a run that fails midway carries what it finished.

Each row is ``Row(id, call, error, match, check)``: ``call()`` must raise ``error`` (a command row,
``error=None``, instead returns its exit status and output), ``match`` is a regular expression the
message must contain, and ``check`` (optional) receives the exception (or, for a command, its
exit status, stdout and the temporary directory) to test what was kept.  The independent
computation the checks use: a run's first batches depend only on the seed and the updates made
before them, so what a failed run kept must equal, bit for bit, a fresh, shorter run of the same
seed that stops before the failure (with another learning rate where the failing update is the
first: the first batch is collected before any update).
"""

import contextlib
import io
import json
import re
from dataclasses import dataclass, replace

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="needs the rl extra: pip install '.[rl]'")

from riemannopt import errors as E  # noqa: E402
from riemannopt import rl  # noqa: E402
from riemannopt.cli import main as cli_main  # noqa: E402
from riemannopt.rl.kfac import KFAC  # noqa: E402

#: One batch of 2 × 64 steps, a small network: every run here takes a fraction of a second.
TINY = rl.RLConfig(n_envs=2, n_steps=64, hidden=(16,), vf_epochs=2)
#: Pendulum's episodes take 200 steps: one per copy and batch; no trust region, a huge η.
HUGE = replace(TINY, n_steps=200, lr=1e12, max_kl=None)


class NaNAfter(gym.Env):
    """A two-dimensional linear system with a one-dimensional action whose observations turn NaN
    after ``nan_after`` steps of this copy (a simulator that blew up); episodes are cut at 20 steps
    by the registration's time limit."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, nan_after=100):
        self.nan_after = nan_after
        self.count = 0
        self.state = np.zeros(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.np_random.normal(size=2)
        return self.state.copy(), {}

    def step(self, action):
        self.count += 1
        self.state = 0.9 * self.state + np.array([float(action[0]), 0.0])
        reward = -float(self.state @ self.state)
        obs = np.full(2, np.nan) if self.count > self.nan_after else self.state.copy()
        return obs, reward, False, False, {}


if "NaNAfter-v0" not in gym.registry:
    gym.register("NaNAfter-v0", entry_point=NaNAfter, max_episode_steps=20, kwargs={"nan_after": 100})


@dataclass(frozen=True)
class Row:
    id: str
    call: object
    error: type
    match: str
    check: object = None


def cli(*argv):
    """Run the command in-process: ``(exit status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli_main(list(argv))
        except SystemExit as exc:
            status = exc.code
    return status, out.getvalue(), err.getvalue()


def same_run(kept, fresh):
    """Two records of the same seed agree bit for bit on everything but the wall time."""
    np.testing.assert_array_equal(kept.episode_steps, fresh.episode_steps)
    np.testing.assert_array_equal(kept.episode_returns, fresh.episode_returns)
    for key, values in fresh.updates.items():
        if key != "update_time":
            np.testing.assert_array_equal(kept.updates[key], values, err_msg=key)
    np.testing.assert_array_equal(kept.params, fresh.params)


# -- what a failed run keeps ----------------------------------------------------------------------
def kept_first_batch_of_a_huge_step(exc):
    """η = 10¹² without a trust region sends log σ far beyond float64's range at the first update:
    the run fails at update 0 and keeps the initial parameters (a fresh policy of the same seed)
    and the first batch's episodes, which equal those of a fresh one-batch run with a sane η (the
    first batch is collected by the initial policy; each of the 2 copies ends a 200-step episode)."""
    kept = exc.result
    assert exc.iteration == 0 and kept.failure == str(exc) and not kept.interrupted
    assert kept.steps == HUGE.batch and len(kept.updates["kl"]) == 0
    np.testing.assert_array_equal(kept.params, rl.make_policy("gaussian", 3, 1, HUGE.hidden).init(1))
    fresh = rl.train("Pendulum-v1", "ng", HUGE.batch, seed=1, config=replace(HUGE, lr=0.1))
    assert len(fresh.episode_returns) == 2
    np.testing.assert_array_equal(kept.episode_steps, fresh.episode_steps)
    np.testing.assert_array_equal(kept.episode_returns, fresh.episode_returns)


def kept_batches_before_the_nan(exc):
    """Each copy of NaNAfter-v0 turns NaN at its 101st step, in the second batch (64 steps per copy
    and batch): the run keeps the first batch and its update, equal bit for bit to a fresh
    one-batch run; its 20-step episodes end at 20, 40 and 60 steps of each of the 2 copies."""
    kept = exc.result
    assert exc.iteration == 1 and kept.failure == str(exc) and kept.steps == TINY.batch
    fresh = rl.train("NaNAfter-v0", "geo", TINY.batch, seed=2, config=TINY)
    same_run(kept, fresh)
    np.testing.assert_array_equal(kept.episode_steps, [40, 40, 80, 80, 120, 120])


def nothing_trained(calls):
    def check(exc):
        assert calls == [], "a run started before the bad environment was noticed"

    return check


# -- the command ----------------------------------------------------------------------------------
def exits(code):
    def check(status, stdout, stderr, tmp):
        assert status == code, (stdout, stderr)
        if code == 2:
            assert stderr.count("\n") == 1 and not list(tmp.iterdir())

    return check


def later_environment_failed(status, stdout, stderr, tmp):
    """The second environment fails in its second batch: exit status 1, the first environment's
    runs are written complete (equal to fresh runs of the same seeds), the failed run is written
    with its first batch and marked in the history, the table and the figure's legend."""
    assert status == 1, stderr
    assert (tmp / "rl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    study = rl.Study.load(tmp / "rl.json")
    assert not study.interrupted
    for seed, run in enumerate(study.runs("CartPole-v1", "ng")):
        assert run.complete and run.seed == seed
        same_run_but_params(run, rl.train("CartPole-v1", "ng", 256, seed=seed, config=_cli_config()))
    for seed, failed in enumerate(study.runs("NaNAfter-v0", "ng")):
        assert failed.seed == seed and "NaNAfter-v0 returned a non-finite observation" in failed.failure
        same_run_but_params(failed, rl.train("NaNAfter-v0", "ng", 128, seed=seed, config=_cli_config()))
    assert re.search(r"NaNAfter-v0\s+ng\s+0/2, 2 failed", stdout)
    assert "! ng on NaNAfter-v0 (seed 1) failed" in stdout
    data = json.loads((tmp / "rl.json").read_text())
    assert [r["failure"] is not None for r in data["runs"]] == [False, False, True, True]
    from riemannopt.plot import rl_figure

    legends = [
        [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else [] for ax in rl_figure(study).axes
    ]
    assert legends[0][0] == "ng" and legends[1][0] == "ng — 0/2 complete, 2 failed"


def same_run_but_params(loaded, fresh):
    """A run loaded from a history (no parameters) equals a fresh run bit for bit."""
    np.testing.assert_array_equal(loaded.episode_steps, fresh.episode_steps)
    np.testing.assert_array_equal(loaded.episode_returns, fresh.episode_returns)
    np.testing.assert_array_equal(loaded.updates["kl"], fresh.updates["kl"])


def _cli_config():
    """The RLConfig that ``--envs 2 --steps-per-env 64`` builds."""
    return rl.RLConfig(n_envs=2, n_steps=64)


def _policy_kfac():
    policy = rl.GaussianPolicy(3, 1, hidden=(4,))
    params = policy.init(0)
    obs = np.random.default_rng(0).normal(size=(16, 3))
    return KFAC(policy, params, obs), np.ones(policy.n_params)


def _nn_history(tmp):
    """A file in the form ``riemannopt nn --history`` writes (NNStudy.to_json), next to ``tmp``
    rather than in it (:func:`exits` checks that the command wrote nothing into ``tmp``)."""
    path = tmp.parent / f"{tmp.name}-nn.json"
    path.write_text(json.dumps({"preset": "curves-small", "methods": ["ng"], "seeds": [0], "iters": 1, "runs": {}}))
    return str(path)


_CALLS = []

ROWS = [
    # rl.train: every argument, before any environment is made
    Row("train env_id None", lambda: rl.train(None, "ng", 2048), E.InputError, r"env_id must be .*got None"),
    Row("train env_id 3", lambda: rl.train(3, "ng", 2048), E.InputError, r"env_id must be .*got 3"),
    Row("default_lr None", lambda: rl.default_lr(None), E.InputError, r"env_id must be .*got None"),
    Row("seed -1", lambda: rl.train("CartPole-v1", "ng", 128, seed=-1, config=TINY), E.InputError, r"seed .*got -1"),
    Row("seed 1.5", lambda: rl.train("CartPole-v1", "ng", 128, seed=1.5, config=TINY), E.InputError, r"seed .*1\.5"),
    Row("seed 'a'", lambda: rl.train("CartPole-v1", "ng", 128, seed="a", config=TINY), E.InputError, r"seed .*'a'"),
    Row(
        "config a dict",
        lambda: rl.train("CartPole-v1", "ng", 2048, config={"lr": 0.3}),
        E.InputError,
        r"config must be an RLConfig.*got dict",
    ),
    Row(
        "timesteps under one batch",
        lambda: rl.train("CartPole-v1", "ng", 10),
        E.InputError,
        r"timesteps = 10 is less than one batch of 2048 .*n_envs 8 × n_steps 256",
    ),
    Row("timesteps 2.5", lambda: rl.train("CartPole-v1", "ng", 2.5), E.InputError, r"timesteps must be an integer"),
    Row(
        "on_batch not callable",
        lambda: rl.train("CartPole-v1", "ng", 128, config=TINY, on_batch=3),
        E.InputError,
        r"on_batch must be callable",
    ),
    Row(
        "info of another environment",
        lambda: rl.train("CartPole-v1", "ng", 128, config=TINY, info=rl.env_info("Pendulum-v1")),
        E.InputError,
        r"info must be env_info\('CartPole-v1'\)",
    ),
    # RLConfig: every setting
    Row("RLConfig lr 'big'", lambda: rl.RLConfig(lr="big"), E.InputError, r"RLConfig\.lr must be .*'big'"),
    Row(
        "RLConfig normalize_obs 'no'",
        lambda: rl.RLConfig(normalize_obs="no"),
        E.InputError,
        r"RLConfig\.normalize_obs must be True or False, got 'no'",
    ),
    Row("RLConfig log_std 1e6", lambda: rl.RLConfig(log_std=1e6), E.InputError, r"RLConfig\.log_std must be .*<= 20"),
    Row(
        "RLConfig kfac without damping",
        lambda: rl.RLConfig(curvature="kfac", damping=0),
        E.InputError,
        r"RLConfig\.damping must be a finite number > 0, got 0",
    ),
    Row("RLConfig hidden (64, 0)", lambda: rl.RLConfig(hidden=(64, 0)), E.InputError, r"RLConfig\.hidden\[1\]"),
    Row("RLConfig hidden '64'", lambda: rl.RLConfig(hidden="64"), E.InputError, r"RLConfig\.hidden must be"),
    Row("RLConfig n_envs True", lambda: rl.RLConfig(n_envs=True), E.InputError, r"RLConfig\.n_envs .*True"),
    Row("RLConfig gamma inf", lambda: rl.RLConfig(gamma=float("inf")), E.InputError, r"RLConfig\.gamma .*inf"),
    Row("KFAC solve damping 0", lambda: _policy_kfac()[0].solve(_policy_kfac()[1], 0), E.InputError, r"damping"),
    # the building blocks' public functions
    Row("env_info None", lambda: rl.env_info(None), E.InputError, r"env_id must be .*got None"),
    Row("make_vec_env n_envs 0", lambda: rl.make_vec_env("CartPole-v1", 0), E.InputError, r"n_envs must be .*got 0"),
    Row("gae gamma 2", lambda: rl.gae([1.0], [0.0], [0.0], [False], [False], 2, 0.9), E.InputError, r"gamma .*<= 1"),
    Row("ValueFunction lr 0", lambda: rl.ValueFunction(3, (4,), lr=0), E.InputError, r"lr must be .*> 0, got 0"),
    Row(
        "returns_at window 0",
        lambda: rl.RLResult("X-v0", "ng", 0, TINY, np.array([1]), np.array([1.0])).returns_at([1], window=0),
        E.InputError,
        r"window must be an integer >= 1, got 0",
    ),
    # runs that fail midway keep what they finished
    Row(
        "huge step, trust region off",
        lambda: rl.train("Pendulum-v1", "ng", 4 * HUGE.batch, seed=1, config=HUGE),
        E.TrainingError,
        r"ng on Pendulum-v1 \(seed 1\) diverged at update 0: .*log σ reached",
        kept_first_batch_of_a_huge_step,
    ),
    Row(
        "observations turn NaN",
        lambda: rl.train("NaNAfter-v0", "geo", 4 * TINY.batch, seed=2, config=TINY),
        E.TrainingError,
        r"NaNAfter-v0 returned a non-finite observation after environment step 202: "
        r"environment 0's observation\[0\] = nan",
        kept_batches_before_the_nan,
    ),
    # run_study: every argument and every environment, before the first run
    Row(
        "run_study env_ids a string",
        lambda: rl.run_study("CartPole-v1", ["ng"], 128, [0], config=TINY),
        E.InputError,
        r"env_ids must be a list of names, got 'CartPole-v1'",
    ),
    Row(
        "run_study unknown second environment",
        lambda: rl.run_study(["CartPole-v1", "NoSuchEnv-v0"], ["ng"], 128, [0], config=TINY, progress=_CALLS.append),
        E.MethodError,
        r"unknown gymnasium environment 'NoSuchEnv-v0'",
        nothing_trained(_CALLS),
    ),
    Row(
        "run_study seed -1",
        lambda: rl.run_study(["CartPole-v1"], ["ng"], 128, [0, -1], config=TINY),
        E.InputError,
        r"seeds\[1\] must be an integer >= 0, got -1",
    ),
    Row(
        "run_study config a dict",
        lambda: rl.run_study(["CartPole-v1"], ["ng"], 128, [0], config={}),
        E.InputError,
        r"config must be an RLConfig",
    ),
    Row(
        "run_study window 0",
        lambda: rl.run_study(["CartPole-v1"], ["ng"], 128, [0], config=TINY, window=0),
        E.InputError,
        r"window must be an integer >= 1, got 0",
    ),
    Row(
        "run_study unknown method",
        lambda: rl.run_study(["CartPole-v1"], ["ng", "adam"], 128, [0], config=TINY),
        E.MethodError,
        r"methods: unknown policy update 'adam'",
    ),
    Row(
        "run_study timesteps under one batch",
        lambda: rl.run_study(["CartPole-v1"], ["ng"], 100, [0], config=TINY),
        E.InputError,
        r"timesteps = 100 is less than one batch of 128",
    ),
    # the command
    Row(
        "rl --timesteps 10",
        lambda tmp: cli("rl", "--timesteps", "10", "--out", str(tmp / "rl.png")),
        None,
        r"--timesteps 10 is less than one batch of 2048 steps \(--envs 8 × --steps-per-env 256\): raise "
        r"--timesteps or lower --envs or --steps-per-env",
        exits(2),
    ),
    Row(
        "rl --history unwritable",
        lambda tmp: cli("rl", "--history", "/proc/rl.json", "--out", str(tmp / "rl.png")),
        None,
        r"--history.*'/proc/rl\.json' cannot be written",
        exits(2),
    ),
    Row(
        "rl --out unwritable",
        lambda tmp: cli("rl", "--out", "/proc/rl.png"),
        None,
        r"--out.*'/proc/rl\.png' cannot be written",
        exits(2),
    ),
    Row(
        "rl --from-history of riemannopt nn",
        lambda tmp: cli("rl", "--from-history", _nn_history(tmp), "--out", str(tmp / "rl.png")),
        None,
        r"--from-history: .*nn\.json is the history of a network-training study \(riemannopt nn\), not of "
        r"riemannopt rl",
        exits(2),
    ),
    Row(
        "rl a later environment fails",
        lambda tmp: cli(
            "rl",
            "--env",
            "CartPole-v1,NaNAfter-v0",
            "--methods",
            "ng",
            "--seeds",
            "2",
            "--timesteps",
            "256",
            "--envs",
            "2",
            "--steps-per-env",
            "64",
            "--out",
            str(tmp / "rl.png"),
            "--history",
            str(tmp / "rl.json"),
            "--no-progress",
        ),
        None,
        r"ng on NaNAfter-v0 \(seed 0\) failed: ng on NaNAfter-v0 \(seed 0\) failed in batch 1: NaNAfter-v0 returned "
        r"a non-finite observation",
        later_environment_failed,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row, tmp_path):
    """The call raises its riemannopt error naming the argument (or, for a command, exits with its
    status and says why on one line); the check tests what was kept."""
    if row.error is None:
        status, stdout, stderr = row.call(tmp_path)
        assert re.search(row.match, stdout + stderr), (stdout, stderr)
        row.check(status, stdout, stderr, tmp_path)
        return
    with pytest.raises(row.error) as info:
        row.call()
    assert isinstance(info.value, E.RiemannOptError)
    assert re.search(row.match, str(info.value)), str(info.value)
    if row.check:
        row.check(info.value)
