"""Ctrl-C at random moments of ``nn.train`` with a checkpoint (issue 21, item 3): what is on disk is
what was returned.

One child process runs :data:`TRIALS` training runs one after another (ng, geo, adam in turn, on
a tiny auto-encoder); the parent sends SIGINT to it at a moment drawn uniformly (seeded) over the
duration of a whole run of that method, timed in the child beforehand (after a first run that
loads the kernels).  After each, the child writes what
``train`` returned to a file of its own, and the parent compares it with the checkpoint on disk:
θ bit for bit and every history entry equal (the independent reference is the result the run
returned), and no temporary file left.  A SIGINT that lands before the loop starts (no result)
must leave no checkpoint at all.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from riemannopt.nn.checkpoint import load_checkpoint

TRIALS = 12
METHODS = ("ng", "geo", "adam")
#: Seconds any one exchange with the child may take before the test calls it a hang (generous:
#: the first run in a cold child compiles, and a loaded 2-core machine is several times slower).
HANG = 300

CHILD = r"""
import json, signal, sys, time
import numpy as np
from riemannopt.nn import MLP, train
from riemannopt.nn.datasets import curves

X = curves(40, 1, size=6, seed=3).X_train
ITERS = 20

def run(method, path):
    net = MLP([36, 8, 3, 8, 36], ["sigmoid", "linear", "sigmoid", "sigmoid"], "bce", dtype=np.float32)
    return train(net, X, X, method, ITERS, checkpoint=path, batch_size=10, chunks=2)

seconds = {}
for method in sys.argv[1:]:
    run(method, sys.argv[0] + ".warm.npz")  # compiles (or loads) the kernels
    start = time.perf_counter()
    run(method, sys.argv[0] + ".warm.npz")
    seconds[method] = time.perf_counter() - start
print(json.dumps(seconds), flush=True)
signal.signal(signal.SIGINT, signal.SIG_IGN)
for line in sys.stdin:
    method, path = line.split()
    res = None
    try:
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            print("ready", flush=True)  # the parent signals only after reading this
            res = run(method, path)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    except KeyboardInterrupt:
        pass  # before the loop started: train has no result to return
    if res is None:
        np.savez(path + ".returned.npz", none=True)
    else:
        np.savez(
            path + ".returned.npz",
            theta=res.theta,
            interrupted=res.interrupted,
            **{"history/" + k: v for k, v in res.history.items()},
        )
    print("done", flush=True)
"""


def _readline(child):
    ready, _, _ = select.select([child.stdout], [], [], HANG)
    if not ready:
        pytest.fail(f"the child sent nothing for {HANG} s")
    line = child.stdout.readline()
    if not line:
        pytest.fail(f"the child exited with {child.wait()}: {child.stderr.read()}")
    return line.strip()


def test_sigint_at_random_moments_leaves_the_checkpoint_equal_to_the_result(tmp_path):
    """12 trials; each compares the checkpoint on disk with the returned result, and at least three
    of them must have been stopped inside their loop (else little was tested; measured: all 12)."""
    rng = np.random.default_rng(21)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), *METHODS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
    )
    stopped_inside = 0
    try:
        duration = json.loads(_readline(child))
        for trial in range(TRIALS):
            method = METHODS[trial % len(METHODS)]
            run_dir = tmp_path / f"trial{trial}"
            run_dir.mkdir()
            path = run_dir / "c.npz"
            child.stdin.write(f"{method} {path}\n")
            child.stdin.flush()
            assert _readline(child) == "ready"
            time.sleep(rng.uniform(0.0, 1.1) * duration[method])
            os.kill(child.pid, signal.SIGINT)
            assert _readline(child) == "done"

            with np.load(f"{path}.returned.npz") as f:
                returned = {k: f[k] for k in f.files}
            assert not list(run_dir.glob(".*.tmp")), (trial, method)
            if "none" in returned:  # stopped before iteration 0 was recorded
                assert not path.exists(), (trial, method)
                continue
            history = {k[8:]: v for k, v in returned.items() if k.startswith("history/")}
            done = len(history["iteration"]) - 1
            if done == 0:  # stopped before iteration 1 finished: nothing was written
                assert bool(returned["interrupted"]) and not path.exists(), (trial, method)
                continue
            theta, _, saved, config = load_checkpoint(path)
            assert config["method"] == method
            np.testing.assert_array_equal(theta, returned["theta"], err_msg=f"trial {trial} ({method})")
            assert saved.keys() == history.keys()
            for key in history:
                np.testing.assert_array_equal(saved[key], history[key], err_msg=f"trial {trial} ({method}): {key}")
            stopped_inside += bool(returned["interrupted"]) and done < 20
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    assert child.returncode == 0, child.stderr.read()
    assert stopped_inside >= 3
