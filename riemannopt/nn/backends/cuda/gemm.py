r"""Matrix products on the device: the backend's own tiled kernels and cuBLAS through CuPy.

Every matrix is a C-contiguous (row-major) two-dimensional device array, as the layer views of
θ (:class:`~riemannopt.nn.layout.Layout`) and the activation buffers are.  A product

.. math::  C \leftarrow \alpha\, \mathrm{op}(A)\, \mathrm{op}(B) + \beta C
           \quad (\text{then } C \leftarrow \phi'(Z) \odot C \text{ if asked}),

``op(A) = A`` or ``Aᵀ`` (``trans_a``), covers the three shapes of a network's passes, with ``n``
examples, ``k`` inputs and ``m`` outputs of a layer:

* NT, ``s = a Wᵀ`` (forward; ``n × k`` by ``(m × k)ᵀ``);
* NN, ``D(a) = D(s) W`` (backward; with the factor ``φ'(a)`` of the layer below fused);
* TN, ``D(W) = D(s)ᵀ a`` (backward; the inner dimension is the batch, so it is long while the
  output is small, and the kernel splits it across ``gridDim.z``, summing the partial products
  in a second kernel in a fixed order, so that results do not depend on scheduling).

:class:`NumbaGemm` runs the kernels below; :class:`CublasGemm` calls cuBLAS through CuPy's
low-level binding on the same memory, handing it the device pointers of
``__cuda_array_interface__`` (no copy, no CuPy array), on the legacy default stream that numba
launches on, so the two interleave in order.  :func:`make_gemm` picks one.
"""

import functools
import math

import numpy as np
from numba import cuda, from_dtype

from riemannopt.errors import BackendUnavailableError, MethodError
from riemannopt.nn.backends.cuda.config import default_tuning, sm_count, tiles_for
from riemannopt.nn.backends.cuda.device import device_functions
from riemannopt.nn.backends.cuda.vectors import view

__all__ = ["NumbaGemm", "CublasGemm", "make_gemm", "gemm_kernels", "GEMM_OPTIONS"]

#: Values of the ``gemm`` backend option.
GEMM_OPTIONS = ("auto", "numba", "cublas")

#: No epilogue (the ``act`` argument of the kernels).
NO_ACT = -1


def _tile_kernel(tiles, dtype, trans_a, trans_b):
    """The tiled, register-blocked product ``op(A) op(B)`` for one layout.

    A block of ``(bn/tn) × (bm/tm)`` threads owns a ``bm × bn`` tile of ``C``; at each step of
    ``bk`` along the inner dimension it stages ``op(A)[tile rows, k..k+bk]`` and
    ``op(B)[k..k+bk, tile cols]`` in shared memory, k-major, so that each thread then reads
    ``tm + tn`` values per ``k`` and makes ``tm·tn`` multiply-adds in registers.  Thread
    ``(tx, ty)`` owns rows ``ty + i·(bm/tm)`` and columns ``tx + j·(bn/tn)``: consecutive
    threads touch consecutive columns, so stores coalesce and shared reads do not conflict.
    Loads follow the operand's memory order (consecutive threads along its contiguous axis).
    """
    bm, bn, bk, tm, tn = tiles
    tx_n, ty_n = bn // tn, bm // tm
    nthreads = tx_n * ty_n
    # One padding column: the row-major loads store down a column of the k-major tile, which
    # without it would hit one shared-memory bank bk times.
    a_cols, b_cols = bm + 1, bn + 1
    loads_a, loads_b = bm * bk // nthreads, bn * bk // nthreads
    assert loads_a * nthreads == bm * bk and loads_b * nthreads == bn * bk, tiles
    nbt = from_dtype(dtype)
    f = device_functions(dtype)
    zero = f.zero
    d1 = f.d1

    def gemm(A, B, C, Z, P, alpha, beta, act, k_len):
        """``C = (α op(A) op(B) + β C) ⊙ φ'(Z)`` over the ``k`` range ``[z·k_len, (z+1)·k_len)``
        of block ``z``; with more than one block along z, the raw partial products go to
        ``P[z]`` instead and :func:`_splitk_kernel` finishes."""
        M = C.shape[0]
        N = C.shape[1]
        K = A.shape[0] if trans_a else A.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * tx_n + tx
        m0 = cuda.blockIdx.y * bm
        n0 = cuda.blockIdx.x * bn
        z = cuda.blockIdx.z
        k_begin = z * k_len
        k_end = min(K, k_begin + k_len)
        As = cuda.shared.array((bk, a_cols), nbt)
        Bs = cuda.shared.array((bk, b_cols), nbt)
        acc = cuda.local.array((tm, tn), nbt)
        af = cuda.local.array(tm, nbt)
        bf = cuda.local.array(tn, nbt)
        for i in range(tm):
            for j in range(tn):
                acc[i, j] = zero
        for k0 in range(k_begin, k_end, bk):
            for l in range(loads_a):
                e = tid + l * nthreads
                if trans_a:  # A is (K, M): consecutive threads along M
                    kk = e // bm
                    mm = e - kk * bm
                    gk = k0 + kk
                    gm = m0 + mm
                    As[kk, mm] = A[gk, gm] if gk < k_end and gm < M else zero
                else:  # A is (M, K): consecutive threads along K
                    mm = e // bk
                    kk = e - mm * bk
                    gk = k0 + kk
                    gm = m0 + mm
                    As[kk, mm] = A[gm, gk] if gk < k_end and gm < M else zero
            for l in range(loads_b):
                e = tid + l * nthreads
                if trans_b:  # B is (N, K)
                    nn = e // bk
                    kk = e - nn * bk
                    gk = k0 + kk
                    gn = n0 + nn
                    Bs[kk, nn] = B[gn, gk] if gk < k_end and gn < N else zero
                else:  # B is (K, N)
                    kk = e // bn
                    nn = e - kk * bn
                    gk = k0 + kk
                    gn = n0 + nn
                    Bs[kk, nn] = B[gk, gn] if gk < k_end and gn < N else zero
            cuda.syncthreads()
            for kk in range(bk):
                for i in range(tm):
                    af[i] = As[kk, ty + i * ty_n]
                for j in range(tn):
                    bf[j] = Bs[kk, tx + j * tx_n]
                for i in range(tm):
                    for j in range(tn):
                        acc[i, j] += af[i] * bf[j]
            cuda.syncthreads()
        split = cuda.gridDim.z > 1
        for i in range(tm):
            r = m0 + ty + i * ty_n
            if r < M:
                for j in range(tn):
                    c = n0 + tx + j * tx_n
                    if c < N:
                        if split:
                            P[z, r, c] = acc[i, j]
                        else:
                            out = alpha * acc[i, j]
                            if beta != zero:
                                out += beta * C[r, c]
                            if act >= 0:
                                out *= d1(act, Z[r, c])
                            C[r, c] = out

    return gemm


def _splitk_kernel(dtype):
    f = device_functions(dtype)
    zero, d1 = f.zero, f.d1

    def splitk(P, C, Z, alpha, beta, act):
        """``C = (α Σ_z P[z] + β C) ⊙ φ'(Z)``, summing the partial products in order of ``z``."""
        M = C.shape[0]
        N = C.shape[1]
        start = cuda.grid(1)
        stride = cuda.gridsize(1)
        for e in range(start, M * N, stride):
            r = e // N
            c = e - r * N
            s = zero
            for z in range(P.shape[0]):
                s += P[z, r, c]
            out = alpha * s
            if beta != zero:
                out += beta * C[r, c]
            if act >= 0:
                out *= d1(act, Z[r, c])
            C[r, c] = out

    return splitk


@functools.lru_cache(maxsize=None)
def gemm_kernels(dtype, tuning):
    """``{"nn", "nt", "tn", "splitk"}`` → CUDA dispatchers for ``dtype`` and ``tuning``."""
    dtype = np.dtype(dtype)
    tiles = tiles_for(tuning, "gemm", dtype)
    kernels = {
        name: cuda.jit(_tile_kernel(tiles, dtype, ta, tb))
        for name, ta, tb in (("nn", False, False), ("nt", False, True), ("tn", True, False))
    }
    kernels["splitk"] = cuda.jit(_splitk_kernel(dtype))
    return kernels


def gemm_signatures(dtype):
    """Argument types of :func:`gemm_kernels`' kernels (C-contiguous arrays), for PTX tests."""
    t = from_dtype(np.dtype(dtype))
    m2, m3 = t[:, ::1], t[:, :, ::1]
    from numba import int64

    tile = (m2, m2, m2, m2, m3, t, t, int64, int64)
    return {"nn": tile, "nt": tile, "tn": tile, "splitk": (m3, m2, m2, t, t, int64)}


class NumbaGemm:
    """The backend's own GEMM kernels.

    Parameters
    ----------
    dtype : numpy.dtype
    tuning : riemannopt.nn.backends.cuda.config.Tuning, optional
        Tile sizes (default: :func:`~riemannopt.nn.backends.cuda.config.default_tuning`).
    """

    name = "numba"
    #: The NN product can apply ``φ'(Z)`` in its epilogue.
    fuses_vjp = True

    def __init__(self, dtype, tuning=None):
        self.dtype = np.dtype(dtype)
        self.tuning = tuning or default_tuning()
        self.tiles = tiles_for(self.tuning, "gemm", self.dtype)
        self.kernels = gemm_kernels(self.dtype, self.tuning)
        self._sms = sm_count()
        self._partials = None
        # Stand-ins for the Z and P arguments when there is no epilogue or no split.
        self._dummy = cuda.device_array((1, 1, 1), dtype=self.dtype)
        self._dummy2 = view(self._dummy, 0, (1, 1))

    def splits_for(self, M, N, K):
        """How many blocks share the inner dimension: enough for about two blocks per
        multiprocessor, each with at least eight ``bk`` steps."""
        bm, bn, bk = self.tiles.bm, self.tiles.bn, self.tiles.bk
        blocks = math.ceil(M / bm) * math.ceil(N / bn)
        return max(1, min(math.ceil(2 * self._sms / blocks), K // (8 * bk)))

    def __call__(self, A, B, C, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, act=NO_ACT, Z=None, splits=None):
        """``C = (α op(A) op(B) + β C) ⊙ φ'(Z)`` in place (``φ'`` only if ``act`` is an
        activation code, :mod:`~riemannopt.nn.backends.cuda.device`); returns ``C``.

        ``splits`` overrides the number of inner-dimension splits (:meth:`splits_for`).
        """
        M, N = C.shape
        K = A.shape[0] if trans_a else A.shape[1]
        bm, bn, bk, tm, tn = self.tiles
        if splits is None:
            splits = self.splits_for(M, N, K)
        k_len = bk * math.ceil(math.ceil(K / splits) / bk)
        splits = math.ceil(K / k_len)
        t = self.dtype.type
        Z = self._dummy2 if Z is None else Z
        P = self._dummy
        if splits > 1:
            P = view(self._workspace(splits * M * N), 0, (splits, M, N))
        kernel = self.kernels[("t" if trans_a else "n") + ("t" if trans_b else "n")]
        grid = (math.ceil(N / bn), math.ceil(M / bm), splits)
        kernel[grid, (bn // tn, bm // tm)](A, B, C, Z, P, t(alpha), t(beta), act, k_len)
        if splits > 1:
            threads = self.tuning.threads
            blocks = min(math.ceil(M * N / threads), self.tuning.max_blocks * self._sms)
            self.kernels["splitk"][blocks, threads](P, C, Z, t(alpha), t(beta), act)
        return C

    def _workspace(self, size):
        # One buffer reused by every split product: launches on one stream run in order.
        if self._partials is None or self._partials.shape[0] < size:
            self._partials = cuda.device_array(size, dtype=self.dtype)
        return self._partials


class CublasGemm:
    """cuBLAS ``sgemm``/``dgemm`` through CuPy's binding, on numba device arrays.

    A row-major ``C = op(A) op(B)`` is the column-major ``Cᵀ = op(B)ᵀ op(A)ᵀ``, and a row-major
    array read column-major is its transpose; so cuBLAS gets ``B`` before ``A`` with the same
    transpose flags, leading dimensions equal to the row lengths, and ``m, n = N, M``.

    Raises
    ------
    BackendUnavailableError
        If CuPy (or its cuBLAS) cannot be imported or used; the message says which.
    """

    name = "cublas"
    fuses_vjp = False

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        try:
            from cupy.cuda import Stream, device
            from cupy_backends.cuda.libs import cublas
        except Exception as exc:  # ImportError, or a CUDA error raised while CuPy loads
            raise BackendUnavailableError(f"cuBLAS GEMMs need CuPy, which cannot be imported: {exc}") from exc
        self._cublas = cublas
        self._device = device
        self._null_stream = Stream.null
        self._fn = cublas.sgemm if self.dtype == np.float32 else cublas.dgemm
        # Host scalars for α and β (host pointer mode), kept alive with the object.
        self._alpha = np.zeros(1, dtype=self.dtype)
        self._beta = np.zeros(1, dtype=self.dtype)

    def __call__(self, A, B, C, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
        """``C = α op(A) op(B) + β C`` in place; returns ``C``."""
        M, N = C.shape
        K = A.shape[0] if trans_a else A.shape[1]
        cublas = self._cublas
        self._alpha[0] = alpha
        self._beta[0] = beta
        op_a = cublas.CUBLAS_OP_T if trans_a else cublas.CUBLAS_OP_N
        op_b = cublas.CUBLAS_OP_T if trans_b else cublas.CUBLAS_OP_N
        # The legacy default stream, where numba launches: CuPy's binding points the handle at
        # CuPy's current stream before each call, so make that the null stream too.
        with self._null_stream:
            handle = self._device.get_cublas_handle()
            cublas.setStream(handle, 0)
            cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
            self._fn(
                handle,
                op_b,
                op_a,
                N,
                M,
                K,
                self._alpha.ctypes.data,
                _pointer(B),
                B.shape[1],
                _pointer(A),
                A.shape[1],
                self._beta.ctypes.data,
                _pointer(C),
                N,
            )
        return C


def _pointer(a):
    """The device address of a C-contiguous device array, from its CUDA array interface."""
    return a.__cuda_array_interface__["data"][0]


def _check(gemm, dtype):
    """Run ``gemm`` on small NN, NT and TN products and compare with numpy on the host; raises
    BackendUnavailableError on a mismatch (a wrong binding would otherwise corrupt results)."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4, 5)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    cases = (
        (A, B, False, False, A @ B),
        (A, np.ascontiguousarray(B.T), False, True, A @ B),
        (A, np.ascontiguousarray(B[:3]), True, False, A.T @ B[:3]),
    )
    for a, b, ta, tb, want in cases:
        C = cuda.to_device(np.ones_like(want))
        gemm(cuda.to_device(a), cuda.to_device(b), C, ta, tb, 2.0, 0.5)
        got = C.copy_to_host()
        if not np.allclose(got, 2 * want + 0.5, rtol=tol, atol=tol):
            raise BackendUnavailableError(
                f"cuBLAS through CuPy gave a wrong {'T' if ta else 'N'}{'T' if tb else 'N'} product; not using it"
            )


def make_gemm(option, dtype, tuning=None):
    """The GEMM implementation for the backend option ``gemm``.

    ``"numba"``: :class:`NumbaGemm`; ``"cublas"``: :class:`CublasGemm`, or
    BackendUnavailableError naming why it cannot run; ``"auto"``: cuBLAS when CuPy is importable
    and passes a small self-check on this device, else the own kernels.

    Returns
    -------
    NumbaGemm or CublasGemm
        With attribute ``fallback``: why ``"auto"`` did not choose cuBLAS (None otherwise).
    """
    if option not in GEMM_OPTIONS:
        raise MethodError(f"unknown gemm option {option!r}; expected one of {list(GEMM_OPTIONS)}")
    dtype = np.dtype(dtype)
    reason = None
    if option in ("auto", "cublas"):
        try:
            gemm = _checked_cublas(dtype)
            gemm.fallback = None
            return gemm
        except BackendUnavailableError as exc:
            if option == "cublas":
                raise
            reason = str(exc)
    gemm = NumbaGemm(dtype, tuning)
    gemm.fallback = reason
    return gemm


@functools.lru_cache(maxsize=None)
def _cublas_status(dtype):
    """``(CublasGemm, None)`` if cuBLAS works here for ``dtype``, else ``(None, reason)``; cached
    so that each process checks once."""
    try:
        gemm = CublasGemm(dtype)
        _check(gemm, dtype)
    except BackendUnavailableError as exc:
        return None, str(exc)
    except Exception as exc:  # a CUDA or CuPy error: cuBLAS is not usable here
        return None, f"cuBLAS through CuPy failed: {type(exc).__name__}: {exc}"
    return gemm, None


def _checked_cublas(dtype):
    gemm, reason = _cublas_status(dtype)
    if gemm is None:
        raise BackendUnavailableError(reason)
    return CublasGemm(dtype)
