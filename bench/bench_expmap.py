"""Benchmark the exponential map, parallel transport and batched runs against their peers.

Measures, in one run:

1. one exponential map on the Poincaré half-plane at rtol 1e-10 / atol 1e-12 (the setting of
   issue 11): riemannopt's default jitted DOP853 and its Dormand–Prince 5(4) pair, through the
   public ``ro.exp_map`` (argument checks included), against scipy's ``solve_ivp`` (DOP853) with
   a plain numpy right-hand side; the error of each against the closed-form geodesic;
2. batches: ``exp_map`` and ``parallel_transport`` of B points in one call (parallel threads)
   against a Python loop of single calls, and ``optimize`` from B start points; geomstats'
   vectorised exponential map of the hyperbolic half-plane if geomstats imports.

Run:  python bench/bench_expmap.py [--batch 2000] [--repeat 7]
"""

import argparse
import time

import numpy as np
from baseline import best_time
from scipy.integrate import solve_ivp

import riemannopt as ro

RTOL, ATOL = 1e-10, 1e-12


def half_plane_exp(x, v):
    """Closed form of Exp_x(v) on the half-plane: a semicircle centred on the x-axis,
    ``x = c + r tanh τ``, ``y = r / cosh τ``, traversed at constant hyperbolic speed."""
    speed = np.hypot(*v) / x[1]
    c = x[0] + x[1] * v[1] / v[0]
    r = np.hypot(x[0] - c, x[1])
    tau = np.arctanh((x[0] - c) / r) + np.sign(v[0]) * speed
    return np.array([c + r * np.tanh(tau), r / np.cosh(tau)])


def scipy_rhs(t, s):
    """The half-plane geodesic equation written as a user would, in numpy."""
    x, y, vx, vy = s
    return np.array([vx, vy, 2 * vx * vy / y, (vy * vy - vx * vx) / y])


def bench_single(C, repeat):
    print(
        f"\n1. one exponential map on the Poincaré half-plane, rtol {RTOL:g} / atol {ATOL:g} (min of {repeat} medians)"
    )
    cases = [((0.0, 1.0), (1.0, 0.5)), ((0.3, 2.0), (-1.5, 2.0)), ((0.0, 1.0), (3.0, 1.0))]
    print(f"{'case (x; v)':<24}{'method':<22}{'time':>11}{'error':>10}{'vs solve_ivp':>14}")
    for x, v in cases:
        x, v = np.array(x), np.array(v)
        exact = half_plane_exp(x, v)
        t_sp = best_time(
            lambda: solve_ivp(scipy_rhs, (0, 1), np.r_[x, v], method="DOP853", rtol=RTOL, atol=ATOL),
            max(3, repeat // 3),
        )
        y_sp = solve_ivp(scipy_rhs, (0, 1), np.r_[x, v], method="DOP853", rtol=RTOL, atol=ATOL).y[:2, -1]
        rows = []
        for method in ("dop853", "dopri"):
            ro.exp_map(C, x, v, method=method, rtol=RTOL, atol=ATOL)
            t = _median_best(lambda: ro.exp_map(C, x, v, method=method, rtol=RTOL, atol=ATOL), repeat)
            rows.append((f"riemannopt {method}", t, ro.exp_map(C, x, v, method=method, rtol=RTOL, atol=ATOL)))
        rows.append(("scipy solve_ivp DOP853", t_sp, y_sp))
        label = f"({x[0]:g}, {x[1]:g}); ({v[0]:g}, {v[1]:g})"
        for name, t, y in rows:
            print(f"{label:<24}{name:<22}{t * 1e6:>9.1f}µs{np.abs(y - exact).max():>10.1e}{t_sp / t:>13.0f}×")
            label = ""


def _median_best(f, repeat, calls=200):
    """Min over ``repeat`` rounds of the median time of ``calls`` calls (robust on a shared box)."""
    best = np.inf
    for _ in range(repeat):
        ts = []
        for _ in range(calls):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        best = min(best, float(np.median(ts)))
    return best


def bench_batch(C, B, repeat):
    print(f"\n2. batches of {B} on the half-plane (one call, parallel threads) against a loop of single calls")
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(-1, 1, B), rng.uniform(0.5, 2.0, B)])
    V = rng.normal(scale=0.5, size=(B, 2))
    W = rng.normal(size=(B, 2))
    print(f"{'operation':<34}{'batch':>11}{'loop':>11}{'speed-up':>10}{'max |Δ|':>10}")
    ops = [
        ("exp_map", lambda: ro.exp_map(C, X, V), lambda: np.array([ro.exp_map(C, x, v) for x, v in zip(X, V)])),
        (
            "parallel_transport",
            lambda: ro.parallel_transport(C, X, V, W),
            lambda: np.array([ro.parallel_transport(C, *a) for a in zip(X, V, W)]),
        ),
    ]
    starts = X[: max(1, B // 20)]
    ops.append(
        (
            f"optimize rmid, {len(starts)} starts × 50 steps",
            lambda: ro.optimize(C, "rmid", starts, 0.2, 50).x[:, -1],
            lambda: np.array([ro.optimize(C, "rmid", s, 0.2, 50).x[-1] for s in starts]),
        )
    )
    for name, batch, loop in ops:
        batch(), loop()
        tb, tl = best_time(batch, repeat), best_time(loop, max(1, repeat // 2))
        print(f"{name:<34}{tb * 1e3:>9.2f}ms{tl * 1e3:>9.1f}ms{tl / tb:>9.1f}×{np.abs(batch() - loop()).max():>10.1e}")
    try:
        from geomstats.geometry.hyperbolic import Hyperbolic
    except Exception as exc:  # not installed, or does not import with this numpy
        print(f"geomstats: not measured ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})")
        return
    space = Hyperbolic(dim=2, coords_type="half-space")
    t_gs = best_time(lambda: space.metric.exp(V, X), repeat)
    print(
        f"{'geomstats Hyperbolic half-space exp':<34}{t_gs * 1e3:>9.2f}ms (closed form, vectorised); riemannopt batch is {t_gs / best_time(ops[0][1], repeat):.2f}× its speed"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    C = ro.models.poincare_half_plane().compile()
    bench_single(C, args.repeat)
    bench_batch(C, args.batch, args.repeat)


if __name__ == "__main__":
    main()
