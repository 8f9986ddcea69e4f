"""Benchmark the memory of long runs: peak resident memory of ``optimize`` against the size of
the arrays it returns.

Each configuration runs in a fresh process, which imports riemannopt, loads the Gamma MLE problem
(2-D) and its compiled loops from a warm cache, runs two steps, then resets the kernel's record
of its peak resident set size (``/proc/self/clear_refs``) and runs ``ng`` for ``steps`` steps with
``record_every``.  Reported: the returned arrays (``x`` and ``loss``; ``Trajectory.t`` is computed
only when read), the peak resident memory over the process's baseline just before the run, and
their ratio.  The baseline is the ideal: a run can hardly need less than the memory of its result.

Run:  python bench/bench_memory.py           (add --long for a 10⁸-step run with record_every)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = """
import json, resource, sys
import riemannopt as ro

steps, every = int(sys.argv[1]), int(sys.argv[2])

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

C = ro.models.gamma_mle(ro.models.gamma_data()).compile()
ro.optimize(C, "ng", [1.0, 1.0], 0.5, 2, record_every=every)  # load the compiled loop
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set size
    base, peak_field = status("VmRSS"), "VmHWM"
except OSError:  # no /proc: ru_maxrss, whose baseline may include earlier peaks
    base, peak_field = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, None
traj = ro.optimize(C, "ng", [1.0, 1.0], 0.5, steps, record_every=every)
peak = status(peak_field) if peak_field else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"rows": len(traj), "returned": traj.x.nbytes + traj.loss.nbytes, "over_baseline": peak - base,
                  "exact_peak": peak_field is not None}))
"""


def measure(steps, every, env):
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(steps), str(every)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long", action="store_true", help="also run 10⁸ steps with record_every = 10⁴")
    args = ap.parse_args()
    configs = [(10**6, 1), (10**7, 1), (10**7, 10**4)] + ([(10**8, 10**4)] if args.long else [])
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, RIEMANNOPT_CACHE_DIR=cache)
        measure(2, 1, env)  # compile into the cache outside the measurements
        print("peak resident memory of optimize(gamma, 'ng', [1, 1], 0.5, steps, record_every=k), fresh processes")
        print(f"{'steps':>12}{'record_every':>14}{'rows':>12}{'returned':>12}{'peak − baseline':>17}{'ratio':>8}")
        for steps, every in configs:
            r = measure(steps, every, env)
            note = "" if r["exact_peak"] else "  (ru_maxrss: upper bound)"
            print(
                f"{steps:>12}{every:>14}{r['rows']:>12}{r['returned'] / 1e6:>10.2f}MB"
                f"{r['over_baseline'] / 1e6:>15.2f}MB{r['over_baseline'] / r['returned']:>8.2f}{note}"
            )


if __name__ == "__main__":
    main()
