"""The CUDA kernels under numba's CUDA simulator, in a pytest process of their own.

numba reads ``NUMBA_ENABLE_CUDASIM`` once, when it is imported, so the simulator cannot be
switched on inside this session (which has imported numba already).  This test starts
``python -m pytest`` with ``NUMBA_ENABLE_CUDASIM=1`` on

* ``kernel_checks.py`` — each kernel against numpy formulas in float64 (GEMMs, layer passes,
  bias reductions), the tanh derivative at saturated units against the numpy backend, the cuBLAS
  code path against a stand-in BLAS, input conversion;
* ``shared_array_checks.py`` — ``cuda.shared.array`` gives all threads of a block one array
  even when a thread switch lands inside the allocation (the plugin makes it atomic);
* ``tests/nn/test_backend_conformance.py`` — every product, loss, error and vector operation
  of the ``cuda`` backend against the numpy backend, for every activation and loss of the
  registries, on odd shapes and a batch of one (float64 ≤ 1e-12, float32 ≤ 1e-5 relative);

and fails unless every one of those tests ran and passed (``simulator_plugin.py`` writes the
outcomes).  It takes a few minutes: the simulator runs each CUDA thread as a Python thread.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CONFORMANCE = ROOT / "tests" / "nn" / "test_backend_conformance.py"


def test_kernels_and_conformance_under_the_simulator(tmp_path):
    pytest.importorskip("numba_cuda", reason="the CUDA simulator tests need numba-cuda (the 'cuda' extra)")
    report = tmp_path / "outcomes.json"
    env = dict(os.environ)
    env.update(NUMBA_ENABLE_CUDASIM="1", RIEMANNOPT_SIM_REPORT=str(report))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "simulator_plugin",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",  # one process: the session's plugin and report live in it
        str(HERE / "kernel_checks.py"),
        str(HERE / "shared_array_checks.py"),
        str(CONFORMANCE),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    output = proc.stdout[-20000:] + proc.stderr[-5000:]
    assert proc.returncode == 0, f"the simulator session failed:\n{output}"
    outcomes = json.loads(report.read_text())
    assert set(outcomes.values()) == {"passed"}, {k: v for k, v in outcomes.items() if v != "passed"}
    conformance = [k for k in outcomes if k.startswith("tests/nn/test_backend_conformance.py")]
    # Every cuda case of the conformance module: its architectures (one per loss and output
    # activation of the registries, and a one-layer net per loss) × 2 batches × 2 dtypes, the
    # contract check, the vector operations in 2 dtypes, the CG run and three training runs.
    sys.path.insert(0, str(CONFORMANCE.parent))
    try:
        import test_backend_conformance as conf
    finally:
        sys.path.pop(0)
    expected = len(conf.ARCHITECTURES) * len(conf.BATCHES) * 2 + 1 + 2 + 1 + 3
    assert len(conformance) == expected, f"{len(conformance)} conformance cases ran, expected {expected}"
    assert sum("kernel_checks.py" in k for k in outcomes) >= 40
    assert sum("shared_array_checks.py" in k for k in outcomes) == 1
