"""Ctrl-C at random moments of ``riemannopt nn`` (issue 21): what is on disk equals what finished.

Each case runs ``riemannopt nn`` (two seeds, ``ng`` and ``adam``, a tiny auto-encoder on
generated data, so that a run takes a fraction of a second) in a subprocess that records, on its
own, every phase it enters (data generation, a run's set-up, its first evaluation, the
evaluations of its iterations, the report) and every run that ``nn.train`` returned, with its
length.  SIGINT comes either at a seeded random one of those phases (sent by the process to
itself, a real signal: the handler runs wherever Python next checks for signals) or after a
seeded random delay from outside.  Afterwards the history JSON must hold exactly the runs the
process recorded as returned, complete ones equal to an uninterrupted study's and the stopped
one a prefix of its; the JSON must name the stopped run; the exit status must be 130; no
temporary file may be left.

SIGINT inside numba's compilation of a kernel is tested in ``tests/test_compile_interrupt.py``.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ITERS = 4
METHODS = ("ng", "adam")
SEEDS = (0, 1)
ORDER = [(m, s) for s in SEEDS for m in METHODS]
#: Only to catch a hang: a case needs 2-4 s of CPU; a cold cache compiles the network kernels.
TIMEOUT = 300

_CHILD = """
import json, os, signal, sys, time
# A shell may start background jobs with SIGINT ignored, and Python keeps it so: restore it.
signal.signal(signal.SIGINT, signal.default_int_handler)
import riemannopt.nn
from riemannopt.cli import main
from riemannopt.experiments.nn import NNStudy
from riemannopt.nn.datasets import curves
from riemannopt.nn.objective import Objective
from riemannopt.nn.presets import PRESETS, Preset

out, mode, at, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
events, current, first, t0 = [], [None, None], [False], [0.0]
if mode == "term":  # started as `cmd &` from a script or under nohup: only SIGTERM can stop it
    signal.signal(signal.SIGINT, signal.SIG_IGN)

def event(kind):
    events.append(dict(kind=kind, method=current[0], seed=current[1], t=time.perf_counter() - t0[0]))
    if len(events) == at:
        os.kill(os.getpid(), {"event": signal.SIGINT, "term": signal.SIGTERM, "kill": signal.SIGKILL}[mode])

def data(seed):
    current[:] = [None, seed]
    event("data")
    return curves(60, 20, size=4, seed=seed)

PRESETS["tiny"] = Preset("tiny", "tiny", (16, 6, 16), ("sigmoid", "sigmoid"), "bce", 5.0, data, 60)
real_train, real_init, real_evaluate, real_table = riemannopt.nn.train, Objective.__init__, Objective.evaluate, NNStudy.table

def train(net, X, T, method, iters, *, seed, **options):
    current[:] = [method, seed]
    first[0] = True
    res = real_train(net, X, T, method, iters, seed=seed, **options)
    events.append(dict(kind="returned", method=method, seed=seed, n=len(res.history["iteration"]), interrupted=res.interrupted))
    return res

def init(self, *args, **kwargs):
    event("set-up")
    real_init(self, *args, **kwargs)

def evaluate(self, theta):
    event("first evaluation" if first[0] else "iteration")
    first[0] = False
    return real_evaluate(self, theta)

def table(self, *args, **kwargs):
    current[:] = [None, None]
    event("report")
    return real_table(self, *args, **kwargs)

riemannopt.nn.train, Objective.__init__, Objective.evaluate, NNStudy.table = train, init, evaluate, table
argv = ["nn", "--dataset", "tiny", "--methods", "ng,adam", "--iters", "ITERS", "--seeds", "2", "--chunks", "2",
        "--out", os.path.join(out, "nn.png"), "--history", os.path.join(out, "nn.json")] + extra
try:
    print("ready", flush=True)
    t0[0] = time.perf_counter()
    status = main(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a SIGINT from outside that comes too late
    print("main returned", status, flush=True)
finally:
    with open(os.path.join(out, "events.json"), "w") as f:
        json.dump(events, f)
sys.exit(status)
""".replace("ITERS", str(ITERS))


def child(out, mode="none", at=0, delay=None, extra=()):
    """Run the study in a subprocess (SIGINT at event ``at``, or ``delay`` seconds after it is
    ready; ``mode="term"``: SIGTERM at event ``at`` with SIGINT ignored; ``mode="kill"``:
    SIGKILL at event ``at``, then there is no record); returns (what ``main`` returned or the
    exit status, the recorded events)."""
    out.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(out), mode, str(at), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if delay is not None:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"riemannopt nn did not finish within {TIMEOUT} s after SIGINT (a hang?)")
    if mode == "kill":
        assert proc.returncode == -signal.SIGKILL, stderr[-3000:]
        return proc.returncode, None
    returned = [line.split()[-1] for line in stdout.splitlines() if line.startswith("main returned")]
    assert returned or proc.returncode in (130, -signal.SIGINT), stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return int(returned[0]) if returned else proc.returncode, json.loads((out / "events.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study: its histories by (method, seed) and its recorded events."""
    out = tmp_path_factory.mktemp("signals") / "reference"
    status, events = child(out)
    assert status == 0
    data = json.loads((out / "nn.json").read_text())
    return {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}, events


def check_kept(out, status, events, reference, late=False):
    """What is on disk equals what finished; returns the JSON's ``stopped`` entry.  ``late``: the
    SIGINT may have come after the command was done (status 0, everything finished)."""
    assert status == 130 or (late and status == 0)
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
    returned = {(e["method"], e["seed"]): e for e in events if e["kind"] == "returned"}
    if not (out / "nn.json").exists():  # Ctrl-C before the study started: nothing ran
        assert not events
        return None
    data = json.loads((out / "nn.json").read_text())
    assert (out / "nn.png").stat().st_size > 5000
    runs = {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}
    assert set(runs) == set(returned)
    # Runs are done in ORDER: those returned are a prefix of it.
    assert sorted(runs, key=ORDER.index) == ORDER[: len(runs)]
    for key, h in runs.items():
        n = returned[key]["n"]
        assert len(h["iteration"]) == n
        assert n == ITERS + 1 or returned[key]["interrupted"]
        np.testing.assert_allclose(h["train_loss"], reference[key]["train_loss"][:n], rtol=1e-5)
        np.testing.assert_array_equal(h["iteration"], np.arange(n))
    stopped = data["stopped"]
    interrupted = [k for k, e in returned.items() if e["interrupted"]]
    if interrupted:  # stopped inside an iteration: nn.train returned its partial result
        assert data["interrupted"] and stopped == {"method": interrupted[0][0], "seed": interrupted[0][1]}
    elif stopped is not None:  # stopped in a phase nn.train had not returned from
        assert data["interrupted"]
        key = (stopped["method"], stopped["seed"])
        assert key not in runs
        assert len(runs) == (ORDER.index(key) if key[0] else ORDER.index((METHODS[0], key[1])))
    else:  # between runs, or in the report after the study finished
        assert len(runs) == len(ORDER) or data["interrupted"]
    if status == 0:
        assert len(runs) == len(ORDER) and not data["interrupted"]
    return stopped


def _cases(events):
    """Seeded picks: two events of each phase, a third iteration, the report, and four delays
    spread over the study (up to its report).  An event is numbered by its place in the child's
    record, which is how the child counts to it."""
    rng = random.Random(20261206)
    cases = []
    for kind, k in (("data", 2), ("set-up", 2), ("first evaluation", 2), ("iteration", 3), ("report", 1)):
        numbered = [(i + 1, e) for i, e in enumerate(events) if e["kind"] == kind]
        cases += [("event", i, e) for i, e in rng.sample(numbered, k)]
    end = next(e["t"] for e in events if e["kind"] == "report")
    cases += [("delay", round(rng.uniform(0.0, end), 3), None) for _ in range(4)]
    return cases


def test_sigint_at_random_moments_keeps_exactly_what_finished(reference, tmp_path):
    """14 interruptions (10 at seeded random phases, 4 at seeded random times): every one exits
    130 with the finished runs on disk, equal to the uninterrupted study's, and the stopped run
    named; each phase-targeted one stops the run that phase belonged to."""
    histories, events = reference
    cases = _cases(events)
    assert {e["kind"] for _, _, e in cases if e} == {"data", "set-up", "first evaluation", "iteration", "report"}
    for n, (mode, arg, event) in enumerate(cases):
        out = tmp_path / f"case{n}"
        if mode == "event":
            status, seen = child(out, "event", arg)
        else:
            status, seen = child(out, delay=arg)
        stopped = check_kept(out, status, seen, histories, late=mode == "delay")
        if event is None:
            continue
        where = f"case {n}: SIGINT at event {arg} ({event})"
        if event["kind"] == "report":
            assert stopped is None, where
            assert not json.loads((out / "nn.json").read_text())["interrupted"], where
        else:
            assert stopped == {"method": event["method"], "seed": event["seed"]}, where


def test_sigterm_with_sigint_ignored_keeps_what_finished(reference, tmp_path):
    """A study started in the background (SIGINT ignored, as ``cmd &`` from a script or
    ``nohup`` starts it) and stopped with SIGTERM, at a seeded random iteration and at a seeded
    random set-up: the same as Ctrl-C (exit 130, finished runs on disk equal to the
    uninterrupted study's, the stopped run named)."""
    histories, events = reference
    rng = random.Random(143)
    for kind in ("iteration", "set-up"):
        at, event = rng.choice([(i + 1, e) for i, e in enumerate(events) if e["kind"] == kind])
        out = tmp_path / kind
        status, seen = child(out, "term", at)
        stopped = check_kept(out, status, seen, histories)
        assert stopped == {"method": event["method"], "seed": event["seed"]}, f"SIGTERM at event {at} ({event})"


def test_killed_outright_keeps_every_finished_run_and_resumes(reference, tmp_path):
    """SIGKILL (no handler runs) at the set-up of the third run: ``--history`` already holds the
    two runs that finished before it, written after each run, equal to the uninterrupted study's;
    ``--resume`` trains only the missing runs and ends with the uninterrupted study's histories."""
    histories, events = reference
    setups = [i + 1 for i, e in enumerate(events) if e["kind"] == "set-up"]
    out = tmp_path / "killed"
    child(out, "kill", setups[2])
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
    data = json.loads((out / "nn.json").read_text())
    runs = {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}
    assert sorted(runs, key=ORDER.index) == ORDER[:2]
    for key, h in runs.items():
        np.testing.assert_allclose(h["train_loss"], histories[key]["train_loss"], rtol=1e-5)
    status, seen = child(out, extra=("--resume", str(out / "nn.json")))
    assert status == 0
    assert [(e["method"], e["seed"]) for e in seen if e["kind"] == "returned"] == ORDER[2:]
    data = json.loads((out / "nn.json").read_text())
    runs = {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}
    assert set(runs) == set(ORDER)
    for key, h in runs.items():
        np.testing.assert_allclose(h["train_loss"], histories[key]["train_loss"], rtol=1e-5)
