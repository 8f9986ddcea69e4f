"""Benchmark the integrators against the numpy/scipy code a user would write without riemannopt.

Measures, in one run:

1. time per step of each method on the Gamma MLE problem (paper §7.1) against a plain Python
   loop of the same formulas using functions from ``sympy.lambdify(modules=["numpy", "scipy"])``,
   ``numpy.linalg.solve`` and ``numpy.einsum`` (and, for ``re``, scipy's ``solve_ivp``);
2. one exponential map: the jitted ``dop853`` and ``dopri`` integrators against ``solve_ivp`` (DOP853) with a
   plain Python right-hand side, at the same tolerances, with the accuracy of both reported;
3. wall time of the ``riemannopt gamma`` command, cold (empty cache) and warm.

Run:  python bench/bench_integrators.py
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from baseline import baseline_exp, baseline_run, best_time, lambdified

import riemannopt as ro


def bench_steps(C, fns, steps, base_steps, repeat):
    print(
        f"\n1. time per step on the Gamma problem (riemannopt: {steps} steps in one call, min of {repeat}; "
        f"baseline: {base_steps} steps)"
    )
    print(f"{'method':<8}{'riemannopt':>14}{'numpy/scipy':>14}{'speed-up':>11}{'max |Δx|':>11}")
    x0, lr = [1.0, 1.0], 0.5
    for m in ["gd", "ng", "mid", "geo", "geof", "re"]:
        ro.optimize(C, m, x0, lr, 2)  # compile (or load from cache) outside the timing
        t_ro = best_time(lambda: ro.optimize(C, m, x0, lr, steps), repeat) / steps
        t_np = best_time(lambda: baseline_run(fns, m, x0, lr, base_steps), max(1, repeat // 2)) / base_steps
        ours = ro.optimize(C, m, x0, lr, base_steps).x
        theirs, _ = baseline_run(fns, m, x0, lr, base_steps)
        print(
            f"{m:<8}{t_ro * 1e6:>12.2f}µs{t_np * 1e6:>12.1f}µs{t_np / t_ro:>10.0f}×{np.abs(ours - theirs).max():>11.1e}"
        )


def bench_expmap(C, fns, repeat):
    print("\n2. one exponential map on the Gamma problem, rtol 1e-12 / atol 1e-14")
    x = np.array([1.0, 1.0])
    v = 0.5 * C.direction(x)
    ref = ro.exp_map(C, x, v, rtol=1e-14, atol=1e-16)

    def err(y):
        return np.abs(y / ref - 1).max()

    rows = []
    for name, method in [
        ("riemannopt dop853 (jitted, default)", "dop853"),
        ("riemannopt dopri (jitted 5(4))", "dopri"),
    ]:
        rows.append(
            (
                name,
                best_time(lambda m=method: ro.exp_map(C, x, v, method=m), repeat),
                ro.exp_map(C, x, v, method=method),
            )
        )
    t_iv = best_time(lambda: ro.exp_map(C, x, v, method="solve_ivp"), max(1, repeat // 4))
    t_py = best_time(lambda: baseline_exp(fns[2], x, v, 1e-12, 1e-14), max(1, repeat // 4))
    rows.append(("riemannopt solve_ivp (jitted RHS)", t_iv, ro.exp_map(C, x, v, method="solve_ivp")))
    rows.append(("solve_ivp DOP853, plain Python RHS", t_py, baseline_exp(fns[2], x, v, 1e-12, 1e-14)))
    print(f"{'method':<40}{'time':>12}{'rel. error':>12}{'dop853 speed-up':>17}")
    for name, t, y in rows:
        print(f"{name:<40}{t * 1e6:>10.1f}µs{err(y):>12.1e}{t / rows[0][1]:>16.0f}×")


def bench_cli():
    print("\n3. `riemannopt gamma` wall time (separate processes)")
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, RIEMANNOPT_CACHE_DIR=cache, MPLBACKEND="Agg")
        cmd = [sys.executable, "-m", "riemannopt.cli", "gamma", "--out", os.path.join(out, "g.png")]
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t)
    cold, warm = times[0], min(times[1:])
    print(f"cold (empty cache): {cold:.1f} s   warm: {warm:.1f} s   warm/cold: {warm / cold:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="steps per riemannopt run")
    ap.add_argument("--base-steps", type=int, default=200, help="steps per baseline run")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-cli", action="store_true", help="skip the cold/warm command timing")
    args = ap.parse_args()
    P = ro.models.gamma_mle(ro.models.gamma_data())
    C = P.compile()
    fns = lambdified(P)
    bench_steps(C, fns, args.steps, args.base_steps, args.repeat)
    bench_expmap(C, fns, args.repeat * 4)
    if not args.skip_cli:
        bench_cli()


if __name__ == "__main__":
    main()
