"""riemannopt.nn.train on a tiny auto-encoder: every method trains, corrections switch off exactly,
checkpoints resume exactly, failures and interruptions keep the result so far, bad arguments are
refused before any work."""

import numpy as np
import pytest

from riemannopt.errors import InputError, MethodError, ShapeError, TrainingError
from riemannopt.nn import METHODS, MLP, train
from riemannopt.nn.backends.numpy_backend import NumpyBackend
from riemannopt.nn.datasets import curves

TIME_KEYS = ("seconds", "cpu_seconds")


@pytest.fixture(scope="module")
def data():
    d = curves(60, 20, size=6, seed=3)
    return d.X_train, d.X_test


def autoencoder(dtype=np.float32):
    return MLP([36, 8, 3, 8, 36], ["sigmoid", "linear", "sigmoid", "sigmoid"], "bce", dtype=dtype)


def same_history(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if key not in TIME_KEYS:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_decreases_the_loss(method, data):
    """8 iterations from the same sparse initialization; corrections on from the start."""
    X, Xt = data
    res = train(autoencoder(), X, X, method, 8, X_test=Xt, T_test=Xt, threshold=np.inf, chunks=2, batch_size=10)
    h = res.history
    assert len(h["iteration"]) == 9 and np.all(np.isfinite(h["train_loss"]))
    # first-order methods 0.9 (measured: adam 0.85 full-batch with batch_size=10 minibatches, sgd
    # 0.67), the curvature methods 0.65 (measured 0.57–0.59)
    bound = 0.65 if METHODS[method].uses_curvature else 0.9
    assert h["train_loss"][-1] < bound * h["train_loss"][0], h["train_loss"]
    assert h["test_error"][-1] < h["test_error"][0]
    assert res.theta.dtype == np.float32 and not res.interrupted


def test_history_against_an_independent_evaluation(data):
    """The recorded errors and losses at the final θ equal those computed from net.predict:
    mean ‖y − t‖² and the mean binary cross-entropy (float64 run, 1e-10)."""
    X, Xt = data
    net = autoencoder(np.float64)
    res = train(net, X, X, "geo", 4, X_test=Xt, T_test=Xt, dtype=np.float64, weight_decay=0.0)
    h = res.history
    assert set(h) == {
        "iteration",
        "train_loss",
        "train_error",
        "test_loss",
        "test_error",
        "seconds",
        "cpu_seconds",
        "damping",
        "cg_iterations",
        "evaluations",
        "rho",
        "rate",
        "corrected",
    }
    assert all(len(v) == 5 for v in h.values())
    np.testing.assert_array_equal(h["iteration"], np.arange(5))
    assert np.all(np.diff(h["seconds"]) >= 0) and h["seconds"][0] == 0
    for x, key in ((X, "train"), (Xt, "test")):
        y = net.predict(res.theta, x)
        assert h[f"{key}_error"][-1] == pytest.approx(np.mean(np.sum((y - x) ** 2, axis=1)), rel=1e-10)
        bce = -np.mean(np.sum(x * np.log(y) + (1 - x) * np.log(1 - y), axis=1))
        assert h[f"{key}_loss"][-1] == pytest.approx(bce, rel=1e-10)


@pytest.mark.parametrize("method", ["mid", "geo", "geof", "perturb"])
def test_threshold_zero_is_exactly_ng(method, data):
    """With the damping threshold at 0 no correction is ever on: same θ and history as ng, bit
    for bit (wall times aside)."""
    X, _ = data
    ng = train(autoencoder(), X, X, "ng", 5, threshold=0.0)
    res = train(autoencoder(), X, X, method, 5, threshold=0.0)
    same_history(res.history, ng.history)
    np.testing.assert_array_equal(res.theta, ng.theta)
    assert not res.history["corrected"].any()


def test_corrections_follow_the_threshold(data):
    """Corrections are on exactly at the iterations whose λ is below the threshold (geof's first
    iteration has no previous update, so it is plain ng)."""
    X, _ = data
    for method in ("geo", "geof"):
        h = train(autoencoder(), X, X, method, 8, threshold=20.0).history
        want = h["damping"][1:] < 20.0
        if method == "geof":
            want[0] = False
        np.testing.assert_array_equal(h["corrected"][1:], want)
        assert want.any() and not want.all()


@pytest.mark.parametrize("method", METHODS)
def test_checkpoint_then_resume_is_the_uninterrupted_run(method, data, tmp_path):
    """Every registered method: 6 iterations in one go against 3 iterations, a checkpoint, and a
    resumed run to 6: same θ and history bit for bit (times aside).  geof carries the previous
    update, mid the warm start, Adam its moments and step count."""
    X, Xt = data
    opts = dict(X_test=Xt, T_test=Xt, threshold=np.inf, chunks=3, batch_size=20)
    whole = train(autoencoder(), X, X, method, 6, checkpoint=tmp_path / "whole.npz", **opts)
    part = train(autoencoder(), X, X, method, 3, checkpoint=tmp_path / "part.npz", **opts)
    assert len(part.history["iteration"]) == 4
    resumed = train(
        autoencoder(), X, X, method, 6, resume=tmp_path / "part.npz", checkpoint=tmp_path / "part.npz", **opts
    )
    same_history(resumed.history, whole.history)
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    assert resumed.history["seconds"][3] == part.history["seconds"][3]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file
    with np.load(tmp_path / "whole.npz") as f:
        np.testing.assert_array_equal(f["theta"], whole.theta)


def test_resume_checks_the_checkpoint(data, tmp_path):
    X, _ = data
    train(autoencoder(), X, X, "ng", 1, checkpoint=tmp_path / "c.npz")
    with pytest.raises(InputError, match="written with method='ng', this run has method='geo'"):
        train(autoencoder(), X, X, "geo", 2, resume=tmp_path / "c.npz")
    with pytest.raises(InputError, match="written with max_cg=50, this run has max_cg=20"):
        train(autoencoder(), X, X, "ng", 2, max_cg=20, resume=tmp_path / "c.npz")
    with pytest.raises(InputError, match="does not exist"):
        train(autoencoder(), X, X, "ng", 2, resume=tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a checkpoint")
    with pytest.raises(InputError, match="not a riemannopt training checkpoint"):
        train(autoencoder(), X, X, "ng", 2, resume=tmp_path / "junk.npz")
    # Resuming a finished run returns it unchanged.
    done = train(autoencoder(), X, X, "ng", 1, resume=tmp_path / "c.npz")
    assert len(done.history["iteration"]) == 2


def test_ctrl_c_and_callback_stop_with_the_result_so_far(data):
    X, _ = data
    seen = []

    def interrupt(k, record, theta):
        seen.append((k, record["train_loss"], theta.shape))
        if k == 2:
            raise KeyboardInterrupt

    res = train(autoencoder(), X, X, "geof", 6, callback=interrupt)
    assert res.interrupted and len(res.history["iteration"]) == 3
    assert [s[0] for s in seen] == [1, 2] and seen[1][1] == res.history["train_loss"][2]
    res = train(autoencoder(), X, X, "ng", 6, callback=lambda k, r, t: k == 3)
    assert not res.interrupted and len(res.history["iteration"]) == 4


def test_non_finite_curvature_raises_training_error_with_the_result(data, monkeypatch):
    """The 30th Fisher-vector product turns NaN: a TrainingError names the iteration and carries
    the iterations finished before it."""
    X, _ = data
    calls = []
    original = NumpyBackend.fisher_vp

    def broken(self, fwd, v):
        calls.append(1)
        out = original(self, fwd, v)
        return out * np.nan if len(calls) >= 30 else out

    monkeypatch.setattr(NumpyBackend, "fisher_vp", broken)
    with pytest.raises(TrainingError, match="iteration") as info:
        train(autoencoder(), X, X, "ng", 10)
    k = info.value.iteration
    assert k >= 2 and len(info.value.result.history["iteration"]) == k
    assert np.isfinite(info.value.result.theta).all()


def test_diverging_adam_raises_training_error(data):
    X, _ = data
    with pytest.raises(TrainingError, match="objective became") as info:
        train(autoencoder(), X, X, "adam", 10, lr=1e38)
    assert info.value.result is not None and info.value.iteration >= 1


def test_curvature_on_other_data(data):
    """The metric on given inputs: with chunks = 1 and the training inputs themselves (no
    targets, so ρ on all the training data), the run is the default run up to summation order
    (float64, 1e-8); on other inputs it differs.  The empirical Fisher trains too."""
    X, Xt = data
    net = autoencoder(np.float64)
    opts = dict(chunks=1, dtype=np.float64, threshold=np.inf, rho="full")
    base = train(net, X, X, "geo", 3, **opts).history
    same = train(net, X, X, "geo", 3, curvature_data=X, **opts).history
    np.testing.assert_allclose(same["train_loss"], base["train_loss"], rtol=1e-8)
    other = train(net, X, X, "geo", 3, curvature_data=Xt, **opts).history
    assert np.abs(other["train_loss"][1:] - base["train_loss"][1:]).max() > 1e-6
    emp = train(net, X, X, "ng", 3, curvature="empirical", curvature_data=(Xt, Xt), **opts).history
    assert emp["train_loss"][-1] < emp["train_loss"][0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="sgdm"), MethodError, "unknown training method 'sgdm'"),
        (dict(curvature="hessian"), MethodError, "unknown curvature 'hessian'"),
        (dict(dtype=np.int32), MethodError, "dtype must be float32 or float64"),
        (dict(iters=-1), InputError, "iters must be an integer >= 0"),
        (dict(damping=0.0), InputError, "damping must be a finite number > 0"),
        (dict(threshold=-1.0), InputError, "threshold must be a number >= 0"),
        (dict(max_cg=0), InputError, "max_cg must be an integer >= 1"),
        (dict(weight_decay=float("nan")), InputError, "weight_decay must be a finite number"),
        (dict(chunks=61), InputError, "chunks must be at most the 60 curvature examples"),
        (dict(lr=-1.0), InputError, "lr must be a finite number > 0"),
        (dict(cg_options=dict(max_iter=3)), InputError, "cg_options may set"),
        (dict(X_test=np.zeros((2, 36))), InputError, "give both X_test and T_test"),
        (dict(callback=3), InputError, "callback must be callable"),
        (dict(curvature="empirical", curvature_data=np.zeros((5, 36))), InputError, "needs targets"),
        (dict(method="perturb", curvature_data=np.zeros((5, 36))), InputError, "method 'perturb' needs targets"),
        (dict(curvature_data=np.zeros((5, 7))), ShapeError, "X must have shape"),
        (dict(theta0=np.zeros(3)), ShapeError, "theta0 must have shape"),
        (dict(checkpoint="/nonexistent/dir/c.npz"), InputError, "checkpoint = .*its directory .* does not exist"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(kwargs, error, match, data, monkeypatch):
    X, _ = data
    monkeypatch.setattr(NumpyBackend, "gradient_and_diag", lambda *a: pytest.fail("work started"))
    args = dict(method="ng", iters=2)
    args.update(kwargs)
    method, iters = args.pop("method"), args.pop("iters")
    with pytest.raises(error, match=match):
        train(autoencoder(), X, X, method, iters, **args)


@pytest.mark.parametrize("method", ["geo", "perturb", "adam"])
def test_warm_up_leaves_the_run_unchanged(method, data, monkeypatch):
    """The untimed warm-up before iteration 1 changes nothing but the clock: θ and the history
    (times aside) equal those of the same run without it, bit for bit."""
    import importlib

    train_module = importlib.import_module("riemannopt.nn.train")  # riemannopt.nn.train is also the function
    X, Xt = data
    opts = dict(X_test=Xt, T_test=Xt, threshold=np.inf, chunks=3, batch_size=20)
    warm = train(autoencoder(), X, X, method, 4, **opts)
    monkeypatch.setattr(train_module, "_warm_up", lambda *args: None)
    cold = train(autoencoder(), X, X, method, 4, **opts)
    same_history(warm.history, cold.history)
    np.testing.assert_array_equal(warm.theta, cold.theta)


_NO_COMPILATION_IN_THE_LOOP = """
import json
import numpy as np
from numba.core.dispatcher import Dispatcher
from riemannopt.nn import MLP, train
from riemannopt.nn.adam import Adam
from riemannopt.nn.backends import _numpy_kernels as kern
from riemannopt.nn.datasets import curves
from riemannopt.nn.hf import HessianFree

def signatures():
    return {n: len(d.signatures) for n, d in vars(kern).items() if isinstance(d, Dispatcher)}

first = {}
for cls in (HessianFree, Adam):
    def step(self, k, *args, _step=cls.step):
        if k == 1:
            first.update(signatures())
        return _step(self, k, *args)
    cls.step = step

X = curves(30, 1, size=6, seed=3).X_train
out = []
for method, dtype, curvature in (("geo", np.float32, "fisher"), ("perturb", np.float64, "fisher"),
                                 ("ng", np.float64, "empirical"), ("adam", np.float32, "fisher")):
    first.clear()
    net = MLP([36, 8, 3, 8, 36], ["sigmoid", "linear", "sigmoid", "sigmoid"], "bce", dtype=dtype)
    train(net, X, X, method, 6, dtype=dtype, curvature=curvature, threshold=np.inf, chunks=2, batch_size=10)
    out.append([method, dict(first), signatures()])
print(json.dumps(out))
"""


def test_no_kernel_is_compiled_inside_the_timed_iterations():
    """In a fresh process, the kernels' compiled signatures (numba compiles, or loads from its
    cache, one per new type signature) are the same when iteration 1 starts as after the run:
    nothing is compiled while the history's clock runs (geo, perturb, ng with the empirical
    Fisher, Adam; float32 and float64)."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _NO_COMPILATION_IN_THE_LOOP], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    assert [r[0] for r in runs] == ["geo", "perturb", "ng", "adam"]
    for method, at_first_step, after in runs:
        assert at_first_step and at_first_step == after, method
    assert runs[0][1]["backward_epilogue_"] >= 1  # the backward pass had been compiled before iteration 1


def test_ctrl_c_during_the_warm_up_ends_the_run_at_iteration_0(data, monkeypatch):
    """A SIGINT while the kernels compile is held back until the warm-up is done (numba must not
    be stopped mid-compilation), then ends the run with the result so far: iteration 0 alone, at
    θ = net.init(seed) (computed independently here)."""
    import importlib
    import signal

    train_module = importlib.import_module("riemannopt.nn.train")
    real, finished = train_module._warm_up, []

    def interrupted(*args):
        signal.raise_signal(signal.SIGINT)
        real(*args)
        finished.append(True)

    monkeypatch.setattr(train_module, "_warm_up", interrupted)
    X, _ = data
    res = train(autoencoder(), X, X, "ng", 3, seed=4)
    assert finished == [True] and res.interrupted
    np.testing.assert_array_equal(res.history["iteration"], [0])
    np.testing.assert_array_equal(res.theta, autoencoder().init(4))
