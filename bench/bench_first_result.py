"""Benchmark the time to a first result: fresh processes, with an empty cache (cold) and after it
has been filled (warm).

Measures, in one run, each in its own processes (wall time, best of ``--repeat`` for warm):

1. a script that defines a new 2-D problem (the README's half-plane) and runs one ``optimize``;
   the baseline is the same script warm (issue 11's target: cold ≤ 2× warm);
2. ``riemannopt gamma`` (Figure 2: 4 parameterizations × 6 methods), cold and warm
   (target: cold ≤ 8 s);
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
import sympy as sp
import riemannopt as ro
x, y = sp.symbols("x y", real=True)
problem = ro.Problem(ro.Metric([x, y], sp.diag(1 / y**2, 1 / y**2)), (x - 1)**2 / 2 + sp.log(y)**2 / 2, domain=[y > 0])
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
        env = dict(os.environ, RIEMANNOPT_CACHE_DIR=os.path.join(tmp, "cache"), MPLBACKEND="Agg")
        script = os.path.join(tmp, "first.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        rows = []
        cold = wall([py, script], env)
        warm = wall([py, script], env, args.repeat)
        rows.append(("new problem, first optimize", cold, warm, "cold ≤ 2× warm"))
        gamma = [py, "-m", "riemannopt.cli", "gamma", "--out", os.path.join(tmp, "g.png")]
        rows.append(("riemannopt gamma", wall(gamma, env), wall(gamma, env, args.repeat), "cold ≤ 8 s"))
        orders = [py, "-m", "riemannopt.cli", "orders", "--out", os.path.join(tmp, "o.png")]
        rows.append(("riemannopt orders", wall(orders, env), wall(orders, env, args.repeat), "warm ≤ 1.5 s"))
        imp = wall([py, "-c", "import riemannopt"], env, args.repeat)
        bare = wall([py, "-c", "pass"], env, args.repeat)
    print(f"{'run':<30}{'cold':>9}{'warm':>9}{'cold/warm':>11}   target")
    for name, c, w, target in rows:
        print(f"{name:<30}{c:>8.2f}s{w:>8.2f}s{c / w:>10.1f}×   {target}")
    for name, t in (("python -c 'import riemannopt'", imp), ("python -c pass", bare)):
        print(f"{name:<30}{'':>9}{t:>8.2f}s")


if __name__ == "__main__":
    main()
