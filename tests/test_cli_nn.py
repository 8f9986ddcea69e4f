"""``riemannopt nn``: a small run writes the figure and the JSON histories; bad usage exits 2 with
one line before any training."""

import json

import numpy as np
import pytest

from riemannopt.cli import main
from riemannopt.nn import available_backends
from riemannopt.nn.backends.numpy_backend import NumpyBackend
from riemannopt.nn.datasets import curves


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    """24 CURVES-like 14×14 images for the curves-small network (so a run takes a second)."""
    d = curves(24, 8, size=14, seed=0)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, X_train=d.X_train, X_test=d.X_test)
    return path


def test_nn_command_writes_figure_and_histories(tiny_npz, tmp_path, capsys):
    out, hist = tmp_path / "nn.png", tmp_path / "nn.json"
    argv = [
        "nn",
        "--dataset",
        "curves-small",
        "--data",
        str(tiny_npz),
        "--methods",
        "ng,geof",
        "--iters",
        "2",
        "--seeds",
        "2",
        "--chunks",
        "2",
        "--table-iters",
        "1,2",
        "--out",
        str(out),
        "--history",
        str(hist),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| ng |" in text and "| geof |" in text and "| train @1 | train @2 | test @2 |" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(hist.read_text())
    assert data["preset"] == "curves-small on tiny" and data["seeds"] == [0, 1]
    assert set(data["runs"]) == {"ng", "geof"} and set(data["runs"]["ng"]) == {"0", "1"}
    run = data["runs"]["geof"]["1"]
    assert run["iteration"] == [0, 1, 2] and len(run["train_error"]) == 3 and run["damping"][0] == 45.0
    assert data["settings"]["threshold"] == 5.0 and data["settings"]["dtype"] == "float32"


def test_from_history_redraws_the_same_tables_without_training(tiny_npz, tmp_path, capsys):
    """A study saved with --history and redrawn with --from-history prints the same tables (the
    numbers come from the saved histories) and writes the figure."""
    hist, again = tmp_path / "nn.json", tmp_path / "again.png"
    argv = [
        "nn",
        "--dataset",
        "curves-small",
        "--data",
        str(tiny_npz),
        "--methods",
        "ng,geo",
        "--iters",
        "2",
        "--chunks",
        "2",
        "--out",
        str(tmp_path / "nn.png"),
        "--history",
        str(hist),
    ]
    assert main(argv) == 0
    trained = capsys.readouterr().out.splitlines()
    assert main(["nn", "--from-history", str(hist), "--out", str(again)]) == 0
    redrawn = capsys.readouterr().out.splitlines()
    tables = [ln for ln in trained if ln.startswith("|")]
    assert tables and tables == [ln for ln in redrawn if ln.startswith("|")]
    assert again.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD_USAGE = [
    (["nn", "--from-history", "{tmp}/missing.json"], "--from-history: cannot read"),
    (["nn", "--methods", "ng,sgd"], "--methods: unknown method sgd"),
    (["nn", "--methods", "ng,ng"], "methods must be distinct"),
    (["nn", "--dataset", "faces"], "invalid choice: 'faces'"),
    (["nn", "--iters", "0"], "--iters: expected a positive integer, got '0'"),
    (["nn", "--seeds", "-2"], "--seeds: expected a positive integer"),
    (["nn", "--threshold", "-1"], "--threshold: expected a number >= 0, got '-1'"),
    (["nn", "--threshold", "nan"], "--threshold: expected a number >= 0, got 'nan'"),
    (["nn", "--damping", "0"], "--damping: expected a positive finite number"),
    (["nn", "--dtype", "float16"], "invalid choice: 'float16'"),
    (["nn", "--chunks", "5000"], "--chunks 5000 exceeds the 2000 training examples of curves-small"),
    (["nn", "--dataset", "mnist-classifier"], "has no generated data: pass your arrays with --data"),
    (["nn", "--data", "{tmp}/missing.npz"], "--data: data file"),
    (["nn", "--dataset", "spirals", "--data", "{npz}"], "has 196 inputs, the spirals network takes 20"),
    (["nn", "--out", "{tmp}/missing/nn.png"], "does not exist"),
    (["nn", "--history", "{tmp}/missing/nn.json"], "does not exist"),
    (["nn", "--out", "nn.nosuchformat"], "cannot write a figure as '.nosuchformat'"),
    (["nn", "--table-iters", "10,0"], "--table-iters: expected comma-separated positive integers, got '10,0'"),
    (["nn", "--table-iters", "10,50", "--iters", "40"], "--table-iters: iteration 50 is beyond --iters 40"),
]


@pytest.mark.parametrize("argv, message", BAD_USAGE, ids=[" ".join(a) for a, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_one_line(argv, message, tiny_npz, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(NumpyBackend, "forward", lambda *a: pytest.fail("training started"))
    argv = [a.format(tmp=tmp_path, npz=tiny_npz) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.skipif("cuda" in available_backends(), reason="a CUDA backend can run here")
def test_unavailable_backend_is_bad_usage(capsys):
    """--backend cuda is accepted by the parser and checked through get_backend before any work."""
    assert main(["nn", "--backend", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riemannopt nn: error: --backend cuda:") and err.count("\n") == 1
