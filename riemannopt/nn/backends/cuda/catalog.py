"""Every kernel of the CUDA backend with its argument types, for ahead-of-time compilation.

``tests/nn/cuda/test_ptx.py`` compiles each entry to PTX for several GPU architectures with
``numba.cuda.compile_ptx`` (no GPU needed) and checks ``ptxas``'s report for local memory.
The kernels built for one loss or one row-wise activation are listed for every class of
:data:`~riemannopt.nn.losses.LOSSES` and :data:`~riemannopt.nn.activations.ACTIVATIONS`, as
``"signals.<kernel>[<name>]"``.
"""

import numpy as np

from riemannopt.nn.activations import ACTIVATIONS
from riemannopt.nn.backends.cuda.config import GPU
from riemannopt.nn.backends.cuda.gemm import gemm_kernels, gemm_signatures
from riemannopt.nn.backends.cuda.layers import layer_kernels, layer_signatures
from riemannopt.nn.backends.cuda.signals import (
    activation_kernels,
    activation_signatures,
    loss_kernels,
    loss_signatures,
    signal_kernels,
    signal_signatures,
)
from riemannopt.nn.backends.cuda.vectors import vector_kernels, vector_signatures
from riemannopt.nn.losses import LOSSES

__all__ = ["all_kernels"]

_MODULES = {
    "gemm": (gemm_kernels, gemm_signatures),
    "layers": (layer_kernels, layer_signatures),
    "signals": (signal_kernels, signal_signatures),
    "vectors": (vector_kernels, vector_signatures),
}


def all_kernels(dtype, tuning=GPU):
    """``[(name, python function, argument types)]`` of every kernel for ``dtype``.

    ``name`` is ``"module.kernel"`` (``"signals.kernel[class name]"`` for the kernels of one
    loss or activation); the Python function is the kernel before ``cuda.jit``
    (``dispatcher.py_func``), as :func:`numba.cuda.compile_ptx` takes it.
    """
    dtype = np.dtype(dtype)
    out = []
    for module, (kernels, signatures) in _MODULES.items():
        sigs = signatures(dtype)
        for name, dispatcher in kernels(dtype, tuning).items():
            out.append((f"{module}.{name}", dispatcher.py_func, sigs[name]))
    for loss_name, loss in LOSSES.items():
        sigs = loss_signatures(dtype, loss)
        for name, dispatcher in loss_kernels(dtype, tuning, loss).items():
            out.append((f"signals.{name}[{loss_name}]", dispatcher.py_func, sigs[name]))
    for act_name, act in ACTIVATIONS.items():
        if not act.elementwise:
            sigs = activation_signatures(dtype, act)
            for name, dispatcher in activation_kernels(dtype, tuning, act).items():
                out.append((f"signals.{name}[{act_name}]", dispatcher.py_func, sigs[name]))
    return out
