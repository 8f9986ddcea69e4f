"""Device functions shared by the kernels: activations and their derivatives, typed constants.

Activations are passed to kernels as integer codes (:data:`ACT_CODES`) rather than compiled
into separate kernels: the code is the same for every thread of a launch, so the branch costs
nothing measurable, and one kernel serves every layer.  As in
:mod:`riemannopt.nn.activations`, derivatives are functions of the layer's *output*
``a = φ(s)``, so the forward pass stores only ``a``:

==========  =================  ==================  ====================
activation  ``φ'``             ``φ''/φ'``          ``φ''``
==========  =================  ==================  ====================
sigmoid     ``a(1 − a)``       ``1 − 2a``          ``a(1 − a)(1 − 2a)``
tanh        ``1 − a²``         ``−2a``             ``−2a(1 − a²)``
linear      ``1``              ``0``               ``0``
==========  =================  ==================  ====================

Numba types a Python literal such as ``1.0`` as float64, which would silently promote float32
kernels to float64 arithmetic; every constant here is therefore a typed numpy scalar of the
kernels' dtype, and every builder takes the dtype.
"""

import functools
import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

__all__ = ["ACT_CODES", "SIGMOID", "TANH", "LINEAR", "act_code", "device_functions"]

SIGMOID, TANH, LINEAR = 0, 1, 2
#: Activation name → kernel code (softmax is handled by the row kernels of the output layer).
ACT_CODES = {"sigmoid": SIGMOID, "tanh": TANH, "linear": LINEAR}


def act_code(name):
    """The kernel code of an element-wise activation."""
    return ACT_CODES[name]


@functools.lru_cache(maxsize=None)
def device_functions(dtype):
    """Device functions and typed constants for kernels of ``dtype`` (float32 or float64).

    Returns
    -------
    SimpleNamespace
        ``zero, half, one, two`` (numpy scalars of ``dtype``) and the device functions
        ``value(code, s)`` (``φ(s)``), ``d1(code, a)`` (``φ'``), ``curv(code, a)``
        (``φ''/φ'``), ``d2(code, a)`` (``φ''``) and ``sigmoid(s)``.
    """
    t = np.dtype(dtype).type
    zero, half, one, two = t(0), t(0.5), t(1), t(2)

    @cuda.jit(device=True, inline=True)
    def sigmoid(s):
        # 1/(1 + e^{−s}): e^{−s} overflows to inf for very negative s, giving the correct 0.
        return one / (one + math.exp(-s))

    @cuda.jit(device=True, inline=True)
    def value(code, s):
        if code == SIGMOID:
            return sigmoid(s)
        if code == TANH:
            return math.tanh(s)
        return s

    @cuda.jit(device=True, inline=True)
    def d1(code, a):
        if code == SIGMOID:
            return a * (one - a)
        if code == TANH:
            return one - a * a
        return one

    @cuda.jit(device=True, inline=True)
    def curv(code, a):
        if code == SIGMOID:
            return one - two * a
        if code == TANH:
            return -two * a
        return zero

    @cuda.jit(device=True, inline=True)
    def d2(code, a):
        return d1(code, a) * curv(code, a)

    return SimpleNamespace(
        zero=zero, half=half, one=one, two=two, sigmoid=sigmoid, value=value, d1=d1, curv=curv, d2=d2
    )
