"""Ctrl-C while numba compiles an integrator kernel (issue 21, item 7): the interrupt surfaces
once the compilation is done, instead of being dropped inside numba's ctypes callback and turned
into ``RuntimeError: no compiled object yet``; the kernel then works (checked against
``numpy.linalg.solve``) and the cache written is whole (the next process loads it)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

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
from riemannopt.integrators import kernels as k
G, b, out = np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0]), np.empty(2)
try:
    first = k.chol_solve(G, b, out)
except KeyboardInterrupt:
    first = "interrupted"
ok = k.chol_solve(G, b, out)
print(bool(fired), first, ok, bool(np.allclose(out, np.linalg.solve(G, b), rtol=1e-14)), sum(k.chol_solve.stats.cache_hits.values()))
"""


def test_sigint_during_kernel_compilation_is_an_interrupt(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), PYTHONPATH=str(REPO))

    def run(mode):
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, mode], env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0 and "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
        return proc.stdout.split()

    fired, first, ok, solved, hits = run("interrupt")
    assert (fired, first, ok, solved, hits) == ("True", "interrupted", "True", "True", "0")  # compiled here
    fired, first, ok, solved, hits = run("plain")
    assert (first, ok, solved) == ("True", "True", "True") and int(hits) >= 1  # loaded from the cache
