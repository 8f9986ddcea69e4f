"""The numba-CUDA backend of :mod:`riemannopt.nn` (``MLP(..., backend="cuda")``).

Modules, one idea each:

* :mod:`~.config` — launch geometry (GEMM tiles, block sizes) for a GPU and for the simulator;
* :mod:`~.device` — device functions: activations and derivatives, typed constants;
* :mod:`~.gemm` — own tiled GEMMs (NN, NT, TN with split inner dimension) and cuBLAS via CuPy;
* :mod:`~.layers` — the fused layer forward (``s``, ``R(s)``, ``S(s)`` and epilogues);
* :mod:`~.signals` — output signals per loss, backward element-wise kernels, bias reductions;
* :mod:`~.vectors` — device vectors: conversion, CG/Adam operations, reductions;
* :mod:`~.backend` — :class:`CudaBackend`, which runs the passes.

Importing this package needs numba (its CUDA target); the kernels are compiled on first use.
"""

import numpy as _np

# numba-cuda (0.30) registers an overload of np.row_stack while its typing registries load, at
# the first kernel compilation; numpy 2.5 removed that alias of np.vstack, and then no kernel
# compiles ("module 'numpy' has no attribute 'row_stack'").  Restoring the alias is harmless.
if not hasattr(_np, "row_stack"):
    _np.row_stack = _np.vstack

from riemannopt.nn.backends.cuda.backend import CudaBackend  # noqa: E402

__all__ = ["CudaBackend"]
