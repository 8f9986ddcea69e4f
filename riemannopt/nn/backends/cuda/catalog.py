"""Every kernel of the CUDA backend with its argument types, for ahead-of-time compilation.

``tests/nn/cuda/test_ptx.py`` compiles each entry to PTX for several GPU architectures with
``numba.cuda.compile_ptx`` (no GPU needed) and checks ``ptxas``'s report for local memory.
"""

import numpy as np

from riemannopt.nn.backends.cuda.config import GPU
from riemannopt.nn.backends.cuda.gemm import gemm_kernels, gemm_signatures
from riemannopt.nn.backends.cuda.layers import layer_kernels, layer_signatures
from riemannopt.nn.backends.cuda.signals import signal_kernels, signal_signatures
from riemannopt.nn.backends.cuda.vectors import vector_kernels, vector_signatures

__all__ = ["all_kernels"]

_MODULES = {
    "gemm": (gemm_kernels, gemm_signatures),
    "layers": (layer_kernels, layer_signatures),
    "signals": (signal_kernels, signal_signatures),
    "vectors": (vector_kernels, vector_signatures),
}


def all_kernels(dtype, tuning=GPU):
    """``[(name, python function, argument types)]`` of every kernel for ``dtype``.

    ``name`` is ``"module.kernel"``; the Python function is the kernel before ``cuda.jit``
    (``dispatcher.py_func``), as :func:`numba.cuda.compile_ptx` takes it.
    """
    dtype = np.dtype(dtype)
    out = []
    for module, (kernels, signatures) in _MODULES.items():
        sigs = signatures(dtype)
        for name, dispatcher in kernels(dtype, tuning).items():
            out.append((f"{module}.{name}", dispatcher.py_func, sigs[name]))
    return out
