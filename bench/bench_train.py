"""Time per training iteration of mid, geo and geof relative to ng (paper §7.2; issue 9).

Every method starts from the same state — a network trained for ``--warmup`` iterations of ``ng``
(so that λ and the CG solves are in their working regime, not the heavily damped start) — and
runs ``--iters`` iterations on the same data; the methods are interleaved round-robin for
``--repeats`` rounds so that load from other processes falls on all of them alike, and each
method's time per iteration is the median over the rounds.  Times are processor time of this
process (``cpu_seconds``; run with ``OPENBLAS_NUM_THREADS=1`` on a shared machine) and wall time.

Two settings, because the cost of an iteration is mostly its CG steps, and those depend on the
method:

* **like-for-like**: every solve runs exactly ``--fixed-cg`` CG steps (Martens' stopping rule
  off: its window ``min_gap`` is the whole solve) and the corrections are always on (threshold
  ∞): the ratios are the methods' own overheads (a second solve and a second gradient for mid, a
  second solve for geo, a connection product for geof);
* **natural**: the defaults of ``riemannopt.nn.train`` (Martens' stopping rule, at most 50 steps
  per solve, the preset's damping threshold): what a user pays, CG steps included.

Paper's accounting (targets): geof ≤ 1.15 × ng, geo and mid ≤ 2.2 × ng.

Run::

    OPENBLAS_NUM_THREADS=1 python bench/bench_train.py
    OPENBLAS_NUM_THREADS=1 python bench/bench_train.py --preset spirals --repeats 5
"""

import argparse
import os
import statistics

from riemannopt.nn import get_preset, train

METHODS = ("ng", "mid", "geo", "geof")
TARGETS = {"ng": 1.0, "mid": 2.2, "geo": 2.2, "geof": 1.15}


def measure(preset, data, start, damping, setting, methods, iters, repeats, fixed_cg):
    """``{method: (cpu s/iter, wall s/iter, CG steps/iter, full-data forward passes/iter)}``, medians
    over interleaved rounds."""
    if setting == "like-for-like":
        opts = dict(threshold=float("inf"), max_cg=fixed_cg, cg_options=dict(min_gap=fixed_cg))
    else:
        opts = dict(threshold=preset.threshold)
    net = preset.network()
    per = {m: ([], [], [], []) for m in methods}
    for _ in range(repeats):
        for m in methods:
            h = train(
                net, data.X_train, data.T_train, m, iters, theta0=start, damping=damping, progress=False, **opts
            ).history
            per[m][0].append(h["cpu_seconds"][-1] / iters)
            per[m][1].append(h["seconds"][-1] / iters)
            per[m][2].append(h["cg_iterations"][1:].mean())
            per[m][3].append(h["evaluations"][1:].mean())
    return {m: tuple(statistics.median(v) for v in per[m]) for m in methods}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="curves-small")
    parser.add_argument("--warmup", type=int, default=15, help="ng iterations before timing (default: 15)")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per run (default: 10)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default: 3)")
    parser.add_argument("--fixed-cg", type=int, default=20, help="CG steps per solve, like-for-like (default: 20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    preset = get_preset(args.preset)
    data = preset.dataset(args.seed)
    warm = train(
        preset.network(),
        data.X_train,
        data.T_train,
        "ng",
        args.warmup,
        seed=args.seed,
        threshold=preset.threshold,
        progress=False,
    )
    damping = float(warm.history["damping"][-1])
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    print(
        f"{args.preset}: {data.n_train} examples, {preset.network().n_params} parameters, float32; start after "
        f"{args.warmup} ng iterations (λ = {damping:.3g}); {args.iters} iterations per run, median of "
        f"{args.repeats} interleaved rounds; BLAS threads: {threads}"
    )
    header = (
        f"{'setting':<15}{'method':<8}{'cpu ms/it':>10}{'ratio':>8}{'wall ms/it':>12}{'ratio':>8}"
        f"{'CG/it':>8}{'evals/it':>10}{'target':>9}"
    )
    print(header)
    print("-" * len(header))
    for setting in ("like-for-like", "natural"):
        times = measure(preset, data, warm.theta, damping, setting, METHODS, args.iters, args.repeats, args.fixed_cg)
        cpu0, wall0, _, _ = times["ng"]
        for m in METHODS:
            cpu, wall, cg, evals = times[m]
            mark = "" if m == "ng" else f"≤ {TARGETS[m]:g}"
            print(
                f"{setting:<15}{m:<8}{1e3 * cpu:>10.1f}{cpu / cpu0:>8.2f}{1e3 * wall:>12.1f}{wall / wall0:>8.2f}"
                f"{cg:>8.1f}{evals:>10.1f}{mark:>9}"
            )
        print()
    print(
        f"like-for-like: every solve {args.fixed_cg} CG steps, corrections always on; natural: train()'s "
        "defaults (Martens' stopping rule, ≤ 50 steps per solve, the preset's threshold).  evals: forward "
        "passes on the whole training set (CG-iterate backtracking, line search, mid's midpoint)."
    )


if __name__ == "__main__":
    main()
