"""GPU cost of the neural-network products (issue 10): riemannopt's CUDA backend, PyTorch, JAX.

Networks: the deep auto-encoders of the paper (Hinton & Salakhutdinov 2006; Martens 2010),
CURVES 784-400-200-100-50-25-6-25-50-100-200-400-784 and MNIST
784-1000-500-250-30-250-500-1000-784, sigmoid units everywhere (output included), binary
cross-entropy, sparse initialization, a batch of random inputs in [0, 1] reconstructed as
targets; batches 5000 and 7500; float32 and float64.

Sections (each prints a note and goes on when something it needs is missing):

``gemm``
    Every matrix product of a gradient pass (per layer: forward NT ``a Wᵀ``, backward TN
    ``D(s)ᵀ a`` and NN ``D(s) W``) with the backend's own kernels and with cuBLAS (through
    CuPy): GFLOP/s per shape, and the time of all of a pass's products together.
``products``
    Gradient, Fisher-vector and connection-vector products.  riemannopt with each GEMM path
    (``cublas`` when CuPy works, and the own ``numba`` kernels), called on the backend
    directly (input validation, done once per linearization in practice, is left out);
    "one-shot" products include their forward pass, like the PyTorch (``torch.func`` jvp/vjp,
    eager) and JAX (``jax.jit`` of jvp/vjp) versions of ``bench_nn_products.py``; the
    "stored fwd" rows reuse one forward pass, as truncated CG does.  Prints the ratios
    product / gradient (target: connection_vp ≤ 2 gradients) and riemannopt / PyTorch
    (target ≤ 1), the relative differences between the libraries' results, and the host's
    share of each call ("host ms": launches and Python until the call returns; a product whose
    median is close to it is bound by the host, not by the GPU).
``train``
    One iteration of ``riemannopt.nn.train`` per method on the GPU, when ``riemannopt.nn.train``
    exists.

Timing: ``synchronize`` (numba, torch, CuPy) or ``block_until_ready`` (JAX) before starting
and after each call, wall-clock ``perf_counter``; warm-up calls first (the first riemannopt
call of a dtype compiles its kernels: about a minute); the median (and minimum) over repeats.
float32 products run without TF32 in every library (PyTorch's default; JAX is set to
``highest`` matmul precision; CuPy's default).  JAX is told not to preallocate GPU memory.

Run::

    python bench/bench_nn_gpu.py --json gpu.json                     # everything
    python bench/bench_nn_gpu.py --networks curves --sections products --json curves.json
    python bench/bench_nn_gpu.py --quick                             # smoke test
"""

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # before JAX can be imported

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from riemannopt.nn import MLP, Layout  # noqa: E402

NETWORKS = {
    "curves": [784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784],
    "mnist": [784, 1000, 500, 250, 30, 250, 500, 1000, 784],
}
PRODUCTS = ("gradient", "fisher_vp", "connection_vp")
NOTES = []


def note(text):
    print(f"note: {text}")
    NOTES.append(text)


def optional(name):
    """The module ``name``, or None (with a note) when it cannot be imported."""
    try:
        return __import__(name, fromlist=["_"])
    except Exception as exc:  # ImportError, or a CUDA error raised while the library loads
        note(f"{name} not usable ({type(exc).__name__}: {exc}); its columns are skipped")
        return None


def timed(fn, sync, repeats, warmup):
    """``{"median_ms", "min_ms", "host_ms"}`` of ``fn`` with the device synchronized around
    each call; ``host_ms`` is the median time until ``fn`` returns, before the final
    synchronization: the host's share (launches, Python), which the device's work overlaps."""
    for _ in range(warmup):
        fn()
        sync()
    times, host = [], []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        host.append(time.perf_counter() - t0)
        sync()
        times.append(time.perf_counter() - t0)
    return {
        "median_ms": 1e3 * statistics.median(times),
        "min_ms": 1e3 * min(times),
        "host_ms": 1e3 * statistics.median(host),
    }


def numba_sync():
    from numba import cuda

    cuda.synchronize()


def environment():
    info = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.node()}
    try:
        import numba
        import numba_cuda
        from numba import cuda

        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        info.update(
            numba=numba.__version__,
            numba_cuda=getattr(numba_cuda, "__version__", "?"),
            device=name,
            compute_capability=".".join(map(str, dev.compute_capability)),
            multiprocessors=int(dev.MULTIPROCESSOR_COUNT),
        )
    except Exception as exc:
        info["device_error"] = f"{type(exc).__name__}: {exc}"
    for lib in ("cupy", "torch", "jax"):
        try:
            info[lib] = __import__(lib).__version__
        except Exception:
            info[lib] = None
    return info


def problem(sizes, dtype, batch, seed=0):
    rng = np.random.default_rng(seed)
    net = MLP(sizes, ["sigmoid"] * (len(sizes) - 1), "bce", dtype=dtype)
    theta = net.init(seed)
    X = rng.uniform(0, 1, (batch, sizes[0])).astype(dtype)
    v = (1e-2 * rng.standard_normal(net.n_params)).astype(dtype)
    return theta, X, v


# -- GEMMs -----------------------------------------------------------------------------------


def gemm_shapes(sizes, batch):
    """``[(kind, M, N, K, count)]``: the products of one gradient pass (forward and backward)."""
    found = {}
    for i, (k, m) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes = [("NT", batch, m, k), ("TN", m, k, batch)]
        if i:
            shapes.append(("NN", batch, k, m))
        for shape in shapes:
            found[shape] = found.get(shape, 0) + 1
    return [shape + (count,) for shape, count in found.items()]


def gemm_section(args, results):
    from numba import cuda

    from riemannopt.nn.backends.cuda.gemm import make_gemm

    print("\n== GEMMs: own tiled kernels vs cuBLAS (GFLOP/s; pass = every product of a gradient) ==")
    for dtype in args.dtypes:
        impls = {"numba": make_gemm("numba", dtype)}
        try:
            impls["cublas"] = make_gemm("cublas", dtype)
        except Exception as exc:
            note(f"cuBLAS GEMMs unavailable ({exc})")
        for name in args.networks:
            for batch in args.batches:
                rng = np.random.default_rng(0)
                totals = {impl: 0.0 for impl in impls}
                flops_total = 0.0
                print(f"\n{name} {dtype} batch {batch}")
                print(
                    f"{'kind':<5}{'M':>7}{'N':>7}{'K':>7}{'×':>3}" + "".join(f"{impl + ' GF/s':>14}" for impl in impls)
                )
                for kind, M, N, K, count in gemm_shapes(NETWORKS[name], batch):
                    ta, tb = kind[0] == "T", kind[1] == "T"
                    A = cuda.to_device(rng.standard_normal((K, M) if ta else (M, K)).astype(dtype))
                    B = cuda.to_device(rng.standard_normal((N, K) if tb else (K, N)).astype(dtype))
                    C = cuda.device_array((M, N), dtype=dtype)
                    flops = 2.0 * M * N * K
                    flops_total += count * flops
                    row = {
                        "network": name,
                        "dtype": dtype,
                        "batch": batch,
                        "kind": kind,
                        "M": M,
                        "N": N,
                        "K": K,
                        "count": count,
                    }
                    line = f"{kind:<5}{M:>7}{N:>7}{K:>7}{count:>3}"
                    for impl, gemm in impls.items():
                        t = timed(lambda: gemm(A, B, C, ta, tb), numba_sync, args.repeats, args.warmup)
                        totals[impl] += count * t["median_ms"]
                        row[impl] = dict(t, gflops=flops / (1e-3 * t["median_ms"]) / 1e9)
                        line += f"{row[impl]['gflops']:>14.0f}"
                    print(line)
                    results["gemm"].append(row)
                line = f"{'pass':<29}" + "".join(
                    f"{flops_total / (1e-3 * totals[impl]) / 1e9:>14.0f}" for impl in impls
                )
                print(line + "   (" + ", ".join(f"{impl} {totals[impl]:.2f} ms" for impl in impls) + ")")
                results["gemm_pass"].append(
                    {
                        "network": name,
                        "dtype": dtype,
                        "batch": batch,
                        "gflop": flops_total / 1e9,
                        **{f"{impl}_ms": totals[impl] for impl in impls},
                    }
                )


# -- products --------------------------------------------------------------------------------


def riemannopt_fns(sizes, dtype, theta, X, v, gemm):
    """Timed functions and result values of the CUDA backend with GEMM option ``gemm``."""
    net = MLP(sizes, ["sigmoid"] * (len(sizes) - 1), "bce", dtype=dtype, backend="cuda", backend_options={"gemm": gemm})
    be = net.backend
    th, Xd, vd = be.asarray(theta, "theta"), be.asarray(X, "X"), be.asarray(v, "v")
    fwd = be.forward(th, Xd)
    fns = {
        "gradient": lambda: be.gradient(be.forward(th, Xd), Xd),
        "fisher_vp": lambda: be.fisher_vp(be.forward(th, Xd), vd),
        "connection_vp": lambda: be.connection_vp(be.forward(th, Xd), vd),
        "fisher_vp (stored fwd)": lambda: be.fisher_vp(fwd, vd),
        "connection_vp (stored fwd)": lambda: be.connection_vp(fwd, vd),
    }
    values = {
        "gradient": be.to_numpy(be.gradient(fwd, Xd)),
        "fisher_vp": be.to_numpy(be.fisher_vp(fwd, vd)),
        "connection_vp": be.to_numpy(be.connection_vp(fwd, vd)),
    }
    return f"riemannopt[{be.gemm.name}]", fns, values, numba_sync


def torch_fns(torch, sizes, dtype, theta, X, v):
    from torch.func import grad, jvp, vjp

    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):  # PyTorch ≥ 2.9
        matmul.fp32_precision = "ieee"
    else:
        matmul.allow_tf32 = False
    dev = torch.device("cuda")
    tdtype = torch.float64 if dtype == "float64" else torch.float32

    def tensors(flat):
        return tuple(
            torch.as_tensor(np.ascontiguousarray(p), dtype=tdtype, device=dev)
            for Wb in Layout(sizes).views(flat)
            for p in Wb
        )

    params, tangent = tensors(theta), tensors(v)
    Xt = torch.as_tensor(X, dtype=tdtype, device=dev)
    n = len(X)

    def logits(p):
        a = Xt
        for i in range(0, len(p) - 2, 2):
            a = torch.sigmoid(a @ p[i].T + p[i + 1])
        return a @ p[-2].T + p[-1]

    def loss(p):
        return torch.nn.functional.binary_cross_entropy_with_logits(logits(p), Xt, reduction="sum") / n

    def fisher_vp():
        s, rs = jvp(logits, (params,), (tangent,))
        y = torch.sigmoid(s)
        _, pullback = vjp(logits, params)
        return pullback(y * (1 - y) * rs / n)[0]

    def connection_vp():
        def r_logits(p):
            return jvp(logits, (p,), (tangent,))

        (s, rs), (_, ss) = jvp(r_logits, (params,), (tangent,))
        y = torch.sigmoid(s)
        _, pullback = vjp(logits, params)
        return pullback(y * (1 - y) * (ss + (0.5 - y) * rs**2) / n)[0]

    gradient = grad(loss)
    fns = {"gradient": lambda: gradient(params), "fisher_vp": fisher_vp, "connection_vp": connection_vp}
    with torch.no_grad():
        values = {k: torch.cat([t.reshape(-1) for t in fn()]).cpu().numpy() for k, fn in fns.items()}
    return "torch.func", fns, values, torch.cuda.synchronize


def jax_fns(jax, sizes, dtype, theta, X, v):
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    gpu = jax.devices("gpu")[0]
    put = lambda a: jax.device_put(jnp.asarray(a, dtype=dtype), gpu)  # noqa: E731
    params = [(put(W), put(b)) for W, b in Layout(sizes).views(theta)]
    tangent = [(put(W), put(b)) for W, b in Layout(sizes).views(v)]
    Xj = put(X)
    n = len(X)

    def logits(p):
        a = Xj
        for W, b in p[:-1]:
            a = jax.nn.sigmoid(a @ W.T + b)
        W, b = p[-1]
        return a @ W.T + b

    def loss(p):
        s = logits(p)
        return jnp.sum(jnp.logaddexp(0, s) - Xj * s) / n

    @jax.jit
    def fisher_vp(p, t):
        s, rs = jax.jvp(logits, (p,), (t,))
        y = jax.nn.sigmoid(s)
        _, pullback = jax.vjp(logits, p)
        return pullback(y * (1 - y) * rs / n)[0]

    @jax.jit
    def connection_vp(p, t):
        (s, rs), (_, ss) = jax.jvp(lambda q: jax.jvp(logits, (q,), (t,)), (p,), (t,))
        y = jax.nn.sigmoid(s)
        _, pullback = jax.vjp(logits, p)
        return pullback(y * (1 - y) * (ss + (0.5 - y) * rs**2) / n)[0]

    gradient = jax.jit(jax.grad(loss))
    fns = {
        "gradient": lambda: jax.block_until_ready(gradient(params)),
        "fisher_vp": lambda: jax.block_until_ready(fisher_vp(params, tangent)),
        "connection_vp": lambda: jax.block_until_ready(connection_vp(params, tangent)),
    }

    def flat(tree):
        return np.concatenate([np.concatenate([np.asarray(W).ravel(), np.asarray(b)]) for W, b in tree])

    values = {k: flat(fn()) for k, fn in fns.items()}
    return "jax.jit", fns, values, lambda: None


def products_section(args, results):
    print("\n== Products (median ms; ×grad = / the same library's one-shot gradient) ==")
    torch = optional("torch") if not args.no_torch else None
    if torch is not None and not torch.cuda.is_available():
        note("PyTorch has no CUDA device; its columns are skipped")
        torch = None
    jax = optional("jax") if not args.no_jax else None
    if jax is not None:
        try:
            jax.devices("gpu")
        except Exception as exc:
            note(f"JAX has no GPU ({exc}); its columns are skipped")
            jax = None
    gemms = ["auto", "numba"]
    for name in args.networks:
        sizes = NETWORKS[name]
        for dtype in args.dtypes:
            for batch in args.batches:
                theta, X, v = problem(sizes, dtype, batch)
                libraries = []
                for gemm in gemms:
                    try:
                        libraries.append(riemannopt_fns(sizes, dtype, theta, X, v, gemm))
                    except Exception as exc:
                        note(f"riemannopt gemm={gemm} failed on {name} {dtype} {batch}: {exc!r}")
                        traceback.print_exc()
                if len(libraries) == 2 and libraries[0][0] == libraries[1][0]:
                    libraries.pop()  # "auto" fell back to the own kernels: one row is enough
                for lib, make in (("torch", torch), ("jax", jax)):
                    if make is None:
                        continue
                    try:
                        libraries.append((torch_fns if lib == "torch" else jax_fns)(make, sizes, dtype, theta, X, v))
                    except Exception as exc:
                        note(f"{lib} failed on {name} {dtype} {batch}: {exc!r}")
                        traceback.print_exc()
                print(f"\n{name} {dtype} batch {batch}")
                print(
                    f"{'library':<20}{'product':<28}{'median ms':>10}{'min ms':>9}{'host ms':>9}{'×grad':>7}"
                    f"{'×torch':>8}{'×jax':>7}"
                )
                table = {}
                for label, fns, _, sync in libraries:
                    for product, fn in fns.items():
                        table[(label, product)] = timed(fn, sync, args.repeats, args.warmup)
                for label, fns, _, _ in libraries:
                    grad_ms = table[(label, "gradient")]["median_ms"]
                    for product in fns:
                        t = table[(label, product)]
                        row = {
                            "network": name,
                            "dtype": dtype,
                            "batch": batch,
                            "library": label,
                            "product": product,
                            **t,
                            "x_gradient": t["median_ms"] / grad_ms,
                        }
                        cells = ""
                        for peer, key, width in (("torch.func", "x_torch", 8), ("jax.jit", "x_jax", 7)):
                            other = table.get((peer, product))
                            if other is not None and label.startswith("riemannopt"):
                                row[key] = t["median_ms"] / other["median_ms"]
                                cells += f"{row[key]:>{width}.2f}"
                            else:
                                cells += " " * width
                        print(
                            f"{label:<20}{product:<28}{t['median_ms']:>10.2f}{t['min_ms']:>9.2f}"
                            f"{t['host_ms']:>9.2f}{row['x_gradient']:>7.2f}{cells}"
                        )
                        results["products"].append(row)
                base_label, _, base_values, _ = libraries[0]
                for label, _, values, _ in libraries[1:]:
                    diffs = {
                        k: float(np.linalg.norm(values[k] - base_values[k]) / np.linalg.norm(base_values[k]))
                        for k in PRODUCTS
                    }
                    print(
                        f"{label} vs {base_label}: relative difference "
                        + ", ".join(f"{k} {d:.1e}" for k, d in diffs.items())
                    )
                    results["agreement"].append(
                        {
                            "network": name,
                            "dtype": dtype,
                            "batch": batch,
                            "library": label,
                            "against": base_label,
                            **diffs,
                        }
                    )
                del libraries, table
                gc.collect()
                if torch is not None:
                    torch.cuda.empty_cache()


# -- training ---------------------------------------------------------------------------------


def train_section(args, results):
    print("\n== One iteration of riemannopt.nn.train per method (median ms) ==")
    try:
        import riemannopt.nn as rnn
        from riemannopt.nn import train
    except ImportError as exc:
        note(f"riemannopt.nn.train is not importable ({exc}); training section skipped")
        return
    methods = getattr(rnn, "TRAIN_METHODS", None) or ("ng", "mid", "geo", "geof", "perturb", "adam")
    for name in args.networks:
        sizes = NETWORKS[name]
        for dtype in args.dtypes:
            batch = args.batches[0]
            theta, X, _ = problem(sizes, dtype, batch)
            net = MLP(sizes, ["sigmoid"] * (len(sizes) - 1), "bce", dtype=dtype, backend="cuda")
            Xd = net.backend.asarray(X, "X")
            print(f"\n{name} {dtype} batch {batch} (gemm={net.backend.gemm.name})")
            for method in methods:
                try:
                    t = timed(
                        lambda: train(net, Xd, Xd, method, 1, seed=0, max_cg=args.train_max_cg),
                        numba_sync,
                        args.train_repeats,
                        1,
                    )
                except Exception as exc:
                    note(f"train {method} failed on {name} {dtype}: {type(exc).__name__}: {exc}")
                    continue
                print(f"{method:<10}{t['median_ms']:>10.1f}{t['min_ms']:>10.1f}")
                results["train"].append({"network": name, "dtype": dtype, "batch": batch, "method": method, **t})


def summary(results):
    """Target lines: connection / gradient ≤ 2 and riemannopt / torch ≤ 1."""
    rows = [r for r in results["products"] if r["library"].startswith("riemannopt")]
    if not rows:
        return
    print("\n== Targets ==")
    for r in rows:
        if r["product"] == "connection_vp":
            print(
                f"{r['network']} {r['dtype']} {r['batch']} {r['library']}: connection_vp/gradient "
                f"{r['x_gradient']:.2f} (target ≤ 2)"
            )
    for r in rows:
        if "x_torch" in r:
            print(
                f"{r['network']} {r['dtype']} {r['batch']} {r['library']} {r['product']}: "
                f"riemannopt/torch {r['x_torch']:.2f} (target ≤ 1)"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--batches", nargs="+", type=int, default=[5000, 7500])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument(
        "--sections", nargs="+", default=["gemm", "products", "train"], choices=["gemm", "products", "train"]
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--train-repeats", type=int, default=3)
    parser.add_argument(
        "--train-max-cg", type=int, default=50, help="CG iteration cap of the timed training iterations"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--no-jax", action="store_true", help="skip JAX")
    parser.add_argument("--quick", action="store_true", help="CURVES, batch 5000, 5 repeats: a smoke test")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.networks, args.batches, args.repeats, args.warmup, args.train_repeats = ["curves"], [5000], 5, 2, 1

    results = {
        "environment": environment(),
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "gemm": [],
        "gemm_pass": [],
        "products": [],
        "agreement": [],
        "train": [],
        "notes": NOTES,
    }
    print(json.dumps(results["environment"], indent=1))
    try:
        from riemannopt.nn.backends import get_backend

        get_backend("cuda")
    except Exception as exc:
        note(f"the cuda backend is not available here: {exc}")
        args.sections = []
    started = time.perf_counter()
    for section, run in (("gemm", gemm_section), ("products", products_section), ("train", train_section)):
        if section in args.sections:
            try:
                run(args, results)
            except Exception as exc:
                note(f"section {section} stopped: {type(exc).__name__}: {exc}")
                traceback.print_exc()
    summary(results)
    results["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
