"""``riemannopt nn``: a small run writes the figure and the JSON histories; bad usage exits 2 with
one line before any training."""

import json
import sys

import numpy as np
import pytest

from riemannopt.cli import main
from riemannopt.nn import available_backends, datasets
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
    # the paper's defaults: train's, and the preset's weight decay
    settings = data["settings"]
    assert settings["weight_decay"] == 1e-5 and settings["decay_biases"] is True and settings["rho"] == "chunk"
    assert settings["decay_in_curvature"] is False and "method_options" not in settings
    assert "paired with ng: seeds on which" in text and "| geof | " in text.split("paired with ng")[1]


def test_nn_options_reach_the_study(tiny_npz, tmp_path, capsys):
    """--chunks defaults to the preset's; --rho, --no-decay-biases, --decay-in-curvature,
    --weight-decay, --threshold reach every run and --adam-batch only Adam's."""
    hist = tmp_path / "nn.json"
    argv = ["nn", "--data", str(tiny_npz), "--methods", "ng,adam", "--iters", "1", "--out", str(tmp_path / "nn.png")]
    assert main([*argv, "--history", str(hist)]) == 0
    assert "4 curvature chunks" in capsys.readouterr().out
    assert json.loads(hist.read_text())["settings"]["chunks"] == 4  # curves-small's, as CURVES
    extra = ["--rho", "full", "--no-decay-biases", "--decay-in-curvature", "--weight-decay", "2e-5"]
    extra += ["--threshold", "0", "--adam-batch", "8", "--chunks", "3"]
    assert main([*argv, "--history", str(hist), *extra]) == 0
    out = capsys.readouterr().out
    assert "threshold 0, 3 curvature chunks, rho on the full training set, weight decay 2e-05 (weights only, " in out
    assert "Adam minibatches of 8" in out
    s = json.loads(hist.read_text())["settings"]
    assert (s["rho"], s["decay_biases"], s["decay_in_curvature"], s["weight_decay"]) == ("full", False, True, 2e-5)
    assert (s["threshold"], s["chunks"], s["method_options"]) == (0.0, 3, {"adam": {"batch_size": 8}})
    assert "batch_size" not in s


def test_nn_digits_presets_run(tmp_path, capsys):
    """The digits presets train on scikit-learn's bundled images (a few iterations)."""
    pytest.importorskip("sklearn")
    for name in ("digits-ae", "digits-classifier"):
        argv = ["nn", "--dataset", name, "--methods", "ng,mid1,adam", "--iters", "2", "--out", str(tmp_path / "d.png")]
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert f"{name}: 1 seed(s) 0, 2 iterations" in out and "| mid1 |" in out and "8 curvature chunks" in out


def test_nn_digits_without_scikit_learn_is_bad_usage(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setattr(datasets, "_DIGITS", None)
    assert main(["nn", "--dataset", "digits-ae"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "riemannopt[data]"' in err, err
    assert err.startswith("riemannopt nn: error: --dataset digits-ae: the digits data set")


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
    (["nn", "--methods", "ng,lbfgs"], "--methods: unknown method lbfgs"),
    (["nn", "--methods", "ng,ng"], "methods must be distinct"),
    (["nn", "--dataset", "faces"], "invalid choice: 'faces'"),
    (["nn", "--iters", "0"], "--iters: expected a positive integer, got '0'"),
    (["nn", "--seeds", "-2"], "--seeds: expected a positive integer"),
    (["nn", "--threshold", "-1"], "--threshold: expected a number >= 0, got '-1'"),
    (["nn", "--threshold", "nan"], "--threshold: expected a number >= 0, got 'nan'"),
    (["nn", "--damping", "0"], "--damping: expected a positive finite number"),
    (["nn", "--dtype", "float16"], "invalid choice: 'float16'"),
    (["nn", "--chunks", "5000"], "--chunks 5000 exceeds the 2000 training examples of curves-small"),
    (
        ["nn", "--data", "{small}"],
        "the curves-small preset's 4 chunks exceeds the 3 training examples of {small} (set fewer with --chunks)",
    ),
    (["nn", "--rho", "chunks"], "invalid choice: 'chunks'"),
    (["nn", "--adam-batch", "0"], "--adam-batch: expected a positive integer, got '0'"),
    (["nn", "--weight-decay", "-1"], "--weight-decay: expected a number >= 0"),
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
    small = tmp_path / "small.npz"
    np.savez(small, X_train=np.zeros((3, 196)), X_test=np.zeros((2, 196)))
    argv = [a.format(tmp=tmp_path, npz=tiny_npz, small=small) for a in argv]
    message = message.format(small=small)
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


def test_nn_pascanu_bengio_options_and_layout(tiny_npz, tmp_path):
    """--ncg-search reaches ncg-l only, --ng-batch ngd only; --layout pascanu draws the two
    log-axis panels."""
    from matplotlib.image import imread

    hist, png = tmp_path / "nn.json", tmp_path / "nn.png"
    argv = ["nn", "--data", str(tiny_npz), "--methods", "ngd,ncg-l", "--iters", "2", "--out", str(png)]
    argv += ["--ncg-search", "model", "--ng-batch", "10", "--layout", "pascanu", "--history", str(hist)]
    assert main(argv) == 0
    s = json.loads(hist.read_text())["settings"]
    assert s["method_options"] == {"ncg-l": {"ncg_search": "model"}, "ngd": {"ng_batch": 10}}
    height, width = imread(png).shape[:2]
    assert width > 1.8 * height  # two panels side by side
