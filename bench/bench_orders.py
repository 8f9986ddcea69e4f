"""Benchmark the Theorem-1 table against a plain numpy/scipy implementation.

The table: the six pairs of the paper (ng→exact, mid→exact, re→exact, ng→re, geo→re,
geof→re) × the four Gamma parameterizations of §7.1 × four step counts (16, 32, 64, 128) at
T = 2.  Both sides compute each reference run once per step count and report the fitted orders,
which must agree.  riemannopt is timed warm (compiled code loaded from the cache) and the
one-off cost of deriving and compiling is reported separately.

Run:  python bench/bench_orders.py
"""

import argparse
import time

import numpy as np
from baseline import baseline_exact, baseline_run, lambdified

import riemannopt as ro
from riemannopt.analysis import fit_order
from riemannopt.experiments import theorem1_table

PAIRS = (
    ("ng", "exact", 1),
    ("mid", "exact", 2),
    ("re", "exact", 1),
    ("ng", "re", 1),
    ("geo", "re", 2),
    ("geof", "re", 2),
)


def baseline_table(problem, x0, T, steps_list):
    fns = lambdified(problem)
    memo = {}

    def end(method, s):
        if (method, s) not in memo:
            if method == "exact":
                memo[method, s] = baseline_exact(fns, x0, T / s, s)[-1]
            else:
                memo[method, s] = baseline_run(fns, method, x0, T / s, s)[0][-1]
        return memo[method, s]

    h = T / np.asarray(steps_list)
    return [fit_order(h, [np.linalg.norm(end(m, s) - end(r, s)) for s in steps_list]) for m, r, _ in PAIRS]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--T", type=float, default=2.0)
    ap.add_argument("--steps", default="16,32,64,128")
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    base = ro.models.gamma_mle(ro.models.gamma_data())
    x0 = np.array([1.0, 1.0])

    t = time.perf_counter()
    problems = {r: base.reparameterize(*ro.models.GAMMA_REPARAMS[r]) for r in ro.models.GAMMA_REPARAMS}
    compiled = {r: P.compile() for r, P in problems.items()}
    for C in compiled.values():
        ro.optimize(C, "re", x0, 0.5, 1)
        ro.optimize(C, "exact", x0, 0.5, 1)
    setup = time.perf_counter() - t

    t = time.perf_counter()
    ours = {r: theorem1_table(C, x0, T=args.T, steps_list=steps, pairs=PAIRS).studies for r, C in compiled.items()}
    t_ro = time.perf_counter() - t

    t = time.perf_counter()
    theirs = {r: baseline_table(P, x0, args.T, steps) for r, P in problems.items()}
    t_np = time.perf_counter() - t

    print(
        f"Theorem-1 table: {len(PAIRS)} pairs × {len(problems)} parameterizations × {len(steps)} step counts, T = {args.T}"
    )
    print(f"{'parameterization':<18}" + "".join(f"{m + '→' + r:>11}" for m, r, _ in PAIRS))
    for r in problems:
        print(f"{r:<18}" + "".join(f"{st.order:>11.3f}" for st in ours[r]) + "   riemannopt")
        print(f"{'':<18}" + "".join(f"{o:>11.3f}" for o in theirs[r]) + "   numpy/scipy")
    print(f"\nriemannopt (warm): {t_ro:.2f} s   numpy/scipy: {t_np:.1f} s   speed-up: {t_np / t_ro:.0f}×")
    print(f"one-off setup of riemannopt (derive/compile or load from cache, first calls): {setup:.1f} s")


if __name__ == "__main__":
    main()
