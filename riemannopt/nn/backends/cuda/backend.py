"""The CUDA backend: forward pass, products and vector operations on one GPU (numba-cuda).

The passes are those of :mod:`riemannopt.nn.backends.numpy_backend` (paper Appendix C), run as
kernels of this package on device memory:

* forward and R/S forward passes: one :class:`~.layers.LayerForward` launch per layer (fused
  products and activation epilogues, or cuBLAS GEMMs and an epilogue);
* output signals: :class:`~.signals.Signals`, in the stable forms of :mod:`riemannopt.nn.losses`;
* backward passes: per layer a TN product for ``D(W)``, a column sum for ``D(b)`` and an NN
  product for ``D(a)`` with ``φ'`` applied (fused into the own GEMM); the R-operator of
  Algorithm 3 adds two products and one element-wise kernel per layer.

θ, the data, the stored activations and every parameter-space vector stay on the device; only
the scalars of losses, errors and reductions are copied back.
"""

import math
import weakref

import numpy as np
from numba import cuda

from riemannopt.errors import BackendUnavailableError
from riemannopt.nn.activations import get_activation
from riemannopt.nn.backends.base import Backend
from riemannopt.nn.backends.cuda import config
from riemannopt.nn.backends.cuda.device import IDENTITY, act_code
from riemannopt.nn.backends.cuda.gemm import make_gemm
from riemannopt.nn.backends.cuda.layers import FWD, R_KEEP, RS, LayerForward, R
from riemannopt.nn.backends.cuda.signals import (
    CONNECTION,
    EMPIRICAL,
    FISHER,
    GRAD,
    PERTURB,
    ROW_ERROR,
    ROW_GAP,
    TERM3,
    Signals,
)
from riemannopt.nn.backends.cuda.vectors import SQDIFF, SUM, CudaVectors, layer_views, view
from riemannopt.nn.losses import make_loss

__all__ = ["CudaBackend", "Forward"]


class Forward:
    """A stored forward pass on the device (opaque to callers).

    Everything but the outputs lives in one device **arena** borrowed from the backend's pool
    (:meth:`CudaBackend.forward`): the hidden layers' stacks, the output pre-activation and the
    scratch matrices of the products, at the offsets of ``regions``.

    Attributes
    ----------
    theta : device array
        θ (the caller's copy; the layer views below point into it).
    params : list of (device array, device array)
        ``[(W_i, b_i)]``, views into θ.
    stacks : list of device arrays
        ``stacks[0] = X`` as shape ``(1, n, n_0)``; ``stacks[i]`` (``i ≥ 1``) of shape
        ``(3, n, n_i)`` holds ``[a_i, R(a_i), S(a_i)/2]`` (:mod:`~.layers`): slot 0 is written
        by the forward pass, slots 1–2 by each product's R or R/S pass.
    slots : list of tuples
        Views of the stacks' slots: ``slots[i][q]`` is ``stacks[i][q]`` (``slots[0] = (X,)``).
    s, y : device arrays, shape (n, n_l)
        The output pre-activation (in the arena) and the outputs (``y`` has memory of its own,
        so that it outlives the forward pass).
    n : int
        Number of examples.

    The products write their intermediate values into the arena, so one forward pass must not
    serve products running concurrently (from several host threads).
    """

    def __init__(self, theta, params, X, y, arena, regions):
        self.theta = theta
        self.params = params
        self.n = n = X.shape[0]
        self.y = y
        self._arena = arena
        self._regions = regions
        self._views = {}
        widths = [p[0].shape[0] for p in params[:-1]]
        self.stacks = [view(X, 0, (1,) + tuple(X.shape))] + [
            self.scratch(("stack", i), (3, n, w)) for i, w in enumerate(widths, start=1)
        ]
        self.slots = [(X,)] + [
            tuple(self.scratch(("stack", i), (n, w), q * n * w) for q in range(3))
            for i, w in enumerate(widths, start=1)
        ]
        self.s = self.scratch("s", tuple(y.shape))

    def scratch(self, key, shape, offset=0):
        """A ``shape`` view ``offset`` entries into the arena region ``key`` (made once)."""
        shape = tuple(shape)
        got = self._views.get((key, shape, offset))
        if got is None:
            start, size = self._regions[key]
            if offset + math.prod(shape) > size:
                raise ValueError(f"{shape} at {offset} overflows the scratch region {key!r} of {size}")
            got = self._views[(key, shape, offset)] = view(self._arena, start + offset, shape)
        return got


#: Free arenas a backend keeps for later forward passes.
POOLED_ARENAS = 3


class CudaBackend(CudaVectors, Backend):
    """Products computed by numba-cuda kernels on the current CUDA device.

    Every product takes and returns numba device arrays (``numba.cuda.cudadrv.devicearray
    .DeviceNDArray``) of :attr:`dtype`; ``MLP`` converts host inputs once and accepts numba,
    CuPy or any ``__cuda_array_interface__`` arrays without copying when their dtype and
    layout already fit (:meth:`asarray`).  Use :meth:`to_numpy` to read a result on the host,
    or ``cupy.asarray(result)`` to hand it to CuPy without a copy.

    Parameters
    ----------
    layout, activations, loss, sigma, dtype
        As for every :class:`~riemannopt.nn.backends.base.Backend`.
    gemm : {"auto", "numba", "cublas"}
        Who computes the matrix products: ``"numba"``, the backend's own tiled kernels with the
        layer epilogues fused in; ``"cublas"``, cuBLAS through CuPy (an optional dependency;
        raises BackendUnavailableError if CuPy is missing or fails its self-check);
        ``"auto"`` (default), cuBLAS when it works here, else the own kernels.

    Attributes
    ----------
    gemm : NumbaGemm or CublasGemm
        The chosen implementation; ``gemm.name`` is ``"numba"`` or ``"cublas"`` and
        ``gemm.fallback`` says why ``"auto"`` did not pick cuBLAS (None otherwise).
    """

    name = "cuda"

    def __init__(self, layout, activations, loss, sigma, dtype, *, gemm="auto"):
        super().__init__(layout, activations, loss, sigma, np.dtype(dtype))
        self.gemm = make_gemm(gemm, self.dtype, self.tuning)
        self._layer = LayerForward(self.gemm, self.dtype, self.tuning)
        out = get_activation(self.activations[-1])
        self.lossf = make_loss(loss, out, sigma)
        self._signals = Signals(self.dtype, self.tuning, self.lossf)
        self._prec = self.lossf.signal_scale
        # Hidden activation codes; the output layer writes its pre-activation (no φ).
        self._codes = [act_code(a) for a in self.activations[:-1]] + [IDENTITY]
        self._out_code = act_code(out.name) if out.elementwise else IDENTITY
        self._arenas = []  # free forward-pass arenas (see forward)

    @classmethod
    def check_available(cls):
        """Raise BackendUnavailableError if numba-cuda is not installed, or if no CUDA GPU and
        driver can be used (unless numba's CUDA simulator is on, which counts as a device)."""
        try:
            import numba_cuda  # noqa: F401  (the numba-cuda package, not numba's built-in target)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the 'cuda' backend needs numba-cuda, which cannot be imported ({exc}); "
                "install it with: pip install 'riemannopt[cuda]'"
            ) from exc
        if config.simulating():
            return
        try:
            ok = cuda.is_available()
            cuda.get_current_device()
        except Exception as exc:  # CudaSupportError and friends: no driver, no device
            # numba's message spans several lines; messages here are one line (the CLI prints them).
            cause = " ".join(str(exc).replace(":\n", " ").split()).rstrip(":")
            raise BackendUnavailableError(f"the 'cuda' backend found no usable CUDA GPU or driver: {cause}") from exc
        if not ok:
            raise BackendUnavailableError("the 'cuda' backend found no usable CUDA GPU or driver")

    def __repr__(self):
        return f"<cuda backend, {self.dtype.name}, gemm={self.gemm.name}>"

    # -- targets -----------------------------------------------------------------------------

    def target_stats(self, T):
        lo, hi = self.min_max(T)
        gaps = self.empty(T.shape[0])
        self._signals.row_stats(ROW_GAP, T, T, gaps)
        return lo, hi, self.min_max(gaps)[1]

    def one_hot(self, labels, n_classes):
        out = np.zeros((len(labels), n_classes), dtype=self.dtype)
        out[np.arange(len(labels)), labels] = 1
        return self.asarray(out, "T")

    # -- forward pass ------------------------------------------------------------------------

    def forward(self, theta, X):
        """The forward pass, in device memory borrowed from the backend's pool.

        numba has no caching allocator, and a forward pass with the scratch of its products
        needs up to about a gigabyte on the paper's networks (float64, batch 7500); each
        allocation would cost time, and numba frees device memory with a synchronizing call.
        So every :class:`Forward` takes one arena of the right size from a small pool, and a
        finalizer gives it back when the Forward is garbage-collected (at once in CPython,
        e.g. after ``backend.gradient(backend.forward(θ, X), T)``).  The outputs ``y`` are not
        in the arena, so they stay valid after that.
        """
        n = X.shape[0]
        regions, total = self._plan(n)
        arena = self._acquire(total)
        y = self.empty((n, self.layout.sizes[-1]))
        fwd = Forward(theta, layer_views(theta, self.layout), X, y, arena, regions)
        weakref.finalize(fwd, self._release, arena)
        last = len(fwd.params) - 1
        for i, (W, b) in enumerate(fwd.params):
            O = fwd.stacks[i + 1] if i < last else view(fwd.s, 0, (1,) + tuple(fwd.s.shape))
            self._layer(1, fwd.stacks[i], W, W, b, O, FWD, self._codes[i], i == last)
        if self.lossf.act.elementwise:
            self._layer.activate(fwd.s, y, self._out_code)
        else:
            self._signals.activate_rows(fwd.s, y)
        return fwd

    def _plan(self, n):
        """``({key: (offset, size)}, total)``: the arena of a forward pass of ``n`` examples."""
        sizes = self.layout.sizes
        widest, n_out = max(sizes), sizes[-1]
        parts = [(("stack", i), 3 * n * w) for i, w in enumerate(sizes[1:-1], start=1)]
        parts += [("s", n * n_out), ("out", 2 * n * n_out), ("rows", n)]
        parts += [(k, n * widest) for k in range(6)]  # scratch matrices 0–5 of the passes
        parts += [("colsum", 2 * self._signals.colsum_blocks(n) * widest)]
        regions, total = {}, 0
        for key, size in parts:
            regions[key] = (total, size)
            total += size
        return regions, total

    def _acquire(self, size):
        for i, arena in enumerate(self._arenas):
            if arena.shape[0] == size:
                return self._arenas.pop(i)
        return self.empty(size)

    def _release(self, arena):
        self._arenas.append(arena)
        del self._arenas[:-POOLED_ARENAS]

    def outputs(self, fwd):
        return fwd.y

    def loss(self, fwd, T):
        if self.lossf.rowwise:
            rows = fwd.scratch("rows", (fwd.n,))
            self._signals.row_values(fwd.s, fwd.y, T, rows)
            total = self._reduce(SUM, rows)[0]
        else:  # the loss's entries summed in float64
            total = self._sum_with(self._signals.kernels["value"], fwd.s, fwd.y, T)
        return self.lossf.value_scale * total / fwd.n

    def error(self, fwd, T, kind):
        if kind == "squared":
            return self._reduce(SQDIFF, fwd.y, T)[0] / fwd.n
        if kind == "classification":
            rows = fwd.scratch("rows", (fwd.n,))
            self._signals.row_stats(ROW_ERROR, fwd.y, T, rows)
            return self._reduce(SUM, rows)[0] / fwd.n
        raise ValueError(f"unknown error kind {kind!r}")

    # -- products ----------------------------------------------------------------------------

    def gradient(self, fwd, T):
        return self._backward(fwd, self._signal(fwd, GRAD, T=T))

    def gradient_and_diag(self, fwd, T):
        return self._backward(fwd, self._signal(fwd, GRAD, T=T), squares=True)

    def fisher_vp(self, fwd, v):
        rs, _ = self._r_forward(fwd, v, R)
        return self._backward(fwd, self._signal(fwd, FISHER, RS=rs))

    def empirical_fisher_vp(self, fwd, T, v):
        # g_kᵀv = δ_kᵀ (J_s v)_k: one R pass, then one backward pass from δ_k (g_kᵀv).
        rs, _ = self._r_forward(fwd, v, R)
        return self._backward(fwd, self._signal(fwd, EMPIRICAL, T=T, RS=rs))

    def connection_vp(self, fwd, v):
        rs, ss = self._r_forward(fwd, v, RS)
        return self._backward(fwd, self._signal(fwd, CONNECTION, RS=rs, SS=ss))

    def connection_terms(self, fwd, v):
        rs, ss = self._r_forward(fwd, v, RS)
        return tuple(self._backward(fwd, self._signal(fwd, CONNECTION, RS=rs, SS=ss, part=part)) for part in (1, 2))

    def term3(self, fwd, v, lam=None):
        vparams = layer_views(v, self.layout)
        rs, _ = self._r_forward(fwd, v, R_KEEP, vparams)
        if lam is not None:  # broadcastable to (n, n_out): make it two-dimensional
            lam = lam.reshape((1,) * (2 - lam.ndim) + tuple(lam.shape)) if lam.ndim < 2 else lam
        ds = self._buf(fwd, 0, fwd.y.shape)
        rds = self._buf(fwd, 1, fwd.y.shape)
        self._signals.output(TERM3, self._out_code, fwd.y, None, rs, None, lam, ds, rds, *self._scales(fwd))
        return self._backward_r(fwd, vparams, ds, rds)

    def perturb_vp(self, fwd, T, v):
        vparams = layer_views(v, self.layout)
        rs, _ = self._r_forward(fwd, v, R_KEEP, vparams)
        # R_v(J_sᵀ) w with w = ∂L/∂s + H_s R_v(s) held fixed: the R-backward from (w, R(w) = 0).
        w = self._signal(fwd, PERTURB, T=T, RS=rs, scratch=self._buf(fwd, 1, fwd.y.shape))
        zero = self._buf(fwd, 1, fwd.y.shape)
        self._vk["fill"][self._grid(zero.size)](view(zero, 0, (zero.size,)), self.dtype.type(0))
        out = self._backward_r(fwd, vparams, w, zero)
        if len(self.layout) > 1:  # a one-layer network has S_v(s) = 0
            _, ss = self._r_forward(fwd, v, RS, vparams)
            half = self._backward(fwd, self._signal(fwd, FISHER, RS=ss))
            self.axpy_(0.5, half, out)
        return out

    # -- passes ------------------------------------------------------------------------------

    def _buf(self, fwd, k, shape):
        """Scratch matrix ``k`` (0–5) of ``shape``, big enough for any layer's ``n × width``."""
        return fwd.scratch(k, shape)

    def _scales(self, fwd):
        """``(signal_scale / n, signal_scale, 1 / n)`` of the signals."""
        return self._prec / fwd.n, self._prec, 1.0 / fwd.n

    def _signal(self, fwd, kind, T=None, RS=None, SS=None, part=0, scratch=None):
        """The output signal ``kind`` (divided by n) in scratch matrix 0 (``scratch``: another
        one the kind may use)."""
        D = self._buf(fwd, 0, fwd.y.shape)
        self._signals.output(kind, self._out_code, fwd.y, T, RS, SS, None, D, scratch, *self._scales(fwd), part)
        return D

    def _r_forward(self, fwd, v, mode, vparams=None):
        """R (mode R or R_KEEP) or R/S (mode RS) forward pass along ``v``; returns the views
        ``(R(s_l), S(s_l))`` of the last layer's outputs (the second is meaningful in mode RS)."""
        vparams = layer_views(v, self.layout) if vparams is None else vparams
        out = fwd.scratch("out", (2,) + tuple(fwd.y.shape))
        last = len(fwd.params) - 1
        for i, ((W, _), (V, c)) in enumerate(zip(fwd.params, vparams)):
            inputs = 1 if i == 0 else (3 if mode == RS else 2)
            O = out if i == last else fwd.stacks[i + 1]
            self._layer(inputs, fwd.stacks[i], W, V, c, O, mode, self._codes[i], i == last)
        size = fwd.y.size
        return fwd.scratch("out", fwd.y.shape), fwd.scratch("out", fwd.y.shape, size)

    def _colsum(self, fwd, D, out, out_sq=None, scale=1.0):
        P = fwd.scratch("colsum", (2 * self._signals.colsum_blocks(fwd.n) * D.shape[1],))
        self._signals.colsum(D, out, P, out_sq, scale)

    def _backward(self, fwd, ds, squares=False):
        """``J_sᵀ ds`` summed over the rows (Algorithm 1, lines 14–19) into a new flat vector;
        with ``squares`` also ``n Σ_rows D(s_i)² ⊗ a_{i−1}²`` (the empirical-Fisher diagonal)."""
        n = fwd.n
        flat = self.empty(self.layout.n_params)
        sq = self.empty(self.layout.n_params) if squares else None
        sq_views = layer_views(sq, self.layout) if squares else None
        k = 0
        for i, (gW, gb) in reversed(list(enumerate(layer_views(flat, self.layout)))):
            a = fwd.slots[i][0]
            self.gemm(ds, a, gW, trans_a=True)
            if squares:
                qW, qb = sq_views[i]
                ds2, a2 = self._buf(fwd, 4, ds.shape), self._buf(fwd, 5, a.shape)
                self._signals.square(ds, ds2)
                self._signals.square(a, a2)
                self.gemm(ds2, a2, qW, trans_a=True, alpha=float(n))
                self._colsum(fwd, ds, gb, qb, float(n))
            else:
                self._colsum(fwd, ds, gb)
            if i:
                k = 1 - k
                nxt = self._buf(fwd, k, a.shape)
                W = fwd.params[i][0]
                if self.gemm.fuses_vjp:
                    self.gemm(ds, W, nxt, act=self._codes[i - 1], Z=a)
                else:
                    self.gemm(ds, W, nxt)
                    self._signals.vjp(nxt, a, self._codes[i - 1])
                ds = nxt
        return (flat, sq) if squares else flat

    def _backward_r(self, fwd, vparams, ds, rds):
        """R-operator of the backward pass (Algorithm 3, lines 10–19): ``R_v(D(θ))`` from the
        signals ``ds`` (scratch 0) and ``rds`` (scratch 1); needs an R_KEEP forward pass."""
        flat = self.empty(self.layout.n_params)
        pair = 0
        for i, (gW, gb) in reversed(list(enumerate(layer_views(flat, self.layout)))):
            slots = fwd.slots[i]
            a = slots[0]
            self.gemm(rds, a, gW, trans_a=True)
            if i:
                self.gemm(ds, slots[1], gW, trans_a=True, beta=1.0)  # + D(s)ᵀ R(a)
            self._colsum(fwd, rds, gb)
            if i:
                W, V = fwd.params[i][0], vparams[i][0]
                pair = 2 - pair
                da, rda = self._buf(fwd, pair, a.shape), self._buf(fwd, pair + 1, a.shape)
                self.gemm(ds, W, da)
                self.gemm(ds, V, rda)
                self.gemm(rds, W, rda, beta=1.0)
                self._signals.rvjp(da, rda, a, slots[2], self._codes[i - 1])
                ds, rds = da, rda
        return flat
