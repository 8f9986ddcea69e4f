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

from riemannopt.nn.backends.cuda.backend import CudaBackend

__all__ = ["CudaBackend"]
