"""Ctrl-C at random moments of ``riemannopt rl`` (issue 21, item 2): what is on disk is what had
finished, the interrupted run is marked, the exit status says so, no temporary file is left.

A tiny study (CartPole-v1, ``ng`` and ``geo``, two seeds, two batches of 2 × 64 steps per run)
runs once to the end in a subprocess: the reference.  Then the same command runs in a subprocess
again and again and gets SIGINT at a seeded random moment after it printed its header (the
training's start).  The independent check is the reference: a run is deterministic given its
seed, so every complete run in the interrupted study's history must equal the reference's run bit
for bit, and the interrupted run must be a prefix of it (its episodes up to the steps it reached,
its first updates).
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="needs the rl extra: pip install '.[rl]'")

from riemannopt.rl import Study  # noqa: E402

COMMAND = [
    "rl",
    "--env",
    "CartPole-v1",
    "--methods",
    "ng,geo",
    "--seeds",
    "2",
    "--timesteps",
    "256",
    "--envs",
    "2",
    "--steps-per-env",
    "64",
    "--no-progress",
]
#: The order in which the study trains its runs.
ORDER = [("ng", 0), ("ng", 1), ("geo", 0), ("geo", 1)]
TRIALS = 10
#: Catches a hang only: the whole command needs about 4 s of processor time.
TIMEOUT = 300


def cpu_seconds(pid):
    """Processor time the process ``pid`` has used (Linux ``/proc``): a clock of its progress
    that, unlike wall time, a loaded machine hardly stretches."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Command:
    """The command writing into ``directory``, started; once it has printed its header (the study
    starts right after) its further lines are collected by a thread into :attr:`lines`."""

    def __init__(self, directory):
        env = dict(os.environ, PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
        argv = COMMAND + ["--out", str(directory / "rl.png"), "--history", str(directory / "rl.json")]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riemannopt", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        header = self.proc.stdout.readline()
        assert header.startswith("natural policy gradient"), (header, self.proc.stderr.read())
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def finish(self):
        """``(exit status, stdout after the header, stderr)``."""
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"riemannopt rl did not end within {TIMEOUT} s")
        self.reader.join(TIMEOUT)
        return self.proc.returncode, "".join(self.lines), self.proc.stderr.read()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study, and the processor time its process had used when it printed its
    header and when it began its report (the table is printed once both files are written)."""
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("needs Linux's /proc to follow the command's processor time")
    # A first run fills numba's caches: the window is measured on the second, warm like the
    # trials (a cold window would put most moments after the trials' end).
    Command(tmp_path_factory.mktemp("warm")).finish()
    directory = tmp_path_factory.mktemp("reference")
    cmd = Command(directory)
    at_header = at_report = cmd.cpu()
    while not cmd.lines and cmd.proc.poll() is None:
        at_report = cmd.cpu()
        time.sleep(0.005)
    status, out, err = cmd.finish()
    assert status == 0, err
    assert out.startswith("env") and "history written" in out
    study = Study.load(directory / "rl.json")
    assert study.complete and [(r.method, r.seed) for r in runs_in_order(study)] == ORDER
    return study, at_header, at_report


def runs_in_order(study):
    return [r for runs in study.results.values() for r in runs]


def assert_prefix(run, full):
    """``run`` (from an interrupted study) holds the first batches of ``full``, bit for bit: the
    episodes that ended by the steps it reached and one update per batch, or one fewer when
    Ctrl-C landed in the last batch's update."""
    assert run.steps is not None and run.steps % 128 == 0 and run.steps <= full.steps
    ended = full.episode_steps <= run.steps
    np.testing.assert_array_equal(run.episode_steps, full.episode_steps[ended])
    np.testing.assert_array_equal(run.episode_returns, full.episode_returns[ended])
    n = len(run.updates["kl"])
    assert n in (run.steps // 128, run.steps // 128 - 1)
    for key, values in full.updates.items():
        if key != "update_time":
            np.testing.assert_array_equal(run.updates[key], values[:n], err_msg=key)


def test_ctrl_c_at_random_moments_keeps_what_finished(reference, tmp_path):
    """Ten SIGINTs at seeded random moments of the training: each time the history and the figure
    are written; the runs in the history are the first runs of the study in order, every one but
    the last complete and equal to the reference's, the last complete or marked interrupted and a
    prefix of the reference's; the study is marked interrupted and the exit status is 130 (or 0
    if the study had finished, all four runs complete: a signal that arrives while the files are
    written is delivered after them, with status 130); the table marks the interruption; no
    temporary file is left."""
    full, at_header, at_report = reference
    expected = runs_in_order(full)
    moments = np.random.default_rng(21).uniform(at_header, at_report, TRIALS)
    seen = set()
    for trial, moment in enumerate(moments):
        directory = tmp_path / f"trial{trial}"
        directory.mkdir()
        cmd = Command(directory)
        while not cmd.lines and cmd.proc.poll() is None and cmd.cpu() < moment:
            time.sleep(0.005)
        # Once the report has begun the study is over: a signal then could only land in the
        # interpreter's shutdown, which is not what this tests.
        sent = not cmd.lines and cmd.proc.poll() is None
        if sent:
            cmd.proc.send_signal(signal.SIGINT)
        status, out, err = cmd.finish()
        where = f"trial {trial}, SIGINT at {moment:.2f} s of processor time: status {status}\n{out}\n{err}"
        assert sorted(p.name for p in directory.iterdir()) == ["rl.json", "rl.png"], where
        assert (directory / "rl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", where
        study = Study.load(directory / "rl.json")
        runs = runs_in_order(study)
        assert [(r.method, r.seed) for r in runs] == ORDER[: len(runs)], where
        for run, ref in zip(runs[:-1], expected):
            assert run.complete, where
            assert_prefix(run, ref)
            assert run.steps == ref.steps and len(run.updates["kl"]) == len(ref.updates["kl"]), where
        if runs:
            last = expected[len(runs) - 1]
            assert_prefix(runs[-1], last)
            assert runs[-1].failure is None and (runs[-1].interrupted or runs[-1].steps == last.steps), where
        if study.complete:
            assert status in ((0, 130) if sent else (0,)), where
            seen.add("complete")
            continue
        assert status == 130 and study.interrupted, where
        assert "! interrupted" in out, where
        if runs and runs[-1].interrupted:
            assert f"! {runs[-1].method} on CartPole-v1 (seed {runs[-1].seed}) interrupted" in out, where
            assert json.loads((directory / "rl.json").read_text())["runs"][-1]["interrupted"] is True
        seen.add(len([r for r in runs if r.complete]))
    # The moments spread over the study: some stops before the second run, some after it.
    assert len(seen) >= 3, seen


class _CtrlC:
    """An ``on_batch`` / ``progress`` callback that raises KeyboardInterrupt (as Ctrl-C would) at
    its ``n``-th call."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, steps):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt


def test_train_returns_the_batches_finished_before_ctrl_c():
    """rl.train turns Ctrl-C after its second batch into a result marked interrupted that equals,
    bit for bit, a fresh run of two batches (the independent re-run)."""
    from riemannopt import rl

    config = rl.RLConfig(n_envs=2, n_steps=64, hidden=(16,), vf_epochs=2)
    stopped = rl.train("CartPole-v1", "geo", 640, seed=3, config=config, on_batch=_CtrlC(2))
    fresh = rl.train("CartPole-v1", "geo", 256, seed=3, config=config)
    assert stopped.interrupted and not fresh.interrupted and stopped.steps == fresh.steps == 256
    np.testing.assert_array_equal(stopped.episode_returns, fresh.episode_returns)
    np.testing.assert_array_equal(stopped.updates["kl"], fresh.updates["kl"])
    np.testing.assert_array_equal(stopped.params, fresh.params)


def test_run_study_keeps_the_runs_finished_before_ctrl_c():
    """Ctrl-C right after the third batch of a study of two-batch runs (the second run's first):
    the first run is kept complete and equal to a fresh run, the second is kept with its first
    batch and marked interrupted, the study is marked interrupted and the rest never started."""
    from riemannopt import rl

    config = rl.RLConfig(n_envs=2, n_steps=64, hidden=(16,), vf_epochs=2)
    study = rl.run_study(["CartPole-v1"], ["ng", "geo"], 256, [0, 1], config=config, progress=_CtrlC(3))
    runs = study.runs("CartPole-v1", "ng")
    assert study.interrupted and not study.complete and study.runs("CartPole-v1", "geo") == []
    assert [(r.seed, r.complete, r.interrupted, r.steps) for r in runs] == [
        (0, True, False, 256),
        (1, False, True, 128),
    ]
    fresh = rl.train("CartPole-v1", "ng", 256, seed=0, config=config)
    np.testing.assert_array_equal(runs[0].episode_returns, fresh.episode_returns)
    np.testing.assert_array_equal(runs[0].params, fresh.params)
    assert study.status("CartPole-v1", "ng") == "1/2, 1 interrupted"
