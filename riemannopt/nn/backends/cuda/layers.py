r"""The fused layer forward: ``s``, ``R(s)``, ``S(s)`` and their activation epilogues.

Layer ``i`` maps its input ``a`` (``n × k``, one example per row) with ``W`` (``m × k``),
bias ``b`` and the direction's blocks ``V``, ``c`` to (paper eq. 18–19, Appendix C lines 7–10)

.. math::

   s &= a W^\top + b, & a' &= \phi(s), \\
   R(s) &= a V^\top + R(a) W^\top + c, & R(a') &= \phi' \odot R(s), \\
   S(s) &= 2 R(a) V^\top + S(a) W^\top, & S(a') &= \phi' \odot (\tfrac{\phi''}{\phi'} R(s)^2 + S(s)).

Each hidden layer's values live in one **stack** ``(3, n, m)``: ``[a, R(a), S(a)/2]``.  Keeping
*half* of ``S`` makes the two products shift along the stack,

.. math::

   \begin{bmatrix} R(s) \\ S(s)/2 \end{bmatrix}
   = \begin{bmatrix} a \\ R(a) \end{bmatrix} V^\top
   + \begin{bmatrix} R(a) \\ S(a)/2 \end{bmatrix} W^\top ,

(halving and doubling are exact in binary floating point), so one kernel reads each tile of
``a``, ``R(a)``, ``S(a)/2``, ``V`` and ``W`` once and accumulates both outputs, and cuBLAS needs
two GEMMs of ``2n`` rows instead of four of ``n``.  The first layer's input ``X`` does not depend
on θ: ``R(a₀) = S(a₀) = 0``, so it needs one product (``X Vᵀ``) and no stack.

A launch is described by ``inputs`` (how many stack slots it reads: 1 ``a``; 2 ``a, R(a)``;
3 ``a, R(a), S(a)/2``), a ``mode`` and the layer's activation code:

======================  ============================================================
mode                    writes (hidden layer into its stack ``O``; last layer ``O``)
======================  ============================================================
:data:`FWD`             ``O[0] = φ(s)`` (the last layer: ``O[0] = s``)
:data:`R`               hidden: ``O[1] = R(a')``; last: ``O[0] = R(s)``
:data:`R_KEEP`          as :data:`R`, and hidden ``O[2] = R(s)`` (the R-backward needs it)
:data:`RS`              hidden: ``O[1] = R(a')``, ``O[2] = S(a')/2``; last: ``O[0] = R(s)``,
                        ``O[1] = S(s)``
======================  ============================================================

The epilogue reads ``a' = O[0]``, stored by the forward pass, for ``φ'`` and ``φ''/φ'``.
With the own kernels (:class:`LayerForward` with a :class:`~.gemm.NumbaGemm`) the products and
the epilogue are one kernel; with cuBLAS the GEMMs write into the output slots and
:func:`epilogue kernel <_epilogue_kernel>` finishes in place.
"""

import functools
import math

import numpy as np
from numba import cuda, from_dtype, int64

from riemannopt.nn.backends.cuda.config import sm_count, tiles_for
from riemannopt.nn.backends.cuda.device import IDENTITY, device_functions
from riemannopt.nn.backends.cuda.vectors import view

__all__ = ["FWD", "R", "R_KEEP", "RS", "LayerForward", "layer_kernels", "layer_signatures"]

FWD, R, R_KEEP, RS = 0, 1, 2, 3


@functools.lru_cache(maxsize=None)
def _epilogue(dtype):
    """The device function ``epilogue(mode, act, last, acc0, acc1, bias, O, r, c)`` writing
    entry ``(r, c)`` of a layer's outputs from the accumulated products, for the modes R,
    R_KEEP and RS (module table).

    Mode FWD is left to the kernels: ``φ`` (``exp``, ``tanh``) is long enough in float64 that
    the compiler would no longer unroll the register-blocked epilogue loop around it, and the
    accumulators would move to local memory; the fused kernel therefore writes ``s`` in that
    loop and applies ``φ`` in a second pass over its own outputs.
    """
    f = device_functions(dtype)
    half, d1, curv = f.half, f.d1, f.curv

    @cuda.jit(device=True, inline=True)
    def epilogue(mode, act, last, acc0, acc1, bias, O, r, c):
        rs = acc0 + bias
        if last:
            O[0, r, c] = rs
            if mode == RS:
                O[1, r, c] = acc1 + acc1
            return
        a = O[0, r, c]
        g = d1(act, a)
        O[1, r, c] = g * rs
        if mode == R_KEEP:
            O[2, r, c] = rs
        elif mode == RS:
            O[2, r, c] = g * (half * curv(act, a) * rs * rs + acc1)

    return epilogue


def _fused_kernel(tiles, dtype, inputs):
    """The tiled product of ``inputs`` stacked operands with ``B0``, ``B1`` plus the epilogue.

    ``acc0 = A[0] B0ᵀ (+ A[1] B1ᵀ)`` and, with three inputs, ``acc1 = A[1] B0ᵀ + A[2] B1ᵀ``; the
    tiling is that of :func:`~.gemm._tile_kernel` with every operand staged in shared memory
    per ``bk`` step (``B0 = V``, ``B1 = W``; with one input ``B0`` is ``W`` or ``V``).
    """
    bm, bn, bk, tm, tn = tiles
    tx_n, ty_n = bn // tn, bm // tm
    nthreads = tx_n * ty_n
    loads_a, loads_b = bm * bk // nthreads, bn * bk // nthreads
    assert loads_a * nthreads == bm * bk and loads_b * nthreads == bn * bk, tiles
    n_b = 1 if inputs == 1 else 2
    a_cols, b_cols = bm + 1, bn + 1
    nbt = from_dtype(dtype)
    f = device_functions(dtype)
    zero, value = f.zero, f.value
    epilogue = _epilogue(dtype)

    def layer(A, B0, B1, bias, O, mode, act, last):
        n = A.shape[1]
        K = A.shape[2]
        m = B0.shape[0]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * tx_n + tx
        r0 = cuda.blockIdx.y * bm
        c0 = cuda.blockIdx.x * bn
        As = cuda.shared.array((inputs, bk, a_cols), nbt)
        Bs = cuda.shared.array((n_b, bk, b_cols), nbt)
        acc0 = cuda.local.array((tm, tn), nbt)
        acc1 = cuda.local.array((tm, tn), nbt)
        a0 = cuda.local.array(tm, nbt)
        a1 = cuda.local.array(tm, nbt)
        a2 = cuda.local.array(tm, nbt)
        b0 = cuda.local.array(tn, nbt)
        b1 = cuda.local.array(tn, nbt)
        for i in range(tm):
            for j in range(tn):
                acc0[i, j] = zero
                acc1[i, j] = zero
        for k0 in range(0, K, bk):
            for l in range(loads_a):  # rows of A are examples: consecutive threads along k
                e = tid + l * nthreads
                rr = e // bk
                kk = e - rr * bk
                gr = r0 + rr
                gk = k0 + kk
                inside = gr < n and gk < K
                for q in range(inputs):
                    As[q, kk, rr] = A[q, gr, gk] if inside else zero
            for l in range(loads_b):
                e = tid + l * nthreads
                cc = e // bk
                kk = e - cc * bk
                gc = c0 + cc
                gk = k0 + kk
                inside = gc < m and gk < K
                Bs[0, kk, cc] = B0[gc, gk] if inside else zero
                if n_b == 2:
                    Bs[1, kk, cc] = B1[gc, gk] if inside else zero
            cuda.syncthreads()
            for kk in range(bk):
                for i in range(tm):
                    a0[i] = As[0, kk, ty + i * ty_n]
                    if inputs >= 2:
                        a1[i] = As[1, kk, ty + i * ty_n]
                    if inputs == 3:
                        a2[i] = As[2, kk, ty + i * ty_n]
                for j in range(tn):
                    b0[j] = Bs[0, kk, tx + j * tx_n]
                    if n_b == 2:
                        b1[j] = Bs[1, kk, tx + j * tx_n]
                for i in range(tm):
                    for j in range(tn):
                        if inputs == 1:
                            acc0[i, j] += a0[i] * b0[j]
                        else:
                            acc0[i, j] += a0[i] * b0[j] + a1[i] * b1[j]
                        if inputs == 3:
                            acc1[i, j] += a1[i] * b0[j] + a2[i] * b1[j]
            cuda.syncthreads()
        for i in range(tm):
            r = r0 + ty + i * ty_n
            if r < n:
                for j in range(tn):
                    c = c0 + tx + j * tx_n
                    if c < m:
                        if mode == FWD:
                            O[0, r, c] = acc0[i, j] + bias[c]
                        else:
                            epilogue(mode, act, last, acc0[i, j], acc1[i, j], bias[c], O, r, c)
        if mode == FWD and act != IDENTITY:  # φ over this thread's own outputs, just written
            for i in range(tm):
                r = r0 + ty + i * ty_n
                if r < n:
                    for j in range(tn):
                        c = c0 + tx + j * tx_n
                        if c < m:
                            O[0, r, c] = value(act, O[0, r, c])

    return layer


def _epilogue_kernel(dtype):
    f = device_functions(dtype)
    zero, value = f.zero, f.value
    epilogue = _epilogue(dtype)

    def finish(O, bias, src, inputs, mode, act, last):
        """The epilogue alone, after cuBLAS wrote ``acc0`` to ``O[src]`` (and, with three
        inputs, ``acc1`` to ``O[src + 1]``); in place."""
        n = O.shape[1]
        m = O.shape[2]
        for e in range(cuda.grid(1), n * m, cuda.gridsize(1)):
            r = e // m
            c = e - r * m
            if mode == FWD:
                O[0, r, c] = value(act, O[0, r, c] + bias[c])
            else:
                acc1 = O[src + 1, r, c] if inputs == 3 else zero
                epilogue(mode, act, last, O[src, r, c], acc1, bias[c], O, r, c)

    return finish


def _activate_kernel(dtype):
    value = device_functions(dtype).value

    def activate(s, y, act):
        """``y = φ(s)`` element-wise (the network output of an element-wise output layer)."""
        for e in range(cuda.grid(1), s.size, cuda.gridsize(1)):
            r = e // s.shape[1]
            c = e - r * s.shape[1]
            y[r, c] = value(act, s[r, c])

    return activate


@functools.lru_cache(maxsize=None)
def layer_kernels(dtype, tuning):
    """``{"fused1", "fused2", "fused3", "epilogue", "activate"}`` → CUDA dispatchers."""
    dtype = np.dtype(dtype)
    tiles = tiles_for(tuning, "layer", dtype)
    kernels = {f"fused{q}": cuda.jit(_fused_kernel(tiles, dtype, q)) for q in (1, 2, 3)}
    kernels["epilogue"] = cuda.jit(_epilogue_kernel(dtype))
    kernels["activate"] = cuda.jit(_activate_kernel(dtype))
    return kernels


def layer_signatures(dtype):
    """Argument types of :func:`layer_kernels`' kernels, for PTX tests."""
    t = from_dtype(np.dtype(dtype))
    m2, m3, v = t[:, ::1], t[:, :, ::1], t[::1]
    fused = (m3, m2, m2, v, m3, int64, int64, int64)
    return {
        "fused1": fused,
        "fused2": fused,
        "fused3": fused,
        "epilogue": (m3, v, int64, int64, int64, int64, int64),
        "activate": (m2, m2, int64),
    }


class LayerForward:
    """Runs one layer's forward, R or R/S pass with the backend's GEMM.

    Parameters
    ----------
    gemm : NumbaGemm or CublasGemm
        Computes the products when the layer is not fused.
    dtype : numpy.dtype
    tuning : Tuning
    fused : bool, optional
        One fused kernel per layer (default with the own GEMM), or ``gemm`` then the epilogue
        kernel (default with cuBLAS, whose GEMMs cannot take an epilogue).
    """

    def __init__(self, gemm, dtype, tuning, fused=None):
        self.gemm = gemm
        self.fused = gemm.name == "numba" if fused is None else fused
        self.tuning = tuning
        self.tiles = tiles_for(tuning, "layer", dtype)
        self.kernels = layer_kernels(dtype, tuning)
        self._blocks_cap = tuning.max_blocks * sm_count()

    def __call__(self, inputs, A, W, V, bias, O, mode, act, last):
        """One layer.

        Parameters
        ----------
        inputs : {1, 2, 3}
            Stack slots of ``A`` read (module docstring).
        A : device array, shape (q ≥ inputs, n, k)
            The input stack (``X.reshape(1, n, k)`` for the first layer).
        W, V : device arrays, shape (m, k)
            The layer's weights and the direction's block (``V`` unused in mode FWD).
        bias : device array, shape (m,)
            ``b`` (mode FWD) or the direction's ``c``.
        O : device array, shape (q, n, m)
            The layer's stack (hidden layer) or output buffer (last layer), written per the
            module table.
        mode : {FWD, R, R_KEEP, RS}
        act : int
            The activation code (IDENTITY for the last layer: it writes pre-activations).
        last : bool
        """
        n, k = A.shape[1], A.shape[2]
        m = W.shape[0]
        B0 = W if mode == FWD else V
        if self.fused:
            bm, bn, _, tm, tn = self.tiles
            grid = (math.ceil(m / bn), math.ceil(n / bm))
            self.kernels[f"fused{inputs}"][grid, (bn // tn, bm // tm)](A, B0, W, bias, O, mode, act, int(last))
            return
        src = 1 if mode != FWD and not last else 0
        rows = 2 * n if inputs == 3 else n
        out = view(O, src * n * m, (rows, m))  # O[src] (and O[src + 1]) as one matrix
        if inputs == 1:
            self.gemm(view(A, 0, (n, k)), B0, out, trans_b=True)
        else:
            self.gemm(view(A, n * k, (rows, k)), W, out, trans_b=True)  # [R(a); S(a)/2] Wᵀ
            self.gemm(view(A, 0, (rows, k)), V, out, trans_b=True, beta=1.0)  # + [a; R(a)] Vᵀ
        threads = self.tuning.threads
        blocks = min(math.ceil(n * m / threads), self._blocks_cap)
        self.kernels["epilogue"][blocks, threads](O, bias, src, inputs, mode, act, int(last))

    def activate(self, s, y, act):
        """``y = φ(s)`` for an element-wise output activation."""
        threads = self.tuning.threads
        blocks = min(math.ceil(s.size / threads), self._blocks_cap)
        self.kernels["activate"][blocks, threads](s, y, act)
