"""Device vectors: conversion, the vector operations of CG and training, and reductions.

:class:`CudaVectors` implements :class:`~riemannopt.nn.backends.base.VectorOps` on numba device
arrays, so that :func:`~riemannopt.nn.solve_damped` and training keep every vector on the GPU:
each operation is one kernel (``axpy_`` is one fused pass, not a scale and an add), and each
reduction (``dot``, ``min_max``, ``all_finite``, a loss) is two kernels — per-block partial
results combined by a tree in shared memory, then one block combining the partials in a fixed
order, so results do not vary from run to run — after which only the scalar result (one or two
float64 values) is copied to the host.  Reductions accumulate in float64 whatever the dtype.
"""

import functools
import math

import numpy as np
from numba import cuda, float64, from_dtype, int64

from riemannopt._checks import as_float_array
from riemannopt.errors import InputError
from riemannopt.nn.backends.base import VectorOps
from riemannopt.nn.backends.cuda.config import default_tuning, sm_count

__all__ = [
    "CudaVectors",
    "is_device_array",
    "view",
    "layer_views",
    "vector_kernels",
    "vector_signatures",
    "partial_sum_kernel",
]

DOT, SQDIFF, SUM, MINMAX, NONFINITE = 0, 1, 2, 3, 4
MUL, DIV = 0, 1


def is_device_array(x):
    """Whether ``x`` is device memory: a numba device array (also the simulator's) or any object
    with ``__cuda_array_interface__`` (CuPy, PyTorch, ...)."""
    return bool(getattr(x, "__cuda_ndarray__", False)) or hasattr(x, "__cuda_array_interface__")


def view(base, offset, shape):
    """A C-contiguous view of ``shape`` starting ``offset`` elements into the C-contiguous device
    array ``base`` (any shape), sharing its memory.

    numba's slicing and ``reshape`` take about ten microseconds each on the host, which adds up
    to milliseconds per product over the layers of a deep network; this builds the view
    directly from a pointer into ``base``'s allocation (about a microsecond).  Arrays without
    numba's ``gpu_data`` (the simulator's) are sliced and reshaped.
    """
    size = math.prod(shape)
    if offset < 0 or offset + size > base.size:  # numba does not check the bounds of a pointer view
        raise ValueError(f"a view of {size} entries at {offset} does not fit in {base.size}")
    data = getattr(base, "gpu_data", None)
    if data is None:
        return base.reshape(base.size)[offset : offset + size].reshape(shape)
    from numba.cuda.cudadrv.devicearray import DeviceNDArray  # not in the simulator

    item = base.dtype.itemsize
    strides, step = [], item
    for extent in reversed(shape):
        strides.append(step)
        step *= extent
    return DeviceNDArray(
        tuple(shape),
        tuple(reversed(strides)),
        base.dtype,
        stream=base.stream,
        gpu_data=data.view(offset * item, (offset + size) * item),
    )


def layer_views(flat, layout):
    """``[(W_i, b_i)]`` views into the flat parameter-space device vector ``flat`` at the
    offsets of ``layout`` (what :meth:`~riemannopt.nn.layout.Layout.views` gives, built with
    :func:`view`)."""
    out = []
    for k, ((n_out, n_in), _) in zip(layout.offsets, layout.shapes):
        out.append((view(flat, k, (n_out, n_in)), view(flat, k + n_out * n_in, (n_out,))))
    return out


@functools.lru_cache(maxsize=None)
def _tree(threads):
    """The device function ``tree(kind, sh0, sh1, t)`` combining a block's shared values."""

    @cuda.jit(device=True, inline=True)
    def tree(kind, sh0, sh1, t):
        # Halving tree over the block: deterministic for a given launch geometry.
        stride = threads // 2
        while stride > 0:
            cuda.syncthreads()
            if t < stride:
                if kind == MINMAX:
                    sh0[t] = min(sh0[t], sh0[t + stride])
                    sh1[t] = max(sh1[t], sh1[t + stride])
                else:
                    sh0[t] += sh0[t + stride]
            stride //= 2
        cuda.syncthreads()

    return tree


def partial_sum_kernel(threads, term):
    """The first stage of a float64 sum ``Σ_i term(s_i, y_i, t_i)`` over three flat arrays (a
    loss, with ``term`` a device function of three float64 numbers): block ``b`` writes its
    share to ``P[b, 0]`` (and 0 to ``P[b, 1]``); ``reduce_final`` of SUM finishes."""
    one64 = np.float64(1)
    zero64 = np.float64(0)
    tree = _tree(threads)

    def partial_sum(s, y, T, P):
        t = cuda.threadIdx.x
        a0 = zero64
        for i in range(cuda.grid(1), s.size, cuda.gridsize(1)):
            a0 += term(s[i] * one64, y[i] * one64, T[i] * one64)
        sh0 = cuda.shared.array(threads, float64)
        sh1 = cuda.shared.array(threads, float64)
        sh0[t] = a0
        sh1[t] = zero64
        tree(SUM, sh0, sh1, t)
        if t == 0:
            P[cuda.blockIdx.x, 0] = sh0[0]
            P[cuda.blockIdx.x, 1] = sh1[0]

    return partial_sum


def _reduce_kernels(dtype, threads):
    """Two-stage reductions to two float64 values: ``(Σ, unused)`` or ``(min, max)``."""
    one64 = np.float64(1)
    zero64 = np.float64(0)
    inf64 = np.float64(np.inf)
    tree = _tree(threads)

    def reduce_partial(kind, x, y, P):
        """Block ``b`` writes ``P[b, 0], P[b, 1]``: its share of ``Σ x·y`` (DOT), ``Σ (x − y)²``
        (SQDIFF), ``Σ x`` (SUM), ``(min x, max x)`` (MINMAX) or the count of non-finite ``x``
        (NONFINITE)."""
        t = cuda.threadIdx.x
        a0 = inf64 if kind == MINMAX else zero64
        a1 = -inf64 if kind == MINMAX else zero64
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = x[i] * one64
            if kind == DOT:
                a0 += v * y[i]
            elif kind == SQDIFF:
                d = v - y[i]
                a0 += d * d
            elif kind == SUM:
                a0 += v
            elif kind == MINMAX:
                a0 = min(a0, v)
                a1 = max(a1, v)
            else:  # NONFINITE
                if not math.isfinite(v):
                    a0 += one64
        sh0 = cuda.shared.array(threads, float64)
        sh1 = cuda.shared.array(threads, float64)
        sh0[t] = a0
        sh1[t] = a1
        tree(kind, sh0, sh1, t)
        if t == 0:
            P[cuda.blockIdx.x, 0] = sh0[0]
            P[cuda.blockIdx.x, 1] = sh1[0]

    def reduce_final(kind, P, out):
        """One block combines the partials ``P`` into ``out[0], out[1]``."""
        t = cuda.threadIdx.x
        a0 = inf64 if kind == MINMAX else zero64
        a1 = -inf64 if kind == MINMAX else zero64
        for b in range(t, P.shape[0], threads):
            if kind == MINMAX:
                a0 = min(a0, P[b, 0])
                a1 = max(a1, P[b, 1])
            else:
                a0 += P[b, 0]
        sh0 = cuda.shared.array(threads, float64)
        sh1 = cuda.shared.array(threads, float64)
        sh0[t] = a0
        sh1[t] = a1
        tree(kind, sh0, sh1, t)
        if t == 0:
            out[0] = sh0[0]
            out[1] = sh1[0]

    return reduce_partial, reduce_final


def _elementwise_kernels(dtype):
    t = np.dtype(dtype).type
    zero, one = t(0), t(1)

    def axpby(a, x, b, y, out):
        """``out = a·x + b·y`` (``b·y`` skipped when ``b = 0``, so that ``y`` may hold anything)."""
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            v = a * x[i]
            if b != zero:
                v += b * y[i]
            out[i] = v

    def binary(op, x, y, out):
        """``out = x ⊙ y`` (MUL) or ``x ⊘ y`` (DIV)."""
        for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
            out[i] = x[i] * y[i] if op == MUL else x[i] / y[i]

    def damped_power(d, lam, p, out):
        """``out = (d + lam)^p``."""
        for i in range(cuda.grid(1), d.size, cuda.gridsize(1)):
            out[i] = math.pow(d[i] + lam, p)

    def fill(out, value):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = value

    def adam(theta, g, m, s, lr, beta1, beta2, eps, c1, c2):
        """One Adam step in place; ``c1 = 1/(1 − β₁ᵗ)``, ``c2 = 1/(1 − β₂ᵗ)``."""
        for i in range(cuda.grid(1), theta.size, cuda.gridsize(1)):
            gi = g[i]
            mi = beta1 * m[i] + (one - beta1) * gi
            si = beta2 * s[i] + (one - beta2) * gi * gi
            m[i] = mi
            s[i] = si
            theta[i] -= lr * (mi * c1) / (math.sqrt(si * c2) + eps)

    return {"axpby": axpby, "binary": binary, "damped_power": damped_power, "fill": fill, "adam": adam}


@functools.lru_cache(maxsize=None)
def vector_kernels(dtype, tuning):
    """The CUDA dispatchers of this module for ``dtype`` and ``tuning``."""
    dtype = np.dtype(dtype)
    kernels = {name: cuda.jit(fn) for name, fn in _elementwise_kernels(dtype).items()}
    partial, final = _reduce_kernels(dtype, tuning.threads)
    kernels["reduce_partial"] = cuda.jit(partial)
    kernels["reduce_final"] = cuda.jit(final)
    return kernels


def vector_signatures(dtype):
    """Argument types of :func:`vector_kernels`' kernels, for PTX tests."""
    t = from_dtype(np.dtype(dtype))
    v = t[::1]
    p = float64[:, ::1]
    return {
        "axpby": (t, v, t, v, v),
        "binary": (int64, v, v, v),
        "damped_power": (v, t, t, v),
        "fill": (v, t),
        "adam": (v, v, v, v, t, t, t, t, t, t),
        "reduce_partial": (int64, v, v, p),
        "reduce_final": (int64, p, float64[::1]),
    }


class CudaVectors(VectorOps):
    """Vector operations on numba device arrays (see the module docstring).

    Every array made here is a numba ``DeviceNDArray`` of :attr:`dtype`; :meth:`to_numpy`
    copies one to the host.  All work is queued on the default stream.
    """

    @functools.cached_property
    def tuning(self):
        """Launch geometry (:func:`~riemannopt.nn.backends.cuda.config.default_tuning`)."""
        return default_tuning()

    @functools.cached_property
    def _vk(self):
        return vector_kernels(np.dtype(self.dtype), self.tuning)

    @functools.cached_property
    def _cap(self):
        return self.tuning.max_blocks * sm_count()

    def _grid(self, n):
        return min(max(1, math.ceil(n / self.tuning.threads)), self._cap), self.tuning.threads

    # -- arrays ------------------------------------------------------------------------------

    def asarray(self, x, name):
        """``x`` as a C-contiguous device array of :attr:`dtype`, keeping its shape.

        A numba device array of the right type and layout is returned as it is, and so is, as
        a zero-copy numba view, any other ``__cuda_array_interface__`` array (CuPy, PyTorch,
        ...).  Device arrays of another type or layout go once through the host; host data
        (numpy arrays, sequences) is copied to the device once.
        """
        if is_device_array(x):
            d = x if getattr(x, "__cuda_ndarray__", False) else cuda.as_cuda_array(x)
            if d.dtype == self.dtype and d.is_c_contiguous():
                return d
            if np.dtype(d.dtype).kind not in "fiub":
                raise InputError(f"{name} must be numeric, got a device array of dtype {d.dtype}")
            x = d.copy_to_host()
        return cuda.to_device(np.ascontiguousarray(as_float_array(x, name, self.dtype)))

    def to_numpy(self, a):
        """A host copy of the device array ``a`` (host arrays are returned as numpy arrays)."""
        return a.copy_to_host() if is_device_array(a) else np.asarray(a)

    def empty(self, shape):
        """An uninitialized device array of :attr:`dtype`."""
        return cuda.device_array(shape, dtype=self.dtype)

    def zeros(self, n):
        out = self.empty(n)
        self._vk["fill"][self._grid(n)](out, self.dtype.type(0))
        return out

    def all_finite(self, a):
        return self._reduce(NONFINITE, a)[0] == 0

    # -- vector operations -------------------------------------------------------------------

    def min_max(self, a):
        return self._reduce(MINMAX, a)

    def dot(self, x, y):
        return self._reduce(DOT, x, y)[0]

    def axpby(self, a, x, b, y):
        out = self.empty(x.shape[0])
        return self._axpby(a, x, b, y, out)

    def axpy_(self, a, x, y):
        return self._axpby(a, x, 1.0, y, y)

    def scale_(self, a, x):
        return self._axpby(a, x, 0.0, x, x)

    def multiply(self, x, y):
        return self._binary(MUL, x, y)

    def divide(self, x, y):
        return self._binary(DIV, x, y)

    def damped_power(self, d, lam, p):
        t = self.dtype.type
        out = self.empty(d.shape[0])
        self._vk["damped_power"][self._grid(d.size)](d, t(lam), t(p), out)
        return out

    def copy(self, x):
        out = self.empty(x.shape)
        out.copy_to_device(x)
        return out

    def adam_(self, theta, g, m, s, t, lr, beta1, beta2, eps):
        c = self.dtype.type
        c1, c2 = 1.0 / (1.0 - beta1**t), 1.0 / (1.0 - beta2**t)
        self._vk["adam"][self._grid(theta.size)](theta, g, m, s, c(lr), c(beta1), c(beta2), c(eps), c(c1), c(c2))
        return theta

    # -- helpers -----------------------------------------------------------------------------

    def _axpby(self, a, x, b, y, out):
        t = self.dtype.type
        self._vk["axpby"][self._grid(x.size)](t(a), x, t(b), y, out)
        return out

    def _binary(self, op, x, y):
        out = self.empty(x.shape[0])
        self._vk["binary"][self._grid(x.size)](op, x, y, out)
        return out

    @functools.cached_property
    def _reduction_buffers(self):
        # Allocated once: the per-block partials, the device result and a pinned host copy.
        P = cuda.device_array((self._cap, 2), dtype=np.float64)
        return P, cuda.device_array(2, dtype=np.float64), cuda.pinned_array(2, dtype=np.float64)

    def _reduce(self, kind, x, y=None):
        """``(r0, r1)`` (floats) of a reduction over the entries of ``x`` (and ``y``, same
        shape); multi-dimensional arrays are read as flat vectors."""
        x = _flat(x)
        y = x if y is None else _flat(y)
        blocks, threads = self._grid(x.size)
        P, out, host = self._reduction_buffers
        P = view(P, 0, (blocks, 2))
        self._vk["reduce_partial"][blocks, threads](kind, x, y, P)
        return self._reduce_final(kind, P, out, host)

    def _sum_with(self, partial, s, y, T):
        """``Σ_i term(s_i, y_i, t_i)`` (a float) with the first stage ``partial`` of a
        :func:`partial_sum_kernel`; the arrays (one shape) are read as flat vectors."""
        s, y, T = _flat(s), _flat(y), _flat(T)
        blocks, threads = self._grid(s.size)
        P, out, host = self._reduction_buffers
        P = view(P, 0, (blocks, 2))
        partial[blocks, threads](s, y, T, P)
        return self._reduce_final(SUM, P, out, host)[0]

    def _reduce_final(self, kind, P, out, host):
        self._vk["reduce_final"][1, self.tuning.threads](kind, P, out)
        out.copy_to_host(host)
        return float(host[0]), float(host[1])


def _flat(a):
    return a if a.ndim == 1 else view(a, 0, (a.size,))
