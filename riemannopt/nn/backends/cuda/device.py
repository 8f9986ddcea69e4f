"""Device functions shared by the kernels: the activations and their derivatives, typed constants.

The activations are those of :data:`riemannopt.nn.activations.ACTIVATIONS`, compiled here from
their classes: each element-wise activation's :meth:`~riemannopt.nn.activations.Activation.scalar`
gives ``φ``, ``φ'`` and ``φ''/φ'`` on one entry, and each becomes a device function.  As in
:mod:`riemannopt.nn.activations`, the derivatives are functions of the layer's *output*
``a = φ(s)``, so the forward pass stores only ``a``.

Activations are passed to kernels as integer codes (:data:`ACT_CODES`: their order in the
registry) rather than compiled into separate kernels: the code is the same for every thread of a
launch, so the branch costs nothing measurable, and one kernel serves every layer.  The
functions taking a code are built from the registry (:func:`_by_code`): a chain of
``if code == k`` over the activations, so no kernel names one.  :data:`IDENTITY` (and any code
that is not an activation's) is ``φ(s) = s``: the last layer's pre-activation.

Numba types a Python literal such as ``1.0`` as float64, which would silently promote float32
kernels to float64 arithmetic; every constant here is therefore a typed numpy scalar of the
kernels' dtype, and every builder takes the dtype.
"""

import functools
import math
from types import SimpleNamespace

import numpy as np
from numba import cuda

from riemannopt.nn.activations import ACTIVATIONS, scalar_lib

__all__ = ["ACT_CODES", "IDENTITY", "act_code", "device_functions", "device"]

#: Element-wise activation name → kernel code (row-wise ones, the softmax, have row kernels of
#: their own: :func:`~riemannopt.nn.backends.cuda.signals.activation_kernels`).
ACT_CODES = {name: code for code, name in enumerate(n for n, cls in ACTIVATIONS.items() if cls.elementwise)}
#: The code of no activation (``φ(s) = s``, ``φ' = 1``, ``φ'' = 0``).
IDENTITY = -1


def act_code(name):
    """The kernel code of an element-wise activation."""
    return ACT_CODES[name]


def device(fn):
    """``fn`` as a device function inlined into its callers."""
    return cuda.jit(device=True, inline=True)(fn)


def _exp(u):
    return math.exp(u)


def _branch(code, fn, rest):
    @cuda.jit(device=True, inline=True)
    def select(c, x):
        if c == code:
            return fn(x)
        return rest(c, x)

    return select


def _by_code(functions, default):
    """The device function ``f(code, x) = functions[code](x)``, ``default(x)`` for other codes."""

    @cuda.jit(device=True, inline=True)
    def select(c, x):
        return default(x)

    for code in reversed(range(len(functions))):
        select = _branch(code, functions[code], select)
    return select


@functools.lru_cache(maxsize=None)
def device_functions(dtype):
    """Device functions and typed constants for kernels of ``dtype`` (float32 or float64).

    Returns
    -------
    SimpleNamespace
        ``zero, half, one, two`` (numpy scalars of ``dtype``), ``lib`` (the ``lib`` of
        :meth:`~riemannopt.nn.activations.Activation.scalar` on the device) and the device
        functions ``value(code, s)`` (``φ(s)``), ``d1(code, a)`` (``φ'``), ``curv(code, a)``
        (``φ''/φ'``) and ``d2(code, a)`` (``φ''``).
    """
    t = np.dtype(dtype).type
    zero, half, one, two = t(0), t(0.5), t(1), t(2)
    lib = scalar_lib(device(_exp))
    forms = [ACTIVATIONS[name].scalar(t, lib) for name in ACT_CODES]

    def identity(s):
        return s

    def unit(a):
        return one

    def flat(a):
        return zero

    value = _by_code([device(f.value) for f in forms], device(identity))
    d1 = _by_code([device(f.d1) for f in forms], device(unit))
    curv = _by_code([device(f.curv) for f in forms], device(flat))

    @cuda.jit(device=True, inline=True)
    def d2(code, a):
        return d1(code, a) * curv(code, a)

    return SimpleNamespace(zero=zero, half=half, one=one, two=two, lib=lib, value=value, d1=d1, curv=curv, d2=d2)
