"""Ctrl-C while numba compiles a cached kernel (issue 21, item 7): the interrupt surfaces once
the compilation is done, instead of being dropped inside numba's ctypes callback and turned into
``RuntimeError: no compiled object yet`` (2 of 7 Ctrl-Cs during a cold ``riemannopt nn``); the
kernel then works, and the cache written is whole (the next process loads it).

One case per kind of cached module whose dispatchers compile lazily: a network kernel (checked
against numpy's ``isfinite(x).all()``) and an integrator kernel (against ``numpy.linalg.solve``).
The generated problem modules compile through ``CompiledProblem.function``, under the same guard.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from numba.core import codegen
hook = codegen.JITCodeLibrary._object_compiled_hook.__func__
fired = []

def interrupting_hook(cls, ll_module, buf):
    # SIGINT while LLVM hands numba the object code: the worst moment, inside a ctypes callback.
    if not fired:
        fired.append(True)
        os.kill(os.getpid(), signal.SIGINT)
    return hook(cls, ll_module, buf)

if sys.argv[1] == "interrupt":
    codegen.JITCodeLibrary._object_compiled_hook = classmethod(interrupting_hook)
{setup}
try:
    first = str({call})
except KeyboardInterrupt:
    first = "interrupted"
again = str({call})
print(bool(fired), first, again, bool({check}), sum({kernel}.stats.cache_hits.values()))
"""

CASES = {
    "network kernel": dict(
        setup="from riemannopt.nn.backends import _numpy_kernels as k\nx = np.array([1, np.inf], np.float32)",
        call="k.all_finite(x)",
        check="k.all_finite(x) == np.isfinite(x).all() and k.all_finite(np.ones(7, np.float32))",
        kernel="k.all_finite",
        value="False",
    ),
    "integrator kernel": dict(
        setup="from riemannopt.integrators import kernels as k\n"
        "G, b, out = np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0]), np.empty(2)",
        call="k.chol_solve(G, b, out)",
        check="np.allclose(out, np.linalg.solve(G, b), rtol=1e-14)",
        kernel="k.chol_solve",
        value="True",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_sigint_during_kernel_compilation_is_an_interrupt(case, tmp_path):
    c = CASES[case]
    script = _CHILD.format(setup=c["setup"], call=c["call"], check=c["check"], kernel=c["kernel"])
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(REPO))

    def run(mode):
        proc = subprocess.run(
            [sys.executable, "-c", script, mode], env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0 and "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
        return proc.stdout.split()

    fired, first, again, checked, hits = run("interrupt")
    assert (fired, first, again, checked, hits) == ("True", "interrupted", c["value"], "True", "0")  # compiled here
    fired, first, again, checked, hits = run("plain")
    assert (first, again, checked) == (c["value"], c["value"], "True") and int(hits) >= 1  # loaded from the cache
