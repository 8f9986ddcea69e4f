"""Cost of Fisher- and connection-vector products relative to a gradient (paper §5, App. C).

Networks: the CURVES deep auto-encoder of Hinton & Salakhutdinov (2006) / Martens (2010),
784-400-200-100-50-25-6-25-50-100-200-400-784, and a shrunken 196-100-50-25-6-25-50-100-196
version; sigmoid units everywhere (output included), binary cross-entropy, sparse
initialization, a batch of random inputs in [0, 1] reconstructed as targets.

For each product the script times the one-shot method (forward pass included, like the
gradient it is compared with) and the product on a stored linearization (the forward pass
reused, as truncated CG does); each time is the minimum over repeats (the median is printed
too).  The targets of paper Appendix C: Fisher-vector product ≤ 2 gradients, connection-vector
product ≤ 3 gradients.  If PyTorch is importable the same products are also timed through
``torch.func`` (jvp/vjp, forward-over-forward for the second directional derivative) as a peer
baseline; PyTorch is not a dependency.

Run::

    python bench/bench_nn_products.py                 # both networks, float64 and float32
    python bench/bench_nn_products.py --batch 1000 --repeats 9
"""

import argparse
import os
import statistics
import time

import numpy as np

from riemannopt.nn import MLP

NETWORKS = {
    "curves": [784, 400, 200, 100, 50, 25, 6, 25, 50, 100, 200, 400, 784],
    "curves-small": [196, 100, 50, 25, 6, 25, 50, 100, 196],
}


def timeit(fns, repeats):
    """``{name: (min, median)}`` seconds; the functions are interleaved within each repeat so
    that load from other processes falls on all of them alike."""
    for fn in fns.values():
        fn()  # warm-up (allocations, BLAS threads)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def numpy_timings(sizes, dtype, batch, repeats, seed):
    net = MLP(sizes, ["sigmoid"] * (len(sizes) - 1), "bce", dtype=dtype)
    rng = np.random.default_rng(seed)
    theta = net.init(seed)
    X = rng.uniform(0, 1, (batch, sizes[0])).astype(dtype)
    v = (1e-2 * rng.standard_normal(net.n_params)).astype(dtype)
    state = net.linearize(theta, X)
    return (
        net,
        timeit(
            {
                "gradient": lambda: net.gradient(theta, X, X),
                "fisher_vp": lambda: net.fisher_vp(theta, X, v),
                "fisher_vp (stored fwd)": lambda: state.fisher_vp(v),
                "connection_vp": lambda: net.connection_vp(theta, X, v),
                "connection_vp (stored fwd)": lambda: state.connection_vp(v),
            },
            repeats,
        ),
        (theta, X, v),
    )


def torch_timings(net, theta, X, v, repeats):
    """The same products with torch.func: ``(timings, {product: flat value})``, or None when
    PyTorch is not importable."""
    try:
        import torch
        from torch.func import grad, jvp, vjp
    except ImportError:
        return None
    dtype = torch.float64 if theta.dtype == np.float64 else torch.float32

    def tensors(flat):
        blocks = [p for Wb in net.unflatten(flat) for p in Wb]
        return tuple(torch.as_tensor(np.ascontiguousarray(p), dtype=dtype) for p in blocks)

    params, tangent = tensors(theta), tensors(v)
    Xt = torch.as_tensor(X, dtype=dtype)

    def logits(p):
        a = Xt
        for i in range(0, len(p) - 2, 2):
            a = torch.sigmoid(a @ p[i].T + p[i + 1])
        return a @ p[-2].T + p[-1]

    def loss(p):
        return torch.nn.functional.binary_cross_entropy_with_logits(logits(p), Xt, reduction="sum") / len(Xt)

    def fisher_vp():
        s, rs = jvp(logits, (params,), (tangent,))
        y = torch.sigmoid(s)
        _, pullback = vjp(logits, params)
        return pullback(y * (1 - y) * rs / len(Xt))[0]

    def connection_vp():
        def r_logits(p):
            return jvp(logits, (p,), (tangent,))

        (s, rs), (_, ss) = jvp(r_logits, (params,), (tangent,))
        y = torch.sigmoid(s)
        _, pullback = vjp(logits, params)
        return pullback(y * (1 - y) * (ss + (0.5 - y) * rs**2) / len(Xt))[0]

    gradient = grad(loss)
    fns = {"gradient": lambda: gradient(params), "fisher_vp": fisher_vp, "connection_vp": connection_vp}
    with torch.no_grad():
        values = {name: torch.cat([t.reshape(-1) for t in fn()]).numpy() for name, fn in fns.items()}
        return timeit(fns, repeats), values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    print(f"batch {args.batch}, min (median) of {args.repeats} repeats, times in ms, BLAS threads: {threads}")
    print("ratio = min time / min gradient time of the same backend (targets: Fisher ≤ 2, connection ≤ 3)")
    header = f"{'network':<14}{'dtype':<9}{'product':<28}{'min ms':>9}{'median ms':>11}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name in args.networks:
        sizes = NETWORKS[name]
        for dtype in args.dtypes:
            net, times, (theta, X, v) = numpy_timings(sizes, np.dtype(dtype), args.batch, args.repeats, args.seed)
            rows = [("numpy", times)]
            torch_result = torch_timings(net, theta, X, v, args.repeats)
            if torch_result is not None:
                torch_times, torch_values = torch_result
                rows.append(("torch.func", torch_times))
                ours = {
                    "gradient": net.gradient(theta, X, X),
                    "fisher_vp": net.fisher_vp(theta, X, v),
                    "connection_vp": net.connection_vp(theta, X, v),
                }
                agreement = ", ".join(
                    f"{k} {np.linalg.norm(ours[k] - torch_values[k]) / np.linalg.norm(ours[k]):.1e}" for k in ours
                )
                print(f"{name:<14}{dtype:<9}numpy vs torch.func relative difference: {agreement}")
            for backend, table in rows:
                base = table["gradient"][0]
                for product, (t_min, t_med) in table.items():
                    label = product if backend == "numpy" else f"{product} [torch]"
                    print(f"{name:<14}{dtype:<9}{label:<28}{1e3 * t_min:>9.2f}{1e3 * t_med:>11.2f}{t_min / base:>8.2f}")
            print()
    if torch_result is None:
        print("PyTorch not importable: torch.func comparison skipped.")


if __name__ == "__main__":
    main()
