"""``riemannopt rl``: a tiny seeded study end to end, and argument checking before any work."""

import json
import sys

import numpy as np
import pytest

pytest.importorskip("gymnasium", reason="needs the rl extra: pip install '.[rl]'")

from riemannopt.cli import main  # noqa: E402
from riemannopt.rl.study import Study  # noqa: E402
from riemannopt.rl.training import RLConfig  # noqa: E402


def test_rl_command_writes_table_figure_and_history(tmp_path, capsys):
    out, hist = tmp_path / "rl.png", tmp_path / "rl.json"
    argv = [
        "rl",
        "--env",
        "CartPole-v1",
        "--methods",
        "ng,geo",
        "--timesteps",
        "1024",
        "--seeds",
        "2",
        "--envs",
        "2",
        "--steps-per-env",
        "128",
        "--at",
        "512,1024",
        "--out",
        str(out),
        "--history",
        str(hist),
        "--no-progress",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "return @ 0.512k" in text and "return @ 1.024k" in text and "vs ng" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    study = Study.load(hist)
    assert study.methods == ["ng", "geo"] and study.seeds == [0, 1]
    runs = study.results["CartPole-v1", "geo"]
    assert len(runs) == 2 and all(len(r.updates["kl"]) == 4 for r in runs)
    # The history holds every episode: the table's numbers can be recomputed from it.
    data = json.loads(hist.read_text())
    ng0 = next(r for r in data["runs"] if r["method"] == "ng" and r["seed"] == 0)
    steps, returns = np.array(ng0["episode_steps"]), np.array(ng0["episode_returns"])
    done = returns[steps <= 1024][-10:]
    assert study.results["CartPole-v1", "ng"][0].returns_at(1024)[0] == pytest.approx(done.mean())
    # --from-history redraws and reprints the same study without training.
    again = tmp_path / "again.png"
    assert main(["rl", "--from-history", str(hist), "--at", "512,1024", "--out", str(again)]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == text.split("\n")[1:4]  # header, ng, geo
    assert again.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD_USAGE = [
    (["rl", "--env", "NoSuchEnv-v0"], "--env: unknown gymnasium environment 'NoSuchEnv-v0'"),
    (["rl", "--env", "Pendulum-v1,Pendulum-v1"], "environments must be distinct"),
    (["rl", "--methods", "ng,geof"], "--methods: unknown method geof"),
    (["rl", "--curvature", "diagonal"], "--curvature: invalid choice: 'diagonal'"),
    (["rl", "--timesteps", "0"], "--timesteps: expected a positive integer"),
    (["rl", "--seeds", "-2"], "--seeds: expected a positive integer"),
    (["rl", "--lr", "0"], "--lr: expected a positive finite number"),
    (["rl", "--max-kl", "inf"], "--max-kl: expected a positive finite number"),
    (["rl", "--timesteps", "1000", "--at", "500,2000"], "--at: 2000 is beyond --timesteps 1000"),
    (["rl", "--out", "{tmp}/missing/rl.png"], "does not exist"),
    (["rl", "--history", "{tmp}"], "is a directory"),
    (["rl", "--from-history", "{tmp}/none.json"], "--from-history: no such file"),
    (["rl", "--from-history", "{tmp}/bad.json"], "is not a saved study"),
    (["rl", "--resume", "{tmp}/none.json"], "--resume: no such file"),
    (["rl", "--resume", "{tmp}/bad.json"], "--resume: '"),
    (
        ["rl", "--resume", "{tmp}/saved.json", "--timesteps", "4096"],
        "cannot resume: the saved study has timesteps 2048",
    ),
]


@pytest.mark.parametrize("argv, message", BAD_USAGE, ids=[" ".join(a[1:]) for a, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_one_line(argv, message, tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"env_ids": ["CartPole-v1"]}')
    Study(["Pendulum-v1"], ["ng", "mid", "geo"], [0, 1, 2], 2048, RLConfig()).save(tmp_path / "saved.json")
    argv = [a.format(tmp=tmp_path) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and message in err, err


def test_missing_gymnasium_is_bad_usage_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    assert main(["rl"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "riemannopt[rl]"' in err, err


def test_the_command_offers_the_packages_methods_and_curvatures():
    """The command lists the methods and curvatures without importing riemannopt.rl: its lists are
    the package's, and the curvature is named as riemannopt.nn names it ("fisher")."""
    from riemannopt import rl
    from riemannopt.cli import rl as cli_rl

    assert cli_rl._METHODS == rl.METHODS and cli_rl._CURVATURES == rl.CURVATURES
    assert "fisher" in rl.CURVATURES and "exact" not in rl.CURVATURES
