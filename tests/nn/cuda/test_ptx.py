"""Every CUDA kernel compiles to PTX for sm_80 and sm_90, in float32 and float64, without local
memory.

``numba.cuda.compile_ptx`` needs no GPU (only the ``cuda`` extra: numba-cuda and the CUDA
toolkit wheels); ``ptxas -v`` from the ``nvidia-cuda-nvcc`` wheel then assembles each kernel
and reports its stack frame and spill stores/loads, all of which must be zero: a spill, or a
register-blocked accumulator array that the compiler did not keep in registers, puts the
innermost loops of the GEMMs on local memory.  The kernels are those of
:func:`riemannopt.nn.backends.cuda.catalog.all_kernels` with the GPU tiling.  The four
(dtype, architecture) groups compile in two worker processes (about 45 s on two cores).
"""

import os
import re
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba_cuda", reason="PTX compilation needs numba-cuda (the 'cuda' extra)")

from riemannopt.nn.backends.cuda.catalog import all_kernels  # noqa: E402

ARCHS = [(8, 0), (9, 0)]
DTYPES = ["float32", "float64"]
KERNELS = [name for name, _, _ in all_kernels(np.float64)]
USAGE = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
REGISTERS = re.compile(r"Used (\d+) registers")


def ptxas_path():
    """``ptxas`` of the installed CUDA toolkit wheel (``nvidia-cuda-nvcc-cu12``, which the
    ``cuda`` extra installs, or a CUDA 13 wheel's ``nvidia/cu13``), else the one on ``PATH``."""
    import importlib
    import shutil

    name = "ptxas.exe" if os.name == "nt" else "ptxas"
    for package in ("nvidia.cuda_nvcc", "nvidia.cu13"):
        try:
            roots = importlib.import_module(package).__path__
        except ImportError:
            continue
        for root in roots:
            path = Path(root) / "bin" / name
            if path.is_file():
                return path
    found = shutil.which(name)
    if found is None:
        pytest.skip("no ptxas: it comes with the 'cuda' extra (nvidia-cuda-nvcc-cu12)")
    return Path(found)


def compile_group(dtype, cc, ptxas):
    """``{kernel: (stack, spill stores, spill loads, registers)}`` for one dtype and target
    (runs in a worker process)."""
    from numba import cuda

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn, sig in all_kernels(np.dtype(dtype)):
            ptx, _ = cuda.compile_ptx(fn, sig, cc=cc)
            path = Path(tmp) / f"{name}.ptx"
            path.write_text(ptx)
            proc = subprocess.run(
                [str(ptxas), "-v", f"-arch=sm_{cc[0]}{cc[1]}", str(path), "-o", os.devnull],
                capture_output=True,
                text=True,
            )
            if proc.returncode:
                out[name] = proc.stderr
                continue
            usage = [tuple(map(int, m)) for m in USAGE.findall(proc.stderr)]
            registers = [int(r) for r in REGISTERS.findall(proc.stderr)]
            stack = max(u[0] for u in usage) if usage else None
            stores = max(u[1] for u in usage) if usage else None
            loads = max(u[2] for u in usage) if usage else None
            out[name] = (stack, stores, loads, max(registers) if registers else None)
    return out


@pytest.fixture(scope="module")
def reports():
    """``{(dtype, cc): {kernel: report}}`` for every group, compiled in parallel."""
    ptxas = ptxas_path()
    groups = [(dtype, cc) for dtype in DTYPES for cc in ARCHS]
    workers = max(1, min(2, os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {group: pool.submit(compile_group, *group, ptxas) for group in groups}
        return {group: future.result() for group, future in futures.items()}


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cc", ARCHS, ids=lambda cc: f"sm_{cc[0]}{cc[1]}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_compiles_without_local_memory(reports, dtype, cc, kernel):
    report = reports[(dtype, cc)][kernel]
    assert not isinstance(report, str), f"ptxas failed:\n{report}"
    stack, stores, loads, registers = report
    assert stack is not None, "ptxas printed no resource usage"
    assert (stack, stores, loads) == (0, 0, 0), (
        f"{kernel} ({dtype}, sm_{cc[0]}{cc[1]}): {stack} bytes stack frame, {stores} bytes spill "
        f"stores, {loads} bytes spill loads ({registers} registers)"
    )
    assert registers <= 255
