"""Benchmark the time to a first result: fresh processes, with empty caches and with filled ones.

Two caches matter.  The kernels (step rules, trajectory loop, exponential map) are compiled once
per machine into numba's cache; each problem's generated functions are compiled into it the first
time the problem is used.  Every run here points numba's cache (``NUMBA_CACHE_DIR``) and
riemannopt's (``RIEMANNOPT_CACHE_DIR``) at temporary folders, and measures (wall time of the
whole process; warm = best of ``--repeat``):

1. a script that defines a 2-D problem (the README's half-plane) and runs one ``optimize``:
   the very first run (both caches empty: it compiles the kernels too), a *new problem* (same
   script, another loss: the kernels are cached, the problem's functions are not) and warm.
   Issue 11's target: the new problem ≤ 2× warm;
2. ``riemannopt gamma`` (Figure 2: 4 parameterizations × 6 methods): first use, then with the
   kernels compiled but its problems new (target ≤ 8 s), then warm;
3. ``riemannopt orders`` warm (target ≤ 1.5 s), next to ``python -c "import riemannopt"`` and
   the bare interpreter, which every command pays.

Run:  python bench/bench_first_result.py [--repeat 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

SCRIPT = """
import sys
import sympy as sp
import riemannopt as ro
a = float(sys.argv[1])
x, y = sp.symbols("x y", real=True)
problem = ro.Problem(ro.Metric([x, y], sp.diag(1 / y**2, 1 / y**2)), (x - a)**2 / 2 + sp.log(y)**2 / 2, domain=[y > 0])
print(ro.optimize(problem, "geo", x0=[0.0, 2.0], lr=0.25, steps=20).loss[-1])
"""


def wall(cmd, env, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:

        def env(numba, riemannopt):
            return dict(
                os.environ,
                NUMBA_CACHE_DIR=os.path.join(tmp, numba),
                RIEMANNOPT_CACHE_DIR=os.path.join(tmp, riemannopt),
                MPLBACKEND="Agg",
            )

        script = os.path.join(tmp, "first.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        shared = env("numba", "problems")
        first = wall([py, script, "1.0"], shared)
        new = wall([py, script, "1.5"], shared)
        warm = wall([py, script, "1.5"], shared, args.repeat)
        rows = [("2-D problem, first optimize", first, new, warm, "new ≤ 2× warm")]

        gamma = [py, "-m", "riemannopt.cli", "gamma", "--out", os.path.join(tmp, "g.png")]
        g_first = wall(gamma, env("numba-g", "problems-g1"))
        g_new = wall(gamma, env("numba-g", "problems-g2"))
        g_warm = wall(gamma, env("numba-g", "problems-g2"), args.repeat)
        rows.append(("riemannopt gamma", g_first, g_new, g_warm, "new ≤ 8 s"))

        orders = [py, "-m", "riemannopt.cli", "orders", "--out", os.path.join(tmp, "o.png")]
        o_new = wall(orders, env("numba-g", "problems-g2"))
        o_warm = wall(orders, env("numba-g", "problems-g2"), args.repeat)
        rows.append(("riemannopt orders", float("nan"), o_new, o_warm, "warm ≤ 1.5 s"))
        imp = wall([py, "-c", "import riemannopt"], shared, args.repeat)
        bare = wall([py, "-c", "pass"], shared, args.repeat)
    print("first use: both caches empty; new: kernels cached, the problems not; warm: both cached")
    print(f"{'run':<30}{'first use':>10}{'new':>9}{'warm':>9}{'new/warm':>10}   target")
    for name, f, n, w, target in rows:
        print(f"{name:<30}{f:>9.2f}s{n:>8.2f}s{w:>8.2f}s{n / w:>9.2f}×   {target}")
    for name, t in (("python -c 'import riemannopt'", imp), ("python -c pass", bare)):
        print(f"{name:<30}{'':>19}{t:>8.2f}s")


if __name__ == "__main__":
    main()
