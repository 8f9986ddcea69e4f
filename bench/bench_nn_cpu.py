"""riemannopt's CPU products against the same products jitted by JAX, and the GEMMs under them.

The network of ``bench_nn_products.py``: the CURVES deep auto-encoder
784-400-200-100-50-25-6-25-50-100-200-400-784, sigmoid units, binary cross-entropy, a batch of
random inputs in [0, 1] reconstructed as targets, sparse initialization.  For each product the
JAX side computes what riemannopt computes, forward pass included:

* gradient: ``jax.grad`` of the mean binary cross-entropy written on the logits;
* Fisher-vector product: ``jax.jvp`` of the logits for ``R(s)``, then ``jax.vjp`` of the signal
  ``y(1 − y) R(s) / n`` (the output Fisher of bce);
* connection-vector product: nested ``jax.jvp`` for ``S(s)``, then ``jax.vjp`` of
  ``y(1 − y)(S(s) + (½ − y) R(s)²) / n``;

and riemannopt's one-shot methods (``net.gradient(theta, X, T)``, ...), plus its products on a
stored forward pass (``net.linearize``) as truncated CG calls them.  The values are compared and
the relative differences printed.

Each thread count runs in a subprocess whose environment fixes every library's threads before
it loads (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``; for XLA
``--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` at one thread) and whose
CPU affinity is that many cores, so that neither side can use more.  The affinity is what binds
XLA: with jax 0.10 those flags leave its matrix products on several threads, while XLA sizes
its thread pool by the cores the process may run on.  Within a repeat the
contenders alternate, so load from other processes falls on both alike; times are minima over
repeats (medians printed too), ratios are riemannopt / JAX.  The process CPU time of each call
is recorded too: at one thread it is the compute time without the waits for a core that load
from other processes adds to the wall time.  With two threads each timed call follows two
untimed ones of the same product, so that the spinning idle threads of the library that ran
before (OpenBLAS's after riemannopt, XLA's after JAX) are not charged to it.

The GEMM table times the matrix products of the 784 × 400 layers at batch 1000 (the first and
last layers, which carry about 75% of the flops) through numpy's BLAS, scipy's BLAS (what the numpy
backend calls) and XLA, in the same process; it also prints which kernels OpenBLAS picked
(with ``threadpoolctl`` installed).  ``OPENBLAS_CORETYPE`` is passed through, so
``--openblas-coretype SkylakeX`` shows OpenBLAS with another kernel set.

JAX is not a dependency: without it only riemannopt's times are printed.

With ``--baseline DIR`` the script instead times riemannopt's products from another version of
the package (``DIR/riemannopt``, e.g. ``git archive <commit> riemannopt | tar -x -C DIR``)
against this checkout's, alternating processes, by process CPU time at one thread.

Run::

    python bench/bench_nn_cpu.py                       # 1 and 2 threads, float64 and float32
    python bench/bench_nn_cpu.py --threads 1 --repeats 30
    python bench/bench_nn_cpu.py --openblas-coretype SkylakeX
    python bench/bench_nn_cpu.py --baseline /tmp/before --repeats 10
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIZES = [784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784]
PRODUCTS = ("gradient", "fisher_vp", "connection_vp")
#: (label, m, k, n, transposed operand): C (m × n) = A (m × k) B (k × n).
GEMMS = (
    ("a Wᵀ (forward)", 1000, 784, 400, "B"),
    ("Dᵀ a (weight gradient)", 400, 1000, 784, "A"),
    ("D W (backward)", 1000, 400, 784, None),
)


def timeit(fns, repeats, settle=0):
    """``{name: (min, median, min CPU)}`` seconds, the functions interleaved within each repeat.

    The CPU time is the process's (all its threads): on a loaded machine the wall time of a
    single-threaded run includes waiting for a core, its CPU time does not.  With ``settle``,
    each timed call follows that many untimed ones of the same function: with several threads,
    the idle workers of the library that ran before (OpenBLAS's, XLA's) spin for a while and
    would take cores from the next one.
    """
    for fn in fns.values():
        fn()  # warm-up: compilation, allocations, BLAS threads
    wall = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            for _ in range(settle):
                fn()
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: (min(wall[name]), statistics.median(wall[name]), min(cpu[name])) for name in fns}


def settle_calls():
    """Untimed calls before each timed one: none at one core, two with more (see :func:`timeit`)."""
    return 2 if len(os.sched_getaffinity(0)) > 1 else 0


# -- worker: one thread count, in its own process --------------------------------------------


def jax_products(net, theta, X, v):
    """The three products as jitted JAX functions of no arguments, or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def tensors(flat):
        return tuple(jnp.asarray(p) for Wb in net.unflatten(flat) for p in Wb)

    params, tangent, x = tensors(theta), tensors(v), jnp.asarray(X)
    n = len(X)

    def logits(p, x):
        a = x
        for i in range(0, len(p) - 2, 2):
            a = jax.nn.sigmoid(a @ p[i].T + p[i + 1])
        return a @ p[-2].T + p[-1]

    def loss(p, x):
        s = logits(p, x)
        return jnp.sum(jnp.logaddexp(0.0, s) - x * s) / n

    @jax.jit
    def fisher_vp(p, t, x):
        s, rs = jax.jvp(lambda q: logits(q, x), (p,), (t,))
        y = jax.nn.sigmoid(s)
        _, pullback = jax.vjp(lambda q: logits(q, x), p)
        return pullback(y * (1 - y) * rs / n)[0]

    @jax.jit
    def connection_vp(p, t, x):
        def r_logits(q):
            return jax.jvp(lambda u: logits(u, x), (q,), (t,))

        (s, rs), (_, ss) = jax.jvp(r_logits, (p,), (t,))
        y = jax.nn.sigmoid(s)
        _, pullback = jax.vjp(lambda q: logits(q, x), p)
        return pullback(y * (1 - y) * (ss + (0.5 - y) * rs**2) / n)[0]

    gradient = jax.jit(jax.grad(loss))
    return {
        "gradient": lambda: jax.block_until_ready(gradient(params, x)),
        "fisher_vp": lambda: jax.block_until_ready(fisher_vp(params, tangent, x)),
        "connection_vp": lambda: jax.block_until_ready(connection_vp(params, tangent, x)),
    }


def flat(blocks):
    """JAX's per-layer result as one flat numpy vector in θ's layout (W_1, b_1, W_2, ...)."""
    import numpy as np

    return np.concatenate([np.ravel(np.asarray(b)) for b in blocks])


def product_times(dtype, batch, repeats, seed, peers=True):
    """Times of riemannopt's products and, with ``peers``, of JAX's, riemannopt's time in BLAS
    and the agreement of the values."""
    import numpy as np

    from riemannopt.nn import MLP

    net = MLP(SIZES, ["sigmoid"] * (len(SIZES) - 1), "bce", dtype=dtype)
    rng = np.random.default_rng(seed)
    theta = net.init(seed)
    X = rng.uniform(0, 1, (batch, SIZES[0])).astype(dtype)
    v = (1e-2 * rng.standard_normal(net.n_params)).astype(dtype)
    state = net.linearize(theta, X)
    ours = {
        "gradient": lambda: net.gradient(theta, X, X),
        "fisher_vp": lambda: net.fisher_vp(theta, X, v),
        "connection_vp": lambda: net.connection_vp(theta, X, v),
    }
    fns = dict(ours)
    fns["fisher_vp (stored fwd)"] = lambda: state.fisher_vp(v)
    fns["connection_vp (stored fwd)"] = lambda: state.connection_vp(v)
    if not peers:
        return timeit(fns, repeats), {}, {}
    in_blas = blas_cpu_times(net.backend, dict(fns), repeats) if settle_calls() == 0 else {}
    theirs = jax_products(net, theta, X, v)
    agreement = {}
    if theirs is not None:
        for name in PRODUCTS:
            fns[f"{name} [jax]"] = theirs[name]
            want, got = ours[name](), flat(theirs[name]())
            agreement[name] = float(np.linalg.norm(want - got) / np.linalg.norm(want))
    return timeit(fns, repeats, settle_calls()), in_blas, agreement


def blas_cpu_times(backend, fns, repeats):
    """``{name: least CPU seconds spent inside BLAS gemm by one call}``: the part of riemannopt's
    time that the BLAS library alone decides.  (Instruments the backend's private gemm
    reference for the measurement, and restores it.)"""
    inner = backend._blas_gemm
    spent = [0.0]

    def timed(*args):
        c0 = time.process_time()
        out = inner(*args)
        spent[0] += time.process_time() - c0
        return out

    backend._blas_gemm = timed
    try:
        best = {}
        for name, fn in fns.items():
            fn()
            for _ in range(repeats):
                spent[0] = 0.0
                fn()
                best[name] = min(best.get(name, spent[0]), spent[0])
        return best
    finally:
        backend._blas_gemm = inner


def gemm_rates(dtype, repeats):
    """``{(label, library): (GFLOP/s, GFLOP per CPU second)}`` for the GEMMs of :data:`GEMMS`
    (best of ``repeats``; the second is per core and insensitive to waiting for one)."""
    import numpy as np

    from riemannopt.nn import MLP

    rng = np.random.default_rng(0)
    backend = MLP([2, 2], ["sigmoid"], "bce", dtype=dtype).backend
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = None
    fns, flops = {}, {}
    for label, m, k, n, transposed in GEMMS:
        # Operands laid out as the backend holds them: W (n × k) row-major, used as W.T; a
        # signal D (k × m) row-major, used as D.T.
        A = rng.standard_normal((k, m) if transposed == "A" else (m, k)).astype(dtype)
        B = rng.standard_normal((n, k) if transposed == "B" else (k, n)).astype(dtype)
        opA = A.T if transposed == "A" else A
        opB = B.T if transposed == "B" else B
        C = np.empty((m, n), dtype=dtype)
        flops[label] = 2.0 * m * k * n
        fns[(label, "numpy")] = lambda opA=opA, opB=opB, C=C: np.matmul(opA, opB, out=C)
        fns[(label, "scipy")] = lambda opA=opA, opB=opB, C=C: backend._gemm(opA, opB, C)
        if jax is not None:
            jA, jB = jnp.asarray(A), jnp.asarray(B)
            f = jax.jit(lambda a, b, t=transposed: (a.T if t == "A" else a) @ (b.T if t == "B" else b))
            fns[(label, "xla")] = lambda f=f, jA=jA, jB=jB: jax.block_until_ready(f(jA, jB))
    times = timeit(fns, repeats, settle_calls())
    return {key: (flops[key[0]] / t[0] / 1e9, flops[key[0]] / t[2] / 1e9) for key, t in times.items()}


def blas_info():
    """Which kernels each loaded OpenBLAS uses (threadpoolctl), or a note that it is unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed: OpenBLAS kernel set unknown"
    import numpy  # noqa: F401  (load both BLAS libraries before asking)
    import scipy.linalg  # noqa: F401

    found = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    rows = [
        f"{os.path.basename(i['filepath'])} {i.get('version')} {i.get('architecture')} ({i['num_threads']} threads)"
        for i in found
    ]
    if cpu_has_avx512() and any(i.get("architecture") in AVX2_CORES for i in found):
        rows.append("AVX2 kernels on a CPU with AVX-512: compare --openblas-coretype SkylakeX")
    return "; ".join(rows) or "no OpenBLAS found by threadpoolctl"


#: OpenBLAS kernel sets that stop at AVX2 (on an AVX-512 CPU, a sign of a CPU it did not recognize).
AVX2_CORES = ("Haswell", "Zen", "Sandybridge")


def cpu_has_avx512():
    """Whether the CPU reports AVX-512F (Linux's /proc/cpuinfo; False where it cannot tell)."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def worker(args):
    import numpy as np

    import riemannopt

    result = {
        "blas": blas_info(),
        "cores": sorted(os.sched_getaffinity(0)),
        "products": {},
        "gemm": {},
        "riemannopt": os.path.dirname(riemannopt.__file__),
    }
    for dtype in args.dtypes:
        times, in_blas, agreement = product_times(
            np.dtype(dtype), args.batch, args.repeats, args.seed, peers=not args.riemannopt_only
        )
        result["products"][dtype] = {"times": times, "in_blas": in_blas, "agreement": agreement}
        if not args.riemannopt_only:
            rates = gemm_rates(np.dtype(dtype), args.repeats)
            result["gemm"][dtype] = [[label, lib, *rate] for (label, lib), rate in rates.items()]
    print(json.dumps(result))


# -- parent: one subprocess per thread count, then the tables --------------------------------


def thread_env(threads, coretype):
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    flags = env.get("XLA_FLAGS", "")
    if threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env["XLA_FLAGS"] = flags.strip()
    env["JAX_PLATFORMS"] = "cpu"
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def run_worker(threads, args, riemannopt_from=None):
    """One worker process; ``riemannopt_from``: a directory holding the riemannopt package to
    time (riemannopt alone), instead of the importable one (riemannopt and its peers)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < threads:
        raise SystemExit(f"{threads} threads asked for, {len(cores)} cores available")
    argv = [
        sys.executable,
        __file__,
        "--worker",
        "--batch",
        str(args.batch),
        "--repeats",
        str(args.repeats),
        "--seed",
        str(args.seed),
        "--dtypes",
        *args.dtypes,
    ]
    env = thread_env(threads, args.openblas_coretype)
    if riemannopt_from is not None:
        argv.append("--riemannopt-only")
        env["PYTHONPATH"] = os.pathsep.join([riemannopt_from, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cores[:threads]),
    )
    if out.returncode:
        raise SystemExit(f"worker with {threads} thread(s) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_products(threads, result, args):
    """The product table; CPU times only at one thread (with more they add up every thread's,
    OpenBLAS's spin-waiting included, and stop meaning compute time)."""
    single = threads == 1
    print(f"\n## {threads} thread(s) on cores {result['cores']}: {result['blas']}")
    if single:
        print(f"batch {args.batch}, ms: wall time min (median) [process CPU time min] of {args.repeats} repeats;")
        print(
            "in BLAS: least CPU time of riemannopt's call inside BLAS gemm; "
            "ratio = riemannopt / JAX of the wall-time minima [of the CPU-time minima]"
        )
    else:
        print(
            f"batch {args.batch}, ms: wall time min (median) of {args.repeats} repeats; "
            "ratio = riemannopt / JAX of the minima"
        )
    width = 24 if single else 16
    header = (
        f"{'dtype':<9}{'product':<28}{'riemannopt':>{width}}{'in BLAS' if single else '':>9}"
        f"{'JAX':>{width}}{'ratio':>14}"
    )
    print(header)
    print("-" * len(header))
    for dtype, entry in result["products"].items():
        times = entry["times"]
        for name, t in times.items():
            if name.endswith("[jax]"):
                continue
            theirs, ratio = "", ""
            if f"{name} [jax]" in times:
                j = times[f"{name} [jax]"]
                theirs = _cell(j, single)
                ratio = f"{t[0] / j[0]:.2f}" + (f" [{t[2] / j[2]:.2f}]" if single else "")
            blas = f"{1e3 * entry['in_blas'][name]:.1f}" if single else ""
            print(f"{dtype:<9}{name:<28}{_cell(t, single):>{width}}{blas:>9}{theirs:>{width}}{ratio:>14}")
        if entry["agreement"]:
            print(
                f"{dtype:<9}relative difference riemannopt vs JAX: "
                + ", ".join(f"{k} {d:.1e}" for k, d in entry["agreement"].items())
            )


def _cell(t, single):
    wall_min, wall_median, cpu_min = t
    text = f"{1e3 * wall_min:.2f} ({1e3 * wall_median:.1f})"
    return text + (f" [{1e3 * cpu_min:.1f}]" if single else "")


def print_gemms(threads, result):
    single = threads == 1
    print(
        f"\nGEMM GFLOP/s by wall time{' / per CPU second' if single else ''}, {threads} thread(s) "
        "(numpy: numpy.matmul; scipy: scipy.linalg.blas, the backend's path; xla: jax.jit(jnp.matmul))"
    )
    for dtype, rows in result["gemm"].items():
        by_label = {}
        for label, lib, rate, cpu_rate in rows:
            by_label.setdefault(label, {})[lib] = f"{rate:6.1f}" + (f"/{cpu_rate:6.1f}" if single else "")
        for label, rates in by_label.items():
            cells = "  ".join(f"{lib} {rate}" for lib, rate in rates.items())
            print(f"{dtype:<9}{label:<26}{cells}")


def compare(args):
    """riemannopt from ``args.baseline`` against this checkout's, one thread, process CPU time
    (minima over ``args.rounds`` alternating pairs of processes)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    best, where = {}, {}
    for _ in range(args.rounds):
        for label, path in (("baseline", os.path.abspath(args.baseline)), ("this checkout", here)):
            result = run_worker(1, args, riemannopt_from=path)
            where[label] = result["riemannopt"]
            for dtype, entry in result["products"].items():
                for name, (_, _, cpu) in entry["times"].items():
                    key = (label, dtype, name)
                    best[key] = min(best.get(key, cpu), cpu)
    print(f"one thread, {result['blas']}; process CPU time, min over {args.rounds} × {args.repeats} calls, ms")
    for label, path in where.items():
        print(f"{label}: {path}")
    print(f"{'dtype':<9}{'product':<28}{'baseline':>10}{'this':>10}{'speed-up':>10}")
    for (label, dtype, name), cpu in best.items():
        if label == "baseline":
            now = best[("this checkout", dtype, name)]
            print(f"{dtype:<9}{name:<28}{1e3 * cpu:>10.1f}{1e3 * now:>10.1f}{cpu / now:>10.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--openblas-coretype",
        default=os.environ.get("OPENBLAS_CORETYPE"),
        help="OPENBLAS_CORETYPE for the workers (default: OpenBLAS's own choice)",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="instead: time riemannopt from DIR (a directory holding another version of the "
        "riemannopt package) against this checkout's, one thread, alternating processes",
    )
    parser.add_argument("--rounds", type=int, default=3, help="process pairs of --baseline (default 3)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--riemannopt-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.baseline:
        return compare(args)
    results = {threads: run_worker(threads, args) for threads in args.threads}
    for threads, result in results.items():
        print_products(threads, result, args)
        print_gemms(threads, result)
    if not any(entry["agreement"] for r in results.values() for entry in r["products"].values()):
        print("\nJAX not importable: the JAX columns are empty.")


if __name__ == "__main__":
    main()
