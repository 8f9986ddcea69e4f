"""Bad inputs of riemannopt.nn (issue 21, items 3, 6 and 9): ``nn.train``'s arguments, its
checkpoints (written, read and resumed) and the data sets.  Each is a riemannopt error naming the
argument or the file, raised before any work starts, and leaves what was there before untouched.

Each row is ``Row(id, call, error, match, check)``: ``call(ctx)`` must raise ``error`` (a
:class:`~riemannopt.errors.RiemannOptError`) with a message matching ``match``.  While a row
runs, evaluating the training objective fails the test (``work started``): every refusal comes
before the first evaluation.  Rows about a checkpoint also assert that the message names the
file, and that the file (a real checkpoint of a 3-iteration run, rewritten with one fault) is
byte for byte what it was.  Faulty checkpoints are built from the real one by changing one entry;
the independent reference for what a valid one holds is the run that wrote it.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from riemannopt import errors as E
from riemannopt.nn import MLP, Layout, train
from riemannopt.nn.adam import Adam
from riemannopt.nn.cg import solve_damped
from riemannopt.nn.datasets import curves, load_npz, spirals
from riemannopt.nn.objective import Objective

N_PARAMS = 36 * 8 + 8 + 8 * 3 + 3 + 3 * 8 + 8 + 8 * 36 + 36


def autoencoder(dtype=np.float32, loss="bce", out="sigmoid"):
    return MLP([36, 8, 3, 8, 36], ["sigmoid", "linear", "sigmoid", out], loss, dtype=dtype)


@dataclass
class Ctx:
    """What the rows use: the training data, a directory, the checkpoint of a 3-iteration ng run
    (``base``, as arrays) and, after a row ran, the file it used (``file``)."""

    X: np.ndarray
    dir: Path
    base: dict
    file: Path = None

    def run(self, iters=2, net=None, method="ng", **kwargs):
        return train(autoencoder() if net is None else net, self.X, self.X, method, iters, **kwargs)

    def checkpoint(self, change=None, drop=(), name="c.npz"):
        """A copy of the base checkpoint with ``change`` applied to its arrays and ``drop``
        removed, written to ``name``; remembered as the row's file."""
        arrays = {k: v for k, v in self.base.items() if k not in drop}
        if change:
            change(arrays)
        self.file = self.dir / name
        with open(self.file, "wb") as f:
            np.savez(f, **arrays)
        self.written = self.file.read_bytes()
        return self.file

    def resume(self, iters=3, **kwargs):
        return self.run(iters, resume=self.file, checkpoint=self.file, **kwargs)

    def raw(self, content, name="c.npz"):
        self.file = self.dir / name
        self.file.write_bytes(content)
        return self.file


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    X = curves(20, 1, size=6, seed=3).X_train
    path = tmp_path_factory.mktemp("base") / "c.npz"
    train(autoencoder(), X, X, "ng", 3, checkpoint=path)
    with np.load(path) as f:
        return X, {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def adam_base(tmp_path_factory):
    X = curves(20, 1, size=6, seed=3).X_train
    path = tmp_path_factory.mktemp("adam") / "c.npz"
    train(autoencoder(), X, X, "adam", 2, checkpoint=path, batch_size=5)
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@dataclass(frozen=True)
class Row:
    id: str
    call: object
    error: type
    match: str
    check: object = None


def setting(key, value):
    def change(a):
        a[key] = np.asarray(value)

    return change


def config(**changes):
    import json

    def change(a):
        c = json.loads(str(a["config"]))
        c.update(changes)
        for k in [k for k, v in changes.items() if v is None]:
            del c[k]
        a["config"] = np.array(json.dumps(c))

    return change


def file_unchanged(ctx, exc):
    """The message names the checkpoint, which is still byte for byte the file the row wrote
    (nothing overwrote or removed it), with no temporary file beside it."""
    assert str(ctx.file) in str(exc)
    assert ctx.file.read_bytes() == ctx.written
    assert not list(ctx.dir.glob(".*.tmp"))


def names_file(ctx, exc):
    assert str(ctx.file) in str(exc)
    assert not list(ctx.dir.glob(".*.tmp"))


def nothing_written(ctx, exc):
    """The refused destination got no file and no temporary file."""
    assert not list(ctx.dir.glob("*.npz")) and not list(ctx.dir.glob(".*.tmp"))


def directory_left_alone(ctx, exc):
    """The directory given as the checkpoint is still an empty directory, and its parent has no
    ``.D.tmp`` (the issue's report)."""
    assert ctx.file.is_dir() and not list(ctx.file.iterdir())
    assert not list(ctx.dir.glob(".*.tmp"))


def _readonly(ctx):
    if os.geteuid() == 0:  # permission bits do not stop root: a place no one can create files in
        ctx.file = Path("/proc/riemannopt-checkpoint.npz")
    else:
        locked = ctx.dir / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        ctx.file = locked / "c.npz"
    return ctx.run(checkpoint=ctx.file)


def _directory(ctx):
    ctx.file = ctx.dir / "D"
    ctx.file.mkdir()
    return ctx.run(checkpoint=ctx.file)


def _npy(ctx, name="data.npy"):
    ctx.file = ctx.dir / name
    np.save(ctx.file, np.zeros((3, 36)))
    return ctx.file


def _adam_resume(change):
    def call(ctx):
        ctx.base = ctx.adam
        ctx.checkpoint(change)
        return ctx.run(3, method="adam", batch_size=5, resume=ctx.file)

    return call


TRAIN = [
    Row("train/net a string", lambda c: train("mlp", c.X, c.X, "ng", 2), E.InputError, r"net must be .*MLP.*'mlp'"),
    Row("train/net None", lambda c: train(None, c.X, c.X, "ng", 2), E.InputError, r"net must be .*MLP.*None"),
    Row("train/dtype float99", lambda c: c.run(dtype="float99"), E.MethodError, r"dtype must be .*'float99'"),
    Row("train/dtype int", lambda c: c.run(dtype=np.int64), E.MethodError, r"dtype must be float32 or float64"),
    Row("train/method a list", lambda c: c.run(method=["ng"]), E.MethodError, r"unknown training method \['ng'\]"),
    Row(
        "train/cg eps NaN",
        lambda c: c.run(cg_options=dict(eps=float("nan"))),
        E.InputError,
        r"cg_options\['eps'\] must be a finite number >= 0, got nan",
    ),
    Row(
        "train/cg tol a string",
        lambda c: c.run(cg_options=dict(tol="small")),
        E.InputError,
        r"cg_options\['tol'\] must be a finite number >= 0, got 'small'",
    ),
    Row(
        "train/cg min_gap 0",
        lambda c: c.run(cg_options=dict(min_gap=0)),
        E.InputError,
        r"cg_options\['min_gap'\] must be an integer >= 1, got 0",
    ),
    Row(
        "train/cg gap_ratio inf",
        lambda c: c.run(cg_options=dict(gap_ratio=float("inf"))),
        E.InputError,
        r"cg_options\['gap_ratio'\] must be a finite number",
    ),
    Row("train/cg a list", lambda c: c.run(cg_options=[("eps", 0)]), E.InputError, "cg_options must be a dict"),
    Row("train/seed -1", lambda c: c.run(seed=-1), E.InputError, "seed must be an integer >= 0, got -1"),
    Row("train/seed 1.5", lambda c: c.run(seed=1.5), E.InputError, "seed must be an integer >= 0, got 1.5"),
    Row("train/seed 'a'", lambda c: c.run(seed="a"), E.InputError, "seed must be an integer >= 0, got 'a'"),
    Row(
        "train/float32 inputs overflow",
        lambda c: train(autoencoder(), c.X * 1e30, c.X, "ng", 2),
        E.InputError,
        r"the data overflowed float32: X\[\d+, \d+\] = \d.*e\+30.*dtype=float64",
    ),
    Row(
        "train/float32 squared targets overflow",
        lambda c: train(autoencoder(loss="squared", out="linear"), c.X, c.X * 1e25, "ng", 2),
        E.InputError,
        r"the data overflowed float32: T\[",
    ),
    Row(
        "train/float32 curvature data overflow",
        lambda c: c.run(curvature_data=c.X * -1e30),
        E.InputError,
        r"the data overflowed float32: curvature_data\[",
    ),
]

DESTINATIONS = [
    Row(
        "checkpoint/an existing directory",
        _directory,
        E.InputError,
        r"checkpoint = '.*/D' is a directory",
        directory_left_alone,
    ),
    Row("checkpoint/read-only place", _readonly, E.InputError, r"checkpoint = '.*c.*\.npz' cannot be written"),
    Row(
        "checkpoint/missing parent",
        lambda c: c.run(checkpoint=c.dir / "no" / "c.npz"),
        E.InputError,
        r"checkpoint = '.*/no/c\.npz': its directory '.*/no' does not exist",
        nothing_written,
    ),
    Row("checkpoint/not a path", lambda c: c.run(checkpoint=3), E.InputError, "checkpoint must be a file path, got 3"),
]

RESUME = [
    Row(
        "resume/zero-length file",
        lambda c: (c.raw(b""), c.resume()),
        E.InputError,
        "not a riemannopt training checkpoint",
        names_file,
    ),
    Row(
        "resume/garbage",
        lambda c: (c.raw(bytes(range(256)) * 4), c.resume()),
        E.InputError,
        "not a riemannopt training checkpoint",
        names_file,
    ),
    Row(
        "resume/a .npy file",
        lambda c: (_npy(c, "c.npy"), c.run(resume=c.file)),
        E.InputError,
        "not a riemannopt training checkpoint",
        names_file,
    ),
    Row(
        "resume/a directory",
        lambda c: (setattr(c, "file", c.dir), c.run(resume=c.dir)),
        E.InputError,
        "is a directory, not a checkpoint file",
    ),
    Row("resume/not a path", lambda c: c.run(resume=3), E.InputError, "the checkpoint must be a file path, got 3"),
    Row(
        "resume/missing state entry",
        lambda c: (c.checkpoint(drop=("state/damping",)), c.resume()),
        E.InputError,
        "the entry state/damping is missing",
        file_unchanged,
    ),
    Row(
        "resume/negative damping",
        lambda c: (c.checkpoint(setting("state/damping", -2.0)), c.resume()),
        E.InputError,
        r"state/damping must be a finite number > 0, got -2\.0",
        file_unchanged,
    ),
    Row(
        "resume/unknown state entry",
        lambda c: (c.checkpoint(setting("state/m", np.zeros(N_PARAMS, np.float32))), c.resume()),
        E.InputError,
        "state/m is not a state entry of method 'ng'",
        file_unchanged,
    ),
    Row(
        "resume/ragged history",
        lambda c: (c.checkpoint(setting("history/rho", c.base["history/rho"][:-1])), c.resume()),
        E.InputError,
        r"history/rho has 3 entries, history/iteration has 4 \(a ragged history\)",
        file_unchanged,
    ),
    Row(
        "resume/missing history entry",
        lambda c: (c.checkpoint(drop=("history/cg_iterations",)), c.resume()),
        E.InputError,
        "the entry history/cg_iterations is missing",
        file_unchanged,
    ),
    Row(
        "resume/iterations out of order",
        lambda c: (c.checkpoint(setting("history/iteration", [0, 1, 3, 2])), c.resume()),
        E.InputError,
        r"history/iteration must be 0, 1, \.\.\., 3",
        file_unchanged,
    ),
    Row(
        "resume/test history without test data",
        lambda c: (c.checkpoint(setting("history/test_loss", np.ones(4))), c.resume()),
        E.InputError,
        r"history/test_loss is not a history entry of this run \(.*give X_test and T_test\)",
        file_unchanged,
    ),
    Row(
        "resume/state vector of the wrong length",
        lambda c: (c.checkpoint(setting("state/warm", np.zeros(7, np.float32))), c.resume()),
        E.InputError,
        rf"state/warm must have shape \({N_PARAMS},\) for this network, got \(7,\)",
        file_unchanged,
    ),
    Row(
        "resume/theta of the wrong length",
        lambda c: (c.checkpoint(setting("theta", c.base["theta"][:-1])), c.resume()),
        E.InputError,
        rf"theta must have shape \({N_PARAMS},\) for this network, got \({N_PARAMS - 1},\)",
        file_unchanged,
    ),
    Row(
        "resume/theta of the wrong dtype",
        lambda c: (c.checkpoint(setting("theta", c.base["theta"].astype(np.float64))), c.resume()),
        E.InputError,
        "theta must be float32 like this run, got float64",
        file_unchanged,
    ),
    Row(
        "resume/NaN in theta",
        lambda c: (
            c.checkpoint(setting("theta", np.where(np.arange(N_PARAMS) == 5, np.nan, c.base["theta"]))),
            c.resume(),
        ),
        E.InputError,
        r"theta\[5\] = nan is not finite",
        file_unchanged,
    ),
    Row(
        "resume/config of another run",
        lambda c: (c.checkpoint(config(max_cg=20)), c.resume()),
        E.InputError,
        "it was written with max_cg=20, this run has max_cg=50",
        file_unchanged,
    ),
    Row(
        "resume/config lacking a setting",
        lambda c: (c.checkpoint(config(chunks=None)), c.resume()),
        E.InputError,
        "its config lacks 'chunks'",
        file_unchanged,
    ),
    Row(
        "resume/fewer iters than the checkpoint holds",
        lambda c: (c.checkpoint(), c.resume(iters=2)),
        E.InputError,
        r"with iters=2: it already holds 3 iterations .*pass iters >= 3",
        file_unchanged,
    ),
    Row(
        "resume/adam step count off",
        _adam_resume(setting("state/t", 5)),
        E.InputError,
        "state/t = 5 Adam steps, but 2 iterations of 4 minibatches make 8",
        file_unchanged,
    ),
    Row(
        "resume/adam moment missing",
        _adam_resume(lambda a: a.pop("state/s")),
        E.InputError,
        "the entry state/s is missing",
        file_unchanged,
    ),
]

DATASETS = [
    Row(
        "curves/width a word",
        lambda c: curves(5, 2, width="wide"),
        E.InputError,
        "width must be a finite number > 0, got 'wide'",
    ),
    Row(
        "spirals/noise a word",
        lambda c: spirals(5, 2, noise="x"),
        E.InputError,
        "noise must be a finite number >= 0, got 'x'",
    ),
    Row(
        "spirals/turns NaN", lambda c: spirals(5, 2, turns=float("nan")), E.InputError, "turns must be a finite number"
    ),
    Row(
        "curves/a billion images",
        lambda c: curves(10**9, 5),
        E.InputError,
        r"curves\(n_train=1000000000, n_test=5, size=28\).* need .*B",
    ),
    Row(
        "curves/one huge image",
        lambda c: curves(1, 1, size=10**6),
        E.InputError,
        r"curves\(n_train=1, n_test=1, size=1000000\).* need .*B",
    ),
    Row(
        "spirals/a million inputs",
        lambda c: spirals(10**6, 5, dim=10**6),
        E.InputError,
        r"spirals\(n_train=1000000, n_test=5, dim=1000000\).* need .*B",
    ),
    Row("curves/seed -1", lambda c: curves(5, 2, seed=-1), E.InputError, "seed must be an integer >= 0, got -1"),
    Row("curves/seed 1.5", lambda c: curves(5, 2, seed=1.5), E.InputError, "seed must be an integer >= 0, got 1.5"),
    Row("spirals/seed 'a'", lambda c: spirals(5, 2, seed="a"), E.InputError, "seed must be an integer >= 0, got 'a'"),
    Row("curves/size a float", lambda c: curves(5, 2, size=7.5), E.InputError, "size must be an integer >= 4, got 7.5"),
    Row(
        "load_npz/a .npy file",
        lambda c: load_npz(_npy(c)),
        E.InputError,
        r"holds a single array \(a \.npy file\), not a \.npz archive",
        names_file,
    ),
    Row(
        "load_npz/a directory",
        lambda c: (setattr(c, "file", c.dir), load_npz(c.dir)),
        E.InputError,
        "is a directory; give a .npz file",
        names_file,
    ),
    Row(
        "load_npz/zero-length file",
        lambda c: load_npz(c.raw(b"", "data.npz")),
        E.InputError,
        r"cannot read .* as a \.npz file",
        names_file,
    ),
    Row("load_npz/not a path", lambda c: load_npz(None), E.InputError, "path must be a file path, got None"),
]

PARTS = [
    Row("MLP.init/seed -1", lambda c: autoencoder().init(-1), E.InputError, "seed must be an integer >= 0, got -1"),
    Row("MLP.init/seed 'a'", lambda c: autoencoder().init("a"), E.InputError, "seed must be an integer >= 0, got 'a'"),
    Row(
        "MLP.init/n_nonzero 0",
        lambda c: autoencoder().init(0, n_nonzero=0),
        E.InputError,
        "n_nonzero must be an integer >= 1",
    ),
    Row("MLP/dtype float99", lambda c: autoencoder(dtype="float99"), E.MethodError, r"dtype must be .*'float99'"),
    Row(
        "MLP/sigma a word",
        lambda c: MLP([2, 1], ["linear"], "squared", sigma="x"),
        E.MethodError,
        "sigma must be a finite number > 0, got 'x'",
    ),
    Row(
        "Adam/beta1 = 1",
        lambda c: Adam(Objective(autoencoder(), c.X, c.X, 0.0, 0), beta1=1.0),
        E.InputError,
        r"beta1 must be a finite number >= 0 and < 1, got 1\.0",
    ),
    Row(
        "Adam/seed 1.5",
        lambda c: Adam(Objective(autoencoder(), c.X, c.X, 0.0, 0), seed=1.5),
        E.InputError,
        "seed must be an integer >= 0, got 1.5",
    ),
    Row("MLP/activations None", lambda c: MLP([2, 1], None, "squared"), E.ShapeError, "one activation name per layer"),
    Row(
        "MLP/backend_options a number",
        lambda c: MLP([2, 1], ["linear"], "squared", backend_options=3),
        E.MethodError,
        "backend_options must be a dict",
    ),
    Row(
        "MLP/backend a list",
        lambda c: MLP([2, 1], ["linear"], "squared", backend=["numpy"]),
        E.MethodError,
        r"unknown nn backend \['numpy'\]",
    ),
    Row(
        "Layout/size a word", lambda c: Layout([3, "a"]), E.ShapeError, "sizes\\[1\\] must be an integer >= 1, got 'a'"
    ),
    Row(
        "Layout/size a float", lambda c: Layout([3, 2.5]), E.ShapeError, "sizes\\[1\\] must be an integer >= 1, got 2.5"
    ),
    Row(
        "solve_damped/min_gap 0",
        lambda c: solve_damped(lambda v: v, np.ones(3), min_gap=0),
        E.InputError,
        "min_gap must be an integer >= 1, got 0",
    ),
    Row(
        "solve_damped/eps a string",
        lambda c: solve_damped(lambda v: v, np.ones(3), eps="tiny"),
        E.InputError,
        "eps must be a finite number >= 0, got 'tiny'",
    ),
]

ROWS = TRAIN + DESTINATIONS + RESUME + DATASETS + PARTS


def test_enough_rows():
    assert len({r.id for r in ROWS}) == len(ROWS) >= 60


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row, base, adam_base, tmp_path, monkeypatch):
    X, arrays = base
    ctx = Ctx(X, tmp_path, arrays)
    ctx.adam = adam_base

    def no_work(self, theta):
        pytest.fail("work started: the objective was evaluated before the refusal")

    monkeypatch.setattr(Objective, "evaluate", no_work)
    with pytest.raises(row.error) as info:
        row.call(ctx)
    assert isinstance(info.value, E.RiemannOptError)
    assert re.search(row.match, str(info.value)), (row.match, str(info.value))
    if row.check:
        row.check(ctx, info.value)


def test_a_checkpoint_that_cannot_be_written_mid_run_keeps_the_result(base, tmp_path):
    """The checkpoint's directory disappears after iteration 1: iteration 2's write fails with a
    TrainingError naming the file and carrying the run so far, which equals a fresh 2-iteration run
    bit for bit (the independent re-run)."""
    import shutil

    X, _ = base
    where = tmp_path / "gone"
    where.mkdir()
    with pytest.raises(E.TrainingError) as info:
        train(autoencoder(), X, X, "ng", 4, checkpoint=where / "c.npz", callback=lambda k, r, t: shutil.rmtree(where))
    exc = info.value
    assert exc.iteration == 2 and str(where / "c.npz") in str(exc) and "not updated with iteration 2" in str(exc)
    again = train(autoencoder(), X, X, "ng", 2)
    np.testing.assert_array_equal(exc.result.theta, again.theta)
    np.testing.assert_array_equal(exc.result.history["train_loss"], again.history["train_loss"])


def test_second_moments_that_overflow_mid_run_are_named(base, monkeypatch):
    """The preconditioner's diagonal overflows at iteration 2 (forced: the backend's diagonal is
    made infinite from its second call on): a TrainingError says so, naming the dtype, instead of
    a NaN preconditioner inside CG, and carries iteration 1, equal to a fresh 1-iteration run."""
    from riemannopt.nn.backends.numpy_backend import NumpyBackend

    X, _ = base
    again = train(autoencoder(), X, X, "ng", 1)
    calls, original = [], NumpyBackend.gradient_and_diag

    def overflowing(self, fwd, T):
        g, diag = original(self, fwd, T)
        calls.append(len(T))
        return g, (diag * np.inf if len([n for n in calls if n == len(X)]) >= 2 else diag)

    monkeypatch.setattr(NumpyBackend, "gradient_and_diag", overflowing)
    with pytest.raises(E.TrainingError, match=r"second moments .* of iteration 2 overflowed float32") as info:
        train(autoencoder(), X, X, "ng", 3)
    assert info.value.iteration == 2
    np.testing.assert_array_equal(info.value.result.theta, again.theta)
    np.testing.assert_array_equal(info.value.result.history["iteration"], [0, 1])
