"""Bad inputs and stops of the ``nn`` study and the command line (issue 21): each case gives its
exit status or ``riemannopt.errors`` exception, a message naming the argument or file, and, where
work had started, keeps what was computed.

Usage rows (:data:`USAGE`) run ``riemannopt`` in-process and must exit 2 with one line naming the
argument or file before any training.  Study rows (:data:`STUDY`) call :func:`nn_study` with bad
arguments and must raise before the first run.  Kept-work rows (:data:`KEPT`) stop or fail a real
tiny ``riemannopt nn`` study midway and check the files it wrote against an uninterrupted run of
the same study (independent: computed in a separate call, written by a separate process step).
"""

import json
import os
from dataclasses import dataclass, replace
from importlib.metadata import version

import numpy as np
import pytest

import riemannopt
import riemannopt.nn
from riemannopt import errors as E
from riemannopt.cli import main
from riemannopt.experiments import NNStudy, nn_study
from riemannopt.nn.backends.numpy_backend import NumpyBackend
from riemannopt.nn.datasets import curves
from riemannopt.nn.presets import PRESETS, Preset

#: A preset small enough for a run to take a fraction of a second, with generated data so that
#: data generation is a phase of the study.
TINY = Preset(
    "tiny",
    "tiny auto-encoder (tests)",
    (16, 5, 16),
    ("sigmoid", "sigmoid"),
    "bce",
    5.0,
    lambda seed: curves(40, 12, size=4, seed=seed),
    40,
)
ITERS = 3
METHODS = ("ng", "adam")
SEEDS = (0, 1)
ORDER = [(m, s) for s in SEEDS for m in METHODS]


def run_nn(tmp_path, *extra):
    """``riemannopt nn`` on the tiny preset, writing nn.png and nn.json in ``tmp_path``; returns
    the exit status."""
    argv = ["nn", "--dataset", "tiny", "--methods", ",".join(METHODS), "--iters", str(ITERS), "--seeds", "2"]
    argv += ["--chunks", "2", "--out", str(tmp_path / "nn.png"), "--history", str(tmp_path / "nn.json"), *extra]
    return main(argv)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted study's histories, by (method, seed)."""
    where = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(PRESETS, "tiny", TINY)
        assert run_nn(where) == 0
    data = json.loads((where / "nn.json").read_text())
    return {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}


# -- usage: exit 2, one line, before any training -------------------------------------------------
def _write(path, text):
    path.write_text(text)
    return path


FILES = {
    "rl.json": lambda d: _write(d / "rl.json", json.dumps({"env_ids": ["CartPole-v1"], "methods": ["ng"], "runs": []})),
    "list.json": lambda d: _write(d / "list.json", "[1, 2, 3]"),
    "garbage.json": lambda d: _write(d / "garbage.json", "{not json"),
    "noruns.json": lambda d: _write(d / "noruns.json", json.dumps({"preset": "tiny", "methods": ["ng"]})),
    "badrun.json": lambda d: _write(
        d / "badrun.json",
        json.dumps({"preset": "tiny", "methods": ["ng"], "seeds": [0], "iters": 2, "runs": {"ng": [1, 2]}}),
    ),
    "saved.json": lambda d: _write(
        d / "saved.json",
        json.dumps(NNStudy("tiny", ("ng",), (0,), 2, {("ng", 0): {"iteration": np.arange(3)}}).to_json()),
    ),
    "dir": lambda d: (d / "dir").mkdir() or d / "dir",
}

USAGE = [
    (["--from-history", "{rl.json}"], r"--from-history: .*rl\.json: .*riemannopt rl\), not of riemannopt nn"),
    (["--from-history", "{list.json}"], r"--from-history: .*list\.json: .*JSON object .*not a JSON list"),
    (["--from-history", "{garbage.json}"], r"--from-history: .*garbage\.json is not a JSON file"),
    (["--from-history", "{noruns.json}"], r"--from-history: .*noruns\.json: .*no 'seeds', 'iters', 'runs'"),
    (["--from-history", "{badrun.json}"], r"--from-history: .*badrun\.json: a malformed training study"),
    (["--from-history", "{dir}"], r"--from-history: cannot read .*dir: Is a directory"),
    (["--from-history", "{saved.json}", "--table-iters", "5"], r"--table-iters: iteration 5 is beyond .*saved\.json"),
    (["--resume", "{rl.json}"], r"--resume: .*rl\.json: .*riemannopt rl\), not of riemannopt nn"),
    (["--resume", "{dir}"], r"--resume: cannot read .*dir: Is a directory"),
    (["--resume", "{saved.json}"], r"--resume .*saved\.json: cannot resume: the saved study has preset 'tiny', this"),
    (["--out", "{dir}"], r"argument --out: file = '.*dir' is a directory"),
    (["--history", "{dir}"], r"argument --history: file = '.*dir' is a directory"),
    (["--history", "{tmp}/missing/h.json"], r"argument --history: .*its directory '.*missing' does not exist"),
    (["--seed", "-1"], r"argument --seed: expected an integer >= 0, got '-1'"),
    (["--seed", "1.5"], r"argument --seed: expected an integer >= 0, got '1.5'"),
    (["--iters", "1e3"], r"argument --iters: expected a positive integer, got '1e3'"),
    (["--damping", "inf"], r"argument --damping: expected a positive finite number, got 'inf'"),
    (["--weight-decay", "nan"], r"argument --weight-decay: expected a number >= 0, got 'nan'"),
    (["--table-iters", "2,x"], r"argument --table-iters: expected comma-separated positive integers, got '2,x'"),
]


@pytest.mark.parametrize("extra, pattern", USAGE, ids=[" ".join(e) for e, _ in USAGE])
def test_nn_usage_exits_2_naming_the_argument(extra, pattern, tmp_path, monkeypatch, capsys):
    """Exit status 2 and one line on stderr naming the option and, for a file, the file and what
    is wrong with it; the network's forward pass is never reached."""
    import re

    monkeypatch.setattr(NumpyBackend, "forward", lambda *a: pytest.fail("training started"))
    argv = ["nn"]
    for a in extra:
        key = a.strip("{}")
        argv.append(str(FILES[key](tmp_path)) if key in FILES else a.replace("{tmp}", str(tmp_path)))
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and re.search(pattern, err), err


COMMANDS = [
    (["gamma", "--seed", "-1"], 2, r"argument --seed: expected an integer >= 0, got '-1'"),
    (["orders", "--out", "{tmp}/missing/o.png"], 2, r"argument --out: .*its directory '.*missing' does not exist"),
    (["invariance", "--out", "{tmp}"], 2, r"argument --out: file = '.*' is a directory"),
]


@pytest.mark.parametrize("argv, status, pattern", COMMANDS, ids=[" ".join(a) for a, _, _ in COMMANDS])
def test_other_commands_check_before_work(argv, status, pattern, tmp_path, capsys):
    """gamma, orders and invariance check their options and destinations before computing:
    exit status 2 and one line naming the option."""
    import re

    try:
        got = main([a.format(tmp=tmp_path) for a in argv])
    except SystemExit as exc:
        got = exc.code
    err = capsys.readouterr().err
    assert got == status and err.count("\n") == 1 and re.search(pattern, err), err


def test_version_is_the_installed_package_version(capsys):
    """``riemannopt --version`` prints the version the package metadata records (read through
    importlib.metadata, independently of ``riemannopt.__version__``) and exits 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert (
        capsys.readouterr().out.strip()
        == f"riemannopt {version('riemannopt')}"
        == f"riemannopt {riemannopt.__version__}"
    )


# -- nn_study: bad arguments raise before the first run ---------------------------------------------
STUDY = [
    (dict(methods=["ng", "lbfgs"]), E.MethodError, r"unknown training method 'lbfgs' in methods"),
    (dict(iters=-1), E.InputError, r"iters must be an integer >= 0, got -1"),
    (dict(iters=2.5), E.InputError, r"iters must be an integer >= 0, got 2.5"),
    (dict(seeds=(0, -1)), E.InputError, r"seeds\[1\] must be an integer >= 0, got -1"),
    (dict(seeds=(0, "a")), E.InputError, r"seeds\[1\] must be an integer >= 0, got 'a'"),
]


@pytest.mark.parametrize("change, error, pattern", STUDY, ids=[str(c) for c, _, _ in STUDY])
def test_nn_study_checks_arguments_before_any_run(change, error, pattern, monkeypatch):
    """A bad method, iteration count or seed anywhere in the list is the named exception before
    the first run (so it can never end a study whose first runs have finished)."""
    monkeypatch.setattr(riemannopt.nn, "train", lambda *a, **k: pytest.fail("a run started"))
    args = dict(methods=["ng"], iters=2, seeds=(0,)) | change
    with pytest.raises(error, match=pattern):
        nn_study(TINY, args["methods"], args["iters"], args["seeds"])


def test_from_json_names_what_an_rl_history_is():
    """An ``rl`` history (it has ``env_ids`` and no ``preset``) is named as such, not a KeyError."""
    with pytest.raises(E.InputError, match=r"reinforcement-learning study \(riemannopt rl\)"):
        NNStudy.from_json({"env_ids": ["CartPole-v1"], "runs": []})


# -- kept work: a study stopped or failed midway --------------------------------------------------
@dataclass
class Stop:
    """Make run ``run`` (an entry of :data:`ORDER`, or ``(None, seed)`` for seed's data) stop with
    ``error`` at ``where`` ("data", "start": its set-up, "iteration": after its iteration 2)."""

    id: str
    run: tuple
    where: str
    error: type
    status: int


KEPT = [
    Stop("Ctrl-C generating seed 1's data", (None, 1), "data", KeyboardInterrupt, 130),
    Stop("Ctrl-C in adam seed 0's set-up", ("adam", 0), "start", KeyboardInterrupt, 130),
    Stop("Ctrl-C in ng seed 1's iterations", ("ng", 1), "iteration", KeyboardInterrupt, 130),
    Stop("ng seed 1 diverges", ("ng", 1), "iteration", E.TrainingError, 1),
]


def _install(stop, monkeypatch):
    real_train, real_data = riemannopt.nn.train, TINY.data

    def data(seed):
        if stop.where == "data" and seed == stop.run[1]:
            raise KeyboardInterrupt
        return real_data(seed)

    def train(net, X, T, method, iters, *, seed, **options):
        if (method, seed) != stop.run:
            return real_train(net, X, T, method, iters, seed=seed, **options)
        if stop.where == "start":
            raise KeyboardInterrupt
        if stop.error is KeyboardInterrupt:  # as nn.train reports a Ctrl-C inside an iteration
            return replace(real_train(net, X, T, method, 2, seed=seed, **options), interrupted=True)
        res = real_train(net, X, T, method, 2, seed=seed, **options)
        raise E.TrainingError(f"{method}: the objective became nan at iteration 3", iteration=3, result=res)

    monkeypatch.setattr(riemannopt.nn, "train", train)
    monkeypatch.setitem(PRESETS, "tiny", replace(TINY, data=data))


@pytest.mark.parametrize("stop", KEPT, ids=[k.id for k in KEPT])
def test_a_stopped_study_keeps_and_marks_what_finished(stop, reference, tmp_path, monkeypatch, capsys):
    """The history JSON holds exactly the runs before the stopped one, each equal to the
    uninterrupted study's; the stopped run's partial history (if it had one) is the first
    entries of its uninterrupted history; the JSON and the table name the stopped run; the
    figure is written, no temporary file is left, and the exit status says what happened."""
    _install(stop, monkeypatch)
    status = run_nn(tmp_path)
    out = capsys.readouterr().out
    assert status == stop.status
    assert (tmp_path / "nn.png").stat().st_size > 5000 and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    data = json.loads((tmp_path / "nn.json").read_text())
    runs = {(m, int(s)): h for m, per in data["runs"].items() for s, h in per.items()}
    k = ORDER.index(stop.run) if stop.run in ORDER else ORDER.index((METHODS[0], stop.run[1]))
    partial = stop.where == "iteration"
    expected = ORDER[: k + 1] if partial else ORDER[:k]
    if stop.error is E.TrainingError:  # a failure ends its run, not the study
        expected = ORDER
    assert sorted(runs) == sorted(expected)
    for key, h in runs.items():
        n = 3 if key == stop.run and partial else ITERS + 1
        assert len(h["train_loss"]) == n
        np.testing.assert_allclose(h["train_loss"], reference[key]["train_loss"][:n], rtol=1e-6)
    if stop.error is KeyboardInterrupt:
        assert data["interrupted"] is True
        assert data["stopped"] == {"method": stop.run[0], "seed": stop.run[1]}
        assert "! interrupted (Ctrl-C or SIGTERM)" in out
    else:
        assert data["interrupted"] is False and data["failures"] == {
            "ng/1": "ng: the objective became nan at iteration 3"
        }
        assert "! ng (seed 1) failed" in out


def test_table_marks_values_from_a_run_that_stopped_early():
    """A run stopped at iteration 10 of 40 contributes its iteration-10 value under @20 and @40,
    marked ‡ with a footnote; the complete run's cells are unmarked (values from the histories,
    written out by hand)."""
    n = np.arange(41)

    def hist(last):
        k = n[: last + 1]
        return dict(iteration=k, train_error=100.0 - k, seconds=0.1 * k, cpu_seconds=0.1 * k)

    study = NNStudy("toy", ("ng", "geo"), (0,), 40, {("ng", 0): hist(10), ("geo", 0): hist(40)})
    study.interrupted, study.stopped = True, ("ng", 0)
    text = study.table(iterations=[10, 20, 40], times=[1.0])
    assert "| ng | 90 | 90‡ | 90‡ | 90 |" in text
    assert "| geo | 90 | 80 | 60 | 90 |" in text
    assert "‡ a run had stopped (failed or interrupted) before that point: its last value" in text
    assert "! interrupted (Ctrl-C or SIGTERM) in ng (seed 0) after iteration 10 of 40" in text
