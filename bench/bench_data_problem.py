"""Benchmark of problems whose loss and metric are means over data rows (issue 22): logistic
regression with 5 weights (``ro.models.logistic_regression``).

(a) Build and compile against the number of rows (10³, 10⁵, 10⁶): a fresh Python process draws
    the data (not timed), builds the problem (``logistic_regression``: validation and copy of the
    data), compiles it (``P.compile()``) and runs one ``geo`` step (``ro.optimize(..., steps=1)``,
    which compiles or loads the functions the step calls; the kernels are compiled once per
    machine beforehand).  *cold*: an empty riemannopt cache directory (symbolic derivation, code
    generation, numba compilation of the problem's functions); *warm*: the same directory again,
    another data set of the same size (the code is shared: its key holds no data).
(b) One ``geo`` step (paper eq. 7) at 10⁵ rows, on 1 and on 2 threads (numba's and the BLAS's),
    in wall time and, on 1 thread, in processor time too (``1 cpu``: not inflated by other
    processes on a shared machine):
    riemannopt's step through ``ro.optimize`` (per step, from the difference of runs of 21 and 1
    steps: it includes the checks every step makes, the metric's positive definiteness and the
    loss), and the two compiled functions a step evaluates, one pass over the rows each, called
    from Python (``state``: loss, gradient and metric at the point; ``gamma_vv_chol``: Γ(d, d)
    from the sums of Γ_first(d, d) and the metric's Cholesky factor), against the same step
    written in vectorised numpy (``X @ w``, ``scipy.special.expit``, ``(X * s[:, None]).T @ X``,
    ``numpy.linalg.solve``), with and without the loss.
(c) Against statsmodels (only where ``import statsmodels`` works; it is not a dependency of
    riemannopt: ``pip install statsmodels``): the logistic and the Poisson regression (log link) of
    the benchmark's 10⁵ rows and 5 weights, fitted by ``statsmodels.api.Logit`` / ``Poisson``
    (Newton).  At statsmodels' estimate, riemannopt's compiled metric ``C.metric(w)`` against the
    expected Fisher information per row, ``−GLM(y, X, family).hessian(w, scale=1, observed=False)
    / m`` (statsmodels' ``GLM.information`` returns that expected Hessian itself, negative
    definite despite its docstring), and against the observed one, ``−Logit.hessian(w) / m``
    (the same for these canonical links); riemannopt's mean loss against ``−loglike(w) / m``; and
    riemannopt's estimate (``ro.optimize(C, "geo", 0, 1.0, steps)`` until its gradient is at
    round-off) against statsmodels' ``params``.

Usage::

    python bench/bench_data_problem.py [--rows 1000 100000 1000000] [--repeats 7]
    python bench/bench_data_problem.py --only-statsmodels    # (c) alone, a few seconds once compiled
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

D = 5

_CHILD = r"""
import json, sys, time
import numpy as np
import riemannopt as ro
m, seed = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(seed)
X = np.column_stack([np.ones(m), rng.normal(size=(m, 4))])
y = (rng.random(m) < 1 / (1 + np.exp(-X @ [0.2, -0.4, 0.3, 0.1, -0.2]))).astype(float)
t0 = time.perf_counter()
P = ro.models.logistic_regression(X, y)
t1 = time.perf_counter()
C = P.compile()
t2 = time.perf_counter()
ro.optimize(C, "geo", np.zeros(5), 0.5, 1)
t3 = time.perf_counter()
print(json.dumps({"build": t1 - t0, "compile": t2 - t1, "first_step": t3 - t2, "from_cache": C.from_cache}))
"""


def _child(m, cache, seed):
    env = dict(os.environ, RIEMANNOPT_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(m), str(seed)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child process failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_build(rows):
    # Compile the kernels (not the problem) once, as on any machine that ran riemannopt before.
    with tempfile.TemporaryDirectory() as warmup:
        _child(10, warmup, 0)
    print("(a) build + compile + first geo step, 5 weights (s)")
    print(f"{'rows':>9} {'run':>5} {'build':>7} {'compile':>8} {'1st step':>9} {'total':>7}")
    totals = {}
    for m in rows:
        with tempfile.TemporaryDirectory() as cache:
            for run, seed in (("cold", 1), ("warm", 2)):
                r = _child(m, cache, seed)
                total = r["build"] + r["compile"] + r["first_step"]
                totals[(m, run)] = total
                print(f"{m:>9} {run:>5} {r['build']:7.3f} {r['compile']:8.3f} {r['first_step']:9.3f} {total:7.3f}")
    for run in ("cold", "warm"):
        t = [totals[(m, run)] for m in rows]
        print(f"{run}: largest / smallest total = {max(t) / min(t):.2f}")
    print()


def _numpy_step(X, y, w, lr, with_loss):
    """One geo step, eq. 7: w + lr d − ½ lr² Γ(d, d), d = −g⁻¹∇L, as vectorised numpy."""
    from scipy.special import expit

    m = len(X)
    z = X @ w
    p = expit(z)
    s = p * (1 - p)
    grad = X.T @ (p - y) / m
    G = (X * s[:, None]).T @ X / m
    d = -np.linalg.solve(G, grad)
    a = X @ d
    # Γ_first(d, d)_k = mean ½ x_k (x·d)² s (1 − 2p)
    gamma = np.linalg.solve(G, X.T @ (0.5 * a * a * s * (1 - 2 * p)) / m)
    out = w + lr * d - 0.5 * lr * lr * gamma
    if with_loss:
        z = X @ out
        out = out, np.mean(np.logaddexp(0, z) - y * z)
    return out


def _best(f, repeats, number, clock=time.perf_counter):
    best = np.inf
    for _ in range(repeats):
        t = clock()
        for _ in range(number):
            f()
        best = min(best, (clock() - t) / number)
    return best


def bench_step(m, repeats):
    import numba
    from threadpoolctl import threadpool_limits

    import riemannopt as ro

    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(m), rng.normal(size=(m, D - 1))])
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ [0.2, -0.4, 0.3, 0.1, -0.2]))).astype(float)
    C = ro.models.logistic_regression(X, y).compile()
    w, lr = np.array([0.1, -0.2, 0.1, 0.0, 0.05]), 0.5
    ro.optimize(C, "geo", w, lr, 3)  # compile
    # the same step, checked against each other once
    d = C.direction(w)
    ours = w + lr * d - 0.5 * lr * lr * C.gamma_vv(w, d)
    ref = _numpy_step(X, y, w, lr, False)
    assert np.allclose(ours, ref, rtol=1e-10, atol=1e-14), (ours, ref)
    assert np.allclose(ro.optimize(C, "geo", w, lr, 1).x[-1], ref, rtol=1e-10, atol=1e-14)

    state, gamma_vv_chol = C.function("state"), C.function("gamma_vv_chol")
    facts, a = np.empty(1 + D + D * D), np.empty(D)

    def functions():
        # what a step evaluates: the loss, gradient and metric at w (the check of w computes them
        # and the step reads them), then Γ(d, d) solved with the metric's factor
        state(w, C.p, facts)
        G = facts[1 + D :].reshape(D, D)
        d = -np.linalg.solve(G, facts[1 : 1 + D])
        gamma_vv_chol(w, d, np.linalg.cholesky(G), C.p, a)
        return w + lr * d - 0.5 * lr * lr * a

    assert np.allclose(functions(), ref, rtol=1e-10, atol=1e-14)

    print(f"(b) one geo step at {m} rows, 5 weights (ms, best of {repeats})")
    print(
        f"{'threads':>7} {'optimize/step':>13} {'state+gamma_vv_chol':>19} {'numpy':>7} {'numpy+loss':>10} {'ratio':>6}"
    )
    results = {}
    saved = numba.get_num_threads()
    # "1 cpu": one thread timed by its processor time (time.thread_time), which other processes
    # sharing the cores do not inflate (the work of one numba thread and one BLAS thread runs in
    # the calling thread); the other rows are wall times.
    try:
        for threads, label, clock in (
            (1, "1", time.perf_counter),
            (2, "2", time.perf_counter),
            (1, "1 cpu", time.thread_time),
        ):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            with threadpool_limits(threads):
                t1 = _best(lambda: ro.optimize(C, "geo", w, lr, 1), repeats, 3, clock)
                t21 = _best(lambda: ro.optimize(C, "geo", w, lr, 21), repeats, 1, clock)
                per_step = (t21 - t1) / 20
                fun = _best(functions, repeats, 5, clock)
                base = _best(lambda: _numpy_step(X, y, w, lr, False), repeats, 5, clock)
                base_loss = _best(lambda: _numpy_step(X, y, w, lr, True), repeats, 5, clock)
            results[label] = (per_step, fun, base, base_loss)
            print(
                f"{label:>7} {per_step * 1e3:13.2f} {fun * 1e3:19.2f} {base * 1e3:7.2f} {base_loss * 1e3:10.2f} "
                f"{base_loss / per_step:5.2f}×"
            )
    finally:
        numba.set_num_threads(saved)
    print("ratio: numpy step with its loss / riemannopt's optimize step (> 1: riemannopt faster)")
    one, two = results["1"], results["2"]
    print(
        f"2 threads / 1 thread speed-up: optimize step {one[0] / two[0]:.2f}×, functions {one[1] / two[1]:.2f}×, "
        f"numpy {one[3] / two[3]:.2f}×"
    )


def _rel(a, b):
    """max |a − b| over max |b|: the difference relative to the size of ``b``."""
    return np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max()


def bench_statsmodels(m):
    try:
        import statsmodels.api as sm
    except ImportError:
        print("(c) statsmodels is not installed: skipped (pip install statsmodels)")
        return
    import statsmodels

    import riemannopt as ro

    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(m), rng.normal(size=(m, D - 1))])
    z_logit = X @ [0.2, -0.4, 0.3, 0.1, -0.2]
    z_pois = X @ [0.3, -0.2, 0.1, 0.2, -0.1]
    cases = [
        ("logistic", ro.models.logistic_regression, sm.Logit, sm.families.Binomial(), 1 / (1 + np.exp(-z_logit))),
        ("Poisson", ro.models.poisson_regression, sm.Poisson, sm.families.Poisson(), np.exp(z_pois)),
    ]
    print(f"(c) against statsmodels {statsmodels.__version__}: {m} rows, {D} weights")
    print(
        f"{'model':>9} {'metric vs expected info':>24} {'vs observed':>12} {'loss':>9} "
        f"{'weights (max abs)':>18} {'(relative)':>11} {'|grad| ro':>10} {'|grad| sm':>10} {'geo steps':>9}"
    )
    for name, model, sm_model, family, mean in cases:
        y = (rng.random(m) < mean).astype(float) if name == "logistic" else rng.poisson(mean).astype(float)
        fit = sm_model(y, X).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
        w_sm = fit.params
        # GLM.information(w) is hessian(w, observed=False): the expected Hessian, not its negative
        expected = -sm.GLM(y, X, family=family).hessian(w_sm, scale=1.0, observed=False) / m
        observed = -sm_model(y, X).hessian(w_sm) / m
        C = model(X, y).compile()
        G = C.metric(w_sm)
        loss_sm = -sm_model(y, X).loglike(w_sm) / m
        # riemannopt's estimate: geo with learning rate 1 from 0, until the gradient stops shrinking
        w, steps = np.zeros(D), 0
        while steps < 200:
            w_next = ro.optimize(C, "geo", w, 1.0, 5).x[-1]
            steps += 5
            done = np.abs(C.grad(w_next)).max() >= 0.5 * np.abs(C.grad(w)).max()
            w = w_next
            if done:
                break
        print(
            f"{name:>9} {_rel(G, expected):24.1e} {_rel(G, observed):12.1e} {abs(C.loss(w_sm) - loss_sm):9.1e} "
            f"{np.abs(w - w_sm).max():18.1e} {_rel(w, w_sm):11.1e} {np.abs(C.grad(w)).max():10.1e} "
            f"{np.abs(C.grad(w_sm)).max():10.1e} {steps:9d}"
        )
    print(
        "metric, weights: max |riemannopt − statsmodels| / max |statsmodels|; loss: |difference| of the mean NLL; "
        "|grad|: max |∂L/∂w| (riemannopt's mean gradient) at each estimate"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1000, 100000, 1000000])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--only-statsmodels", action="store_true", help="run only (c), the comparison with statsmodels")
    args = ap.parse_args()
    if not args.only_statsmodels:
        if not args.skip_build:
            bench_build(args.rows)
        bench_step(100000, args.repeats)
        print()
    bench_statsmodels(100000)


if __name__ == "__main__":
    main()
