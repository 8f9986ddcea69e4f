"""Time of training at one and two BLAS threads, on the machine as it is and under extra load (issue 21).

The shapes are those of the README's commands:

* **nn**: iterations of :func:`riemannopt.nn.train` on the curves-small preset (196-100-50-25-6-
  25-50-100-196 auto-encoder, 2000 generated 14×14 images, float32; the network and data of
  ``riemannopt nn --dataset curves-small``), for ``ng``, ``geo`` and ``adam``, each run from the
  parameters reached after ``--warmup`` ``ng`` iterations (so that λ and the CG solves are in their
  working regime); time per iteration from the run's own history (``seconds``, ``cpu_seconds``:
  test evaluations excluded);
* **rl**: the three parts of one iteration of :func:`riemannopt.rl.train` on Pendulum-v1 with the
  defaults of ``riemannopt rl`` (64-64 tanh policy, batch 2048 = 8 environments × 256 steps):
  collecting the batch, the ``geo`` policy update (:func:`riemannopt.rl.policy_update`, exact
  Fisher, 10 CG steps per solve), and the value function's fit (Adam, 10 epochs of 64-row
  minibatches).

Each is timed at 1 and at 2 BLAS threads (:func:`riemannopt._threads.blas_threads`, through
threadpoolctl; 2 is OpenBLAS's own choice on a 2-core machine), the two alternating within each
of ``--repeats`` rounds so that load from other processes falls on both alike; the median over
rounds is reported, in wall and in processor time of this process (all its threads, so a
spinning BLAS thread counts), with the ratio 2 threads / 1 thread.  With ``--load N`` the
measurement is repeated while N busy processes started by this script (pure Python loops) take
cores, as other work does on a shared machine.

Run (``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset, as some machines set them for old
OpenBLAS builds and they slow the current one; the kernel set in use is printed)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_threads.py --load 2
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_threads.py --load 1 --repeats 5
"""

import argparse
import multiprocessing
import os
import statistics
import time

from threadpoolctl import threadpool_info

from riemannopt._threads import THREAD_VARIABLES, blas_threads
from riemannopt.nn import get_preset, train

THREADS = (1, 2)
NN_METHODS = ("ng", "geo", "adam")


def _burn(parent):
    # Ends by itself once the script is gone, however the script ended.
    while os.getppid() == parent:
        for _ in range(10**6):
            pass


def _blas_description():
    rows = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} kernels, {i['num_threads']} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "; ".join(rows) or "no BLAS found by threadpoolctl"


def nn_bench(warmup, iters, seed=0):
    """``{label: fn}``: each ``fn()`` runs ``iters`` iterations and returns (wall, cpu) s/iteration."""
    preset = get_preset("curves-small")
    data = preset.dataset(seed)
    net = preset.network()
    opts = dict(seed=seed, threshold=preset.threshold, progress=False)
    start = train(net, data.X_train, data.T_train, "ng", warmup, **opts)
    damping = float(start.history["damping"][-1])

    def run(method):
        h = train(net, data.X_train, data.T_train, method, iters, theta0=start.theta, damping=damping, **opts).history
        return h["seconds"][-1] / iters, h["cpu_seconds"][-1] / iters

    return {f"nn {m} iteration": (lambda m=m: run(m)) for m in NN_METHODS}


def rl_bench(seed=0):
    """``{label: fn}`` for the parts of one ``rl.train`` iteration on Pendulum-v1; each ``fn()``
    returns (wall, cpu) seconds."""
    import numpy as np

    from riemannopt import rl

    env_id = "Pendulum-v1"
    cfg = rl.RLConfig().resolved(env_id)
    info = rl.env_info(env_id)
    policy = rl.make_policy(info.kind, info.obs_dim, info.n, cfg.hidden)
    params = policy.init(seed)
    value = rl.ValueFunction(info.obs_dim, cfg.hidden, seed=seed)
    env = rl.make_vec_env(env_id, cfg.n_envs)
    col = rl.Collector(env, info, seed)
    batch = col.collect(policy, params, value, cfg.n_steps, cfg.gamma, cfg.lam)
    value.fit(batch.obs, batch.returns, np.random.default_rng(seed))  # the scaling of later fits
    adv = rl.standardize(batch.advantages)
    kw = dict(lr=cfg.lr, max_kl=cfg.max_kl, damping=cfg.damping, max_iter=cfg.cg_iters, advantages=adv)
    theta = value.theta.copy()

    def timed(fn):
        def call():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            return time.perf_counter() - t0, time.process_time() - c0

        return call

    def fit():
        value.theta[:] = theta  # every fit starts from the same value network
        value.fit(batch.obs, batch.returns, np.random.default_rng(seed))

    fns = {
        "rl collect 2048 steps": timed(lambda: col.collect(policy, params, value, cfg.n_steps, cfg.gamma, cfg.lam)),
        "rl geo policy update": timed(lambda: rl.policy_update(policy, params, batch, "geo", **kw)),
        "rl value fit": timed(fit),
    }
    return fns, env


def measure(fns, repeats):
    """``{label: {threads: (wall, cpu)}}``: medians over rounds, thread counts alternating."""
    for fn in fns.values():  # compile and warm every path once
        with blas_threads(1):
            fn()
    times = {label: {n: ([], []) for n in THREADS} for label in fns}
    for r in range(repeats):
        for label, fn in fns.items():
            for n in THREADS if r % 2 == 0 else THREADS[::-1]:
                with blas_threads(n):
                    wall, cpu = fn()
                times[label][n][0].append(wall)
                times[label][n][1].append(cpu)
    return {
        label: {n: (statistics.median(w), statistics.median(c)) for n, (w, c) in per.items()}
        for label, per in times.items()
    }


def report(title, results):
    print(f"\n{title}; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} after the runs")
    head = f"{'':26s}{'wall ms, 1 thr':>15s}{'2 thr':>9s}{'2/1':>7s}{'cpu ms, 1 thr':>15s}{'2 thr':>9s}{'2/1':>7s}"
    print(head)
    print("-" * len(head))
    for label, per in results.items():
        (w1, c1), (w2, c2) = per[1], per[2]
        print(f"{label:26s}{w1 * 1e3:15.1f}{w2 * 1e3:9.1f}{w2 / w1:7.2f}{c1 * 1e3:15.1f}{c2 * 1e3:9.1f}{c2 / c1:7.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", type=int, default=0, help="busy processes for the loaded measurement (default: 0)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--warmup", type=int, default=15, help="ng iterations before timing nn (default: 15)")
    parser.add_argument("--iters", type=int, default=3, help="nn iterations per timed run (default: 3)")
    parser.add_argument("--no-rl", action="store_true", help="skip the rl part (no gymnasium)")
    args = parser.parse_args(argv)

    chosen = [f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if os.environ.get(v)]
    coretype = [f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.get(v)]
    print(
        f"{os.cpu_count()} cores; BLAS: {_blas_description()}; environment: "
        f"{', '.join(chosen + coretype) or 'no thread or core-type variable set'}"
    )
    fns = nn_bench(args.warmup, args.iters)
    env = None
    if not args.no_rl:
        rl_fns, env = rl_bench()
        fns.update(rl_fns)
    try:
        print(f"median of {args.repeats} rounds; nn: {args.iters} iterations per run, after {args.warmup} ng ones")
        report("machine as it is", measure(fns, args.repeats))
        if args.load:
            burners = [
                multiprocessing.Process(target=_burn, args=(os.getpid(),), daemon=True) for _ in range(args.load)
            ]
            for b in burners:
                b.start()
            try:
                results = measure(fns, args.repeats)
            finally:
                for b in burners:
                    b.terminate()
                    b.join()
            report(f"with {args.load} busy process(es) started by this script", results)
    finally:
        if env is not None:
            env.close()


if __name__ == "__main__":
    main()
