"""Benchmark of riemannopt's code generation and its disk cache (Gamma MLE problem, paper §7.1).

(a) Process start to the first compiled ``gamma_vv`` value: a fresh Python process imports
    riemannopt, builds ``gamma_mle(gamma_data())``, compiles it and evaluates ``gamma_vv`` once.
    *cold*: empty riemannopt cache directory (symbolic derivation, code generation, numba
    compilation); *warm*: the same directory again (source and machine code from disk).  Optionally
    also fully cold, with a fresh numba cache directory too (riemannopt's special functions
    recompiled as well).
(b) Time per call of one ``Γ(v, v)`` and one natural direction ``−g⁻¹∇L`` evaluation through
    riemannopt's jitted module functions and its public (checking) wrappers, against the same
    expressions through ``sympy.lambdify(modules=["numpy", "scipy"])`` — the baseline a user would
    write without riemannopt — and against the lambdified Christoffel array contracted with
    ``numpy.einsum`` and lambdified g and ∇L followed by ``numpy.linalg.solve`` (as in
    ``bench/baseline.py``).

Usage::

    python bench/bench_codegen.py [--warm-repeats 3] [--no-full-cold] [--timeit-repeats 7]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

_CHILD = r"""
import time
t0 = time.perf_counter()
import numpy as np
import riemannopt as ro
t1 = time.perf_counter()
P = ro.models.gamma_mle(ro.models.gamma_data())
t2 = time.perf_counter()
C = P.compile()
t3 = time.perf_counter()
g = C.gamma_vv(np.array([2.0, 3.0]), np.array([1.0, -0.5]))
t4 = time.perf_counter()
import json
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "compile": t3 - t2, "first_call": t4 - t3,
                  "from_cache": C.from_cache, "value": g.tolist()}))
"""


def _child(cache, numba_cache=None):
    env = dict(os.environ)
    env["RIEMANNOPT_CACHE_DIR"] = str(cache)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"child process failed:\n{proc.stderr}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall"] = wall
    return info


def _table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)))
    print()


def bench_start(cache, warm_repeats, full_cold):
    rows = []
    runs = {}
    if full_cold:
        with tempfile.TemporaryDirectory(prefix="ro-bench-full-") as d:
            runs["full cold (fresh riemannopt + numba caches)"] = _child(Path(d) / "ro", Path(d) / "numba")
    cold = _child(cache)
    assert cold["from_cache"] is False
    runs["cold (empty riemannopt cache)"] = cold
    warm = [_child(cache) for _ in range(warm_repeats)]
    assert all(w["from_cache"] for w in warm)
    assert all(w["value"] == cold["value"] for w in warm)
    runs[f"warm (same cache, min of {warm_repeats})"] = min(warm, key=lambda w: w["wall"])
    for name, r in runs.items():
        rows.append(
            [
                name,
                f"{r['wall']:.2f}",
                f"{r['import']:.2f}",
                f"{r['build']:.2f}",
                f"{r['compile']:.2f}",
                f"{r['first_call']:.2f}",
                f"{r['wall'] / cold['wall']:.3f}",
            ]
        )
    print("(a) process start → first compiled gamma_vv value, Gamma MLE problem (seconds)")
    _table(["run", "wall", "import", "gamma_mle", "compile()", "1st gamma_vv", "÷ cold"], rows)
    w = runs[f"warm (same cache, min of {warm_repeats})"]["wall"]
    print(f"    warm/cold = {w / cold['wall']:.3f}   (cold is {cold['wall'] / w:.1f}× slower)\n")


def _per_call(fn, repeats):
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(number, 10)
    return min(timer.repeat(repeat=repeats, number=number)) / number


def bench_calls(repeats):
    import sympy as sp

    import riemannopt as ro

    P = ro.models.gamma_mle(ro.models.gamma_data())
    C = P.compile()
    x = np.array([2.0, 3.0])
    v = np.array([1.0, -0.5])
    p = C.p
    n = P.n

    # baseline: the same expressions lambdified with numpy + scipy
    G = P.metric.christoffel
    vs = sp.symbols(f"v0:{n}", real=True)
    gvv_expr = [sum(G[m, i, j] * vs[i] * vs[j] for i in range(n) for j in range(n)) for m in range(n)]
    dir_expr = list(-P.metric.inverse * P.gradient)
    mods = ["numpy", "scipy"]
    f_gvv = sp.lambdify((P.coords, vs, P.param_symbols), gvv_expr, modules=mods)
    f_dir = sp.lambdify((P.coords, P.param_symbols), dir_expr, modules=mods)
    f_g = sp.lambdify((P.coords, P.param_symbols), P.metric.matrix, modules=mods)
    f_grad = sp.lambdify((P.coords, P.param_symbols), list(P.gradient), modules=mods)
    f_chris = sp.lambdify((P.coords, P.param_symbols), G.tolist(), modules=mods)

    def lam_gvv():
        return np.asarray(f_gvv(x, v, p), dtype=np.float64)

    def lam_dir():
        return np.asarray(f_dir(x, p), dtype=np.float64)

    def lam_einsum_gvv():
        return np.einsum("mij,i,j->m", np.asarray(f_chris(x, p), dtype=np.float64), v, v)

    def lam_solve_dir():
        return -np.linalg.solve(np.asarray(f_g(x, p), dtype=np.float64), np.asarray(f_grad(x, p), dtype=np.float64))

    jit_gvv, jit_dir = C.module.gamma_vv, C.module.direction

    # all agree before anything is timed
    ref_g, ref_d = lam_gvv(), lam_dir()
    for got in (jit_gvv(x, v, p), C.gamma_vv(x, v), lam_einsum_gvv()):
        np.testing.assert_allclose(got, ref_g, rtol=1e-12)
    for got in (jit_dir(x, p), C.direction(x), lam_solve_dir()):
        np.testing.assert_allclose(got, ref_d, rtol=1e-12)

    cases = {
        "gamma_vv": [
            ("riemannopt jitted  C.module.gamma_vv(x, v, p)", lambda: jit_gvv(x, v, p)),
            ("riemannopt wrapper C.gamma_vv(x, v)", lambda: C.gamma_vv(x, v)),
            ("baseline sympy.lambdify Γ(v,v)", lam_gvv),
            ("baseline lambdify Γ array + np.einsum", lam_einsum_gvv),
        ],
        "direction": [
            ("riemannopt jitted  C.module.direction(x, p)", lambda: jit_dir(x, p)),
            ("riemannopt wrapper C.direction(x)", lambda: C.direction(x)),
            ("baseline sympy.lambdify −g⁻¹∇L", lam_dir),
            ("baseline lambdify g, ∇L + np.linalg.solve", lam_solve_dir),
        ],
        "gamma_vv + direction": [
            ("riemannopt jitted", lambda: (jit_gvv(x, v, p), jit_dir(x, p))),
            ("riemannopt wrappers", lambda: (C.gamma_vv(x, v), C.direction(x))),
            ("baseline sympy.lambdify", lambda: (lam_gvv(), lam_dir())),
        ],
    }
    print(f"(b) time per call, Gamma MLE at x = {x.tolist()}, v = {v.tolist()} (min of {repeats} timeit repeats)")
    rows = []
    for group, entries in cases.items():
        times = [(label, _per_call(fn, repeats)) for label, fn in entries]
        base = next(t for label, t in times if label.startswith("baseline sympy.lambdify"))
        for label, t in times:
            rows.append([group, label, f"{t * 1e6:.2f}", f"{base / t:.1f}×"])
    _table(["quantity", "implementation", "µs/call", "speedup vs lambdify"], rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warm-repeats", type=int, default=3, help="warm process starts (the minimum is reported)")
    ap.add_argument("--no-full-cold", action="store_true", help="skip the run with a fresh numba cache too")
    ap.add_argument("--timeit-repeats", type=int, default=7, help="timeit repeats per call benchmark")
    ap.add_argument("--skip-start", action="store_true", help="only run the per-call benchmark (b)")
    args = ap.parse_args(argv)

    import numba

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs\n"
    )
    with tempfile.TemporaryDirectory(prefix="ro-bench-") as d:
        cache = Path(d) / "cache"
        if not args.skip_start:
            bench_start(cache, args.warm_repeats, not args.no_full_cold)
        os.environ["RIEMANNOPT_CACHE_DIR"] = str(cache)
        bench_calls(args.timeit_repeats)


if __name__ == "__main__":
    main()
