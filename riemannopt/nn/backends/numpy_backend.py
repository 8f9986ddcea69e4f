"""The numpy backend: forward pass, R and R/S forward passes, backward passes (paper App. C).

A network is given as ``params = [(W_1, b_1), ..., (W_l, b_l)]`` (layer ``i`` computes
``s_i = a_{i−1} W_iᵀ + b_i``, ``a_i = φ_i(s_i)``, rows are examples), the activation objects of
:mod:`riemannopt.nn.activations` and a loss object of :mod:`riemannopt.nn.losses` bound to the
output activation; :class:`NumpyBackend` binds them to one architecture.  A direction ``v`` is
passed unflattened like ``params`` (``vparams``).  Every product is the mean over the rows of
``X``.

Costs, counted in matrix products of a layer's size (a gradient is a forward pass, 1 product
per layer, plus a backward pass, 2 per layer):

* :meth:`NumpyBackend.fisher_vp` given a stored forward pass: R forward (2 per layer) +
  backward (2) — the Fisher-vector product ``J_sᵀ F_s J_s v`` (Martens, *New perspectives on
  the natural gradient method*, §8), with ``J_s`` the Jacobian of the output pre-activation;
* :meth:`NumpyBackend.connection_vp`: R/S forward (4 per layer) + **one** backward (2),
  Algorithms 1 and 2 fused;
* :meth:`NumpyBackend.term3`: R forward (2) + the R-operator applied to the backward pass (5),
  Algorithm 3.

The first layer is cheaper everywhere: its input does not depend on θ, so ``R(a_0) = S(a_0) = 0``
and no gradient with respect to ``a_0`` is formed.

Where the time goes.  The matrix products are BLAS ``?gemm`` calls through
:mod:`scipy.linalg.blas`, which take transposed operands by a flag and accumulate into their
output (``C ← αAB + βC``): no operand is copied, and ``R(s) = a Vᵀ + R(a) Wᵀ`` is two calls into
one array.  Everything between two products is one pass of a fused kernel
(:mod:`riemannopt.nn.backends._numpy_kernels`) that also forms the bias gradient.  Scratch
arrays (the R/S and backward signals) are allocated once per batch size and thread and reused;
a forward pass allocates only what it keeps.  float32 stays float32 throughout.
"""

import threading
from collections import namedtuple

import numpy as np
from scipy.linalg import blas

from riemannopt._checks import as_float_array
from riemannopt.nn.activations import get_activation
from riemannopt.nn.backends import _numpy_kernels as kern
from riemannopt.nn.backends.base import Backend, VectorOps
from riemannopt.nn.losses import make_loss

__all__ = ["NumpyBackend", "NumpyVectors", "Forward"]

Forward = namedtuple("Forward", ["params", "a", "s", "y"])
Forward.__doc__ = """A stored forward pass (eq. 18–19).

Attributes
----------
params : list of (ndarray, ndarray)
    ``[(W_1, b_1), ...]``, views into θ.
a : list of ndarray
    ``[a_0 = X, a_1, ..., a_{l−1}]``, the inputs of the ``l`` layers.
s : ndarray
    ``s_l``, the output pre-activation (logits), one row per example.
y : ndarray
    ``a_l = φ_l(s_l)``, the network outputs.
"""


class NumpyVectors(VectorOps):
    """Vector operations on numpy arrays in host memory."""

    # -- arrays ------------------------------------------------------------------------------

    def asarray(self, x, name):
        if hasattr(x, "__cuda_array_interface__"):  # a device array: one copy to the host
            x = x.get() if hasattr(x, "get") else x.copy_to_host()
        return as_float_array(x, name, self.dtype)

    def to_numpy(self, a):
        return np.asarray(a)

    def zeros(self, n):
        return np.zeros(n, dtype=self.dtype)

    def all_finite(self, a):
        if a.size and a.dtype == self.dtype and a.flags.c_contiguous:
            return bool(kern.all_finite(a.reshape(-1)))  # one pass, no boolean temporary
        return bool(np.isfinite(a).all())

    # -- vector operations -------------------------------------------------------------------

    def min_max(self, a):
        return float(a.min()), float(a.max())

    def dot(self, x, y):
        return float(x @ y)

    def axpby(self, a, x, b, y):
        out = np.multiply(x, a, dtype=self.dtype)
        out += b * y
        return out

    def axpy_(self, a, x, y):
        y += a * x
        return y

    def scale_(self, a, x):
        x *= a
        return x

    def multiply(self, x, y):
        return x * y

    def divide(self, x, y):
        return x / y

    def damped_power(self, d, lam, p):
        return (d + lam) ** p

    def copy(self, x):
        return np.array(x, dtype=self.dtype, copy=True)

    def adam_(self, theta, g, m, s, t, lr, beta1, beta2, eps):
        m *= beta1
        m += (1 - beta1) * g
        s *= beta2
        s += (1 - beta2) * g * g
        mhat = m / (1 - beta1**t)
        shat = s / (1 - beta2**t)
        theta -= lr * mhat / (np.sqrt(shat) + eps)
        return theta


class NumpyBackend(NumpyVectors, Backend):
    """Products computed with numpy and BLAS on the host (float32 or float64 throughout).

    Scratch arrays belong to the calling thread (and to one of the last
    :data:`KEPT_BATCH_SIZES` batch sizes), so one network's products may run from several
    threads at once.
    """

    name = "numpy"

    def __init__(self, layout, activations, loss, sigma, dtype, **options):
        if options:
            raise TypeError(f"the numpy backend takes no options, got {sorted(options)}")
        super().__init__(layout, activations, loss, sigma, np.dtype(dtype))
        self.acts = [get_activation(a) for a in self.activations]
        self.lossf = make_loss(loss, self.acts[-1], sigma)
        # The activations and the loss as the fused kernels take them (compiled per class).
        self._act_args = [kern.compiled(act) if act.elementwise else None for act in self.acts]
        self._loss_arg = kern.compiled(self.lossf)
        rows = self.lossf.rowwise
        self._gradient_kernel = kern.row_gradient_ if rows else kern.gradient_
        self._fisher_kernel = kern.row_fisher_ if rows else kern.fisher_
        self._connection_kernel = kern.row_connection_ if rows else kern.connection_
        single = self.dtype == np.float32
        self._blas_gemm = blas.sgemm if single else blas.dgemm
        self._blas_dot = blas.sdot if single else blas.ddot
        self._local = threading.local()

    def target_stats(self, T):
        return float(T.min()), float(T.max()), float(np.abs(T.sum(axis=1) - 1).max())

    def one_hot(self, labels, n_classes):
        out = np.zeros((len(labels), n_classes), dtype=self.dtype)
        out[np.arange(len(labels)), labels] = 1
        return out

    def dot(self, x, y):
        # The products' BLAS (scipy's), not numpy's: numpy and scipy may each bring their own
        # OpenBLAS, and with several threads the idle workers of one spin while the other works
        # (alternating numpy's and scipy's matrix products at two threads took each twice as
        # long as either alone), so CG's dot products stay on the library of its products.
        return float(self._blas_dot(x, y))

    # -- forward pass and products -----------------------------------------------------------

    def forward(self, theta, X):
        params = self.layout.views(theta)
        a = [X]
        for (W, b), act, arg in zip(params[:-1], self.acts[:-1], self._act_args):
            s = self._matmul(a[-1], W.T)
            if act.fused_value:  # one pass (the sigmoid: 5–10× faster than scipy's expit)
                kern.forward_(s, b, arg)
            else:  # a numpy ufunc (np.tanh is vectorized already)
                s += b
                act.value(s)
            a.append(s)
        W, b = params[-1]
        s = self._matmul(a[-1], W.T)
        if self.acts[-1].fused_value:
            y = np.empty_like(s)
            kern.forward_out(s, b, y, self._act_args[-1])
        else:
            s += b
            y = self.acts[-1].value(s.copy())
        return Forward(params, a, s, y)

    def outputs(self, fwd):
        return fwd.y

    def loss(self, fwd, T):
        return self.lossf.value(fwd.s, fwd.y, T) / len(fwd.y)

    def error(self, fwd, T, kind):
        if kind == "squared":
            r = fwd.y - T
            return float(np.vdot(r, r)) / len(r)
        if kind == "classification":
            return float(np.mean(np.argmax(fwd.y, axis=1) != np.argmax(T, axis=1)))
        raise ValueError(f"unknown error kind {kind!r}")

    def gradient(self, fwd, T):
        flat, views = self._new_vector()
        self._backward(fwd, self._gradient_signal(fwd, T, views[-1][1]), views)
        return flat

    def gradient_and_diag(self, fwd, T):
        flat, views = self._new_vector()
        sq, sq_views = self._new_vector()
        self._backward(fwd, self._gradient_signal(fwd, T, views[-1][1]), views, sq_views)
        return flat, sq

    def fisher_vp(self, fwd, v):
        rs = self._r_forward(fwd, self.layout.views(v))
        flat, views = self._new_vector()
        self._fisher_signal_(fwd, rs, views[-1][1])
        self._backward(fwd, rs, views)
        return flat

    def empirical_fisher_vp(self, fwd, T, v):
        # g_kᵀv = δ_kᵀ (J_s v)_k with δ_k = ∂ℓ_k/∂s: one R forward pass gives every g_kᵀv, and
        # Σ_k g_k (g_kᵀv) is one backward pass from the signals δ_k (g_kᵀv).
        rs = self._r_forward(fwd, self.layout.views(v))
        delta = self.lossf.grad_s(fwd.s, fwd.y, T)
        delta *= np.sum(delta * rs, axis=1, keepdims=True)
        return self._backward_from(fwd, _mean(delta))

    def connection_vp(self, fwd, v):
        rs, ss = self._rs_forward(fwd, self.layout.views(v))
        flat, views = self._new_vector()
        self._connection_signal_(fwd, rs, ss, views[-1][1])
        self._backward(fwd, rs, views)
        return flat

    def connection_terms(self, fwd, v):
        rs, ss = self._rs_forward(fwd, self.layout.views(v))
        d1, d2 = self.lossf.connection_s(fwd.y, rs, ss, split=True)
        return self._backward_from(fwd, _mean(d1)), self._backward_from(fwd, _mean(d2))

    def term3(self, fwd, v, lam=None):
        vparams = self.layout.views(v)
        rs, ras, rss = self._r_forward(fwd, vparams, keep=True)
        out = self.acts[-1]
        mu = self.lossf.natural_tangent(fwd.y, rs) if lam is None else lam * out.jvp(fwd.y, rs)
        ds = _mean(out.vjp_(fwd.y, mu.copy()))
        rds = _mean(out.rvjp(fwd.y, rs, mu))
        return self._backward_r(fwd, vparams, ras, rss, ds, rds)

    def perturb_vp(self, fwd, T, v):
        vparams = self.layout.views(v)
        rs, ras, rss = self._r_forward(fwd, vparams, keep=True)
        # R_v(J_sᵀ) w with w = ∂L/∂s + H_s R_v(s) held fixed: the R-operator of the backward pass
        # started from w, with R(w) = 0.
        w = self.lossf.grad_s(fwd.s, fwd.y, T)
        w += self.lossf.fisher_s(fwd.y, rs)
        out = self._backward_r(fwd, vparams, ras, rss, _mean(w), np.zeros_like(w))
        _, ss = self._rs_forward(fwd, vparams)
        if ss is not None:  # a one-layer network has S_v(s) = 0
            out += 0.5 * self._backward_from(fwd, _mean(self.lossf.fisher_s(fwd.y, ss)))
        return out

    # -- building blocks -----------------------------------------------------------------------

    def _gemm(self, A, B, C, alpha=1.0, beta=0.0):
        """``C ← alpha·A B + beta·C`` in place in the C-contiguous ``C``; returns ``C``.

        BLAS is column-major and a C-contiguous matrix is the transpose of a Fortran-ordered
        one, so the row-major ``C = A B`` is computed as the column-major ``Cᵀ = Bᵀ Aᵀ``.
        Transposed views (``W.T`` of a weight block, ``D.T`` of a signal) are Fortran-ordered
        and go in as they are with a transpose flag: no operand is copied unless it is neither
        C- nor Fortran-contiguous.
        """
        b, trans_b = _fortran(B)
        a, trans_a = _fortran(A)
        self._blas_gemm(alpha, b, a, beta, C.T, trans_b, trans_a, 1)
        return C

    def _matmul(self, A, B):
        """``A B`` in a new C-contiguous array."""
        return self._gemm(A, B, np.empty((A.shape[0], B.shape[1]), dtype=self.dtype))

    def _new_vector(self):
        """A new flat parameter-space vector and its layer views."""
        flat = np.empty(self.layout.n_params, dtype=self.dtype)
        return flat, self.layout.views(flat)

    def _workspace(self, n):
        """This thread's scratch arrays for a batch of ``n`` rows."""
        spaces = getattr(self._local, "spaces", None)
        if spaces is None:
            spaces = self._local.spaces = {}
        ws = spaces.get(n)
        if ws is None:
            while len(spaces) >= KEPT_BATCH_SIZES:
                del spaces[next(iter(spaces))]  # the oldest
            ws = spaces[n] = _Workspace(n, self.layout.sizes, self.dtype)
        return ws

    def _r_forward(self, fwd, vparams, keep=False):
        """R forward pass (Appendix C, lines 7–8 of Algorithm 1).

        ``R(s_i) = a_{i−1} V_iᵀ + R(a_{i−1}) W_iᵀ + c_i`` with ``(V_i, c_i)`` the direction's block,
        ``R(a_i) = φ'(s_i) ⊙ R(s_i)``.

        Returns
        -------
        rs : ndarray
            ``R_v(s_l)``: in this thread's workspace, or with ``keep`` a new array.
        ras, rss : list
            Only with ``keep``, in new arrays: ``[None, R(a_1), ..., R(a_{l−1})]`` (``None``:
            ``a_0 = X`` does not depend on θ) and ``[R(s_1), ..., R(s_{l−1})]``.
        """
        a, n, last = fwd.a, len(fwd.y), len(fwd.params) - 1
        ws = self._workspace(n)
        ra, ras, rss = None, [None], []
        for i, ((W, _), (V, c)) in enumerate(zip(fwd.params, vparams)):
            if keep:
                r = np.empty((n, W.shape[0]), dtype=self.dtype)
            else:  # layer i reads R(a_{i−1}) from one hidden buffer and writes the other
                r = _rows(ws.output if i == last else ws.hidden[i % 2], n, W.shape[0])
            self._gemm(a[i], V.T, r)
            if ra is not None:
                self._gemm(ra, W.T, r, beta=1.0)
            if i == last:
                r += c
                return (r, ras, rss) if keep else r
            if keep:
                r += c
                rss.append(r)
                ra = self.acts[i].jvp(a[i + 1], r)
                ras.append(ra)
            else:
                kern.r_epilogue_(a[i + 1], r, c, self._act_args[i])
                ra = r

    def _rs_forward(self, fwd, vparams):
        """R/S forward pass (Appendix C, lines 7–10 of Algorithm 1).

        ``S(s_i) = 2 R(a_{i−1}) V_iᵀ + S(a_{i−1}) W_iᵀ`` (``S(W) = S(b) = 0`` since θ moves on a line),
        ``S(a_i) = φ''(s_i) ⊙ R(s_i)² + φ'(s_i) ⊙ S(s_i)``.  ``R(a)`` and ``S(a)`` are stacked in
        one array of ``2n`` rows, so that ``R(a) Wᵀ`` and ``S(a) Wᵀ`` are one matrix product.

        Returns
        -------
        rs, ss : ndarray or None
            ``R_v(s_l)`` and ``S_v(s_l)``, in this thread's workspace; ``ss`` is ``None`` (zero)
            for a one-layer network.
        """
        a, n, last = fwd.a, len(fwd.y), len(fwd.params) - 1
        ws = self._workspace(n)
        stacked = None  # [R(a_{i−1}); S(a_{i−1})]
        for i, ((W, _), (V, c)) in enumerate(zip(fwd.params, vparams)):
            both = _rows(ws.output if i == last else ws.hidden[i % 2], 2 * n, W.shape[0])
            r, s = both[:n], both[n:]
            if stacked is None:
                self._gemm(a[i], V.T, r)
            else:
                self._gemm(stacked, W.T, both)
                self._gemm(a[i], V.T, r, beta=1.0)
                self._gemm(stacked[:n], V.T, s, alpha=2.0, beta=1.0)
            if i == last:
                r += c
                return r, (None if stacked is None else s)
            kern.rs_epilogue_(a[i + 1], r, s, c, self._act_args[i], stacked is not None)
            stacked = both

    def _scale(self, fwd):
        """``1/n`` times the loss's ``signal_scale`` (``1/σ²`` for ``squared``), as a scalar of the
        arrays' type."""
        return self.dtype.type(self.lossf.signal_scale / len(fwd.y))

    def _gradient_signal(self, fwd, T, gb):
        """``∂L/∂s`` scaled by ``1/n`` (in the workspace), and ``gb ← Σ_rows`` of it."""
        n, m = fwd.y.shape
        d = _rows(self._workspace(n).output, n, m)
        self._gradient_kernel(fwd.y, T, self._loss_arg, self._scale(fwd), d, gb)
        return d

    def _fisher_signal_(self, fwd, rs, gb):
        """``rs ← F_s R(s) / n`` in place, and ``gb ← Σ_rows`` of it."""
        self._fisher_kernel(fwd.y, rs, self._loss_arg, self._scale(fwd), gb)

    def _connection_signal_(self, fwd, rs, ss, gb):
        """``rs ←`` the signal of ``Γ_first(v, v)`` (:meth:`riemannopt.nn.losses.Loss.connection_s`)
        divided by ``n``, in place, and ``gb ← Σ_rows`` of it; ``ss`` is ``S(s)`` or ``None``."""
        has_ss = ss is not None
        ss = rs if ss is None else ss  # not read
        self._connection_kernel(fwd.y, rs, ss, has_ss, self._loss_arg, self._scale(fwd), gb)

    def _backward(self, fwd, ds, views, sq_views=None):
        """Backward pass (lines 14–19 of Algorithm 1): ``J_{s_l}ᵀ ds`` summed over the rows.

        ``D(W_i) = D(s_i)ᵀ a_{i−1}``, ``D(b_i) = Σ_rows D(s_i)``, ``D(a_{i−1}) = D(s_i) W_i``,
        ``D(s_{i−1}) = φ'(s_{i−1}) ⊙ D(a_{i−1})``, written into the layer views ``views`` of a
        flat vector whose last bias block already holds ``Σ_rows ds`` (the signal kernels form it).

        With ``sq_views`` (views of a second vector) it also forms ``n Σ_rows D(s_i)² ⊗ a_{i−1}²``:
        for a signal that is ``1/n`` times the per-example signals, the mean of the squared
        per-example gradients.
        """
        n = len(ds)
        ws = self._workspace(n)
        for i in reversed(range(len(views))):
            self._gemm(ds.T, fwd.a[i], views[i][0])
            if sq_views is not None:
                # Per-example gradients are outer products, so their squares are outer products
                # of the squares.
                qW, qb = sq_views[i]
                ds2 = ds * ds
                self._gemm(ds2.T, fwd.a[i] * fwd.a[i], qW, alpha=float(n))
                np.sum(ds2, axis=0, out=qb)
                qb *= n
            if i:
                W = fwd.params[i][0]
                # D(s) of layer i lives in one buffer (the output one for the last layer), and
                # D(a_{i−1}) is written to the other hidden one.
                da = self._gemm(ds, W, _rows(ws.hidden[i % 2], n, W.shape[1]))
                kern.backward_epilogue_(fwd.a[i], da, self._act_args[i - 1], views[i - 1][1])
                ds = da

    def _backward_from(self, fwd, ds):
        """:meth:`_backward` from a signal ``ds`` of new memory, into a new flat vector."""
        flat, views = self._new_vector()
        np.sum(ds, axis=0, out=views[-1][1])
        self._backward(fwd, ds, views)
        return flat

    def _backward_r(self, fwd, vparams, ras, rss, ds, rds):
        """R-operator of the backward pass (Algorithm 3, lines 10–19), returning ``R_v(D(θ))``.

        ``R(D(W_i)) = R(D(s_i))ᵀ a_{i−1} + D(s_i)ᵀ R(a_{i−1})``, ``R(D(b_i)) = Σ_rows R(D(s_i))``,
        ``R(D(a_{i−1})) = D(s_i) V_i + R(D(s_i)) W_i`` and
        ``R(D(s_{i−1})) = φ' ⊙ R(D(a_{i−1})) + φ'' ⊙ R(s_{i−1}) ⊙ D(a_{i−1})``.
        """
        flat, views = self._new_vector()
        for i in reversed(range(len(views))):
            gW, gb = views[i]
            self._gemm(rds.T, fwd.a[i], gW)
            if ras[i] is not None:
                self._gemm(ds.T, ras[i], gW, beta=1.0)
            np.sum(rds, axis=0, out=gb)
            if i:
                W, V = fwd.params[i][0], vparams[i][0]
                act = self.acts[i - 1]
                da = self._matmul(ds, W)
                rda = self._matmul(ds, V)
                self._gemm(rds, W, rda, beta=1.0)
                rds = act.vjp_(fwd.a[i], rda)
                rds += act.rvjp(fwd.a[i], rss[i - 1], da)
                ds = act.vjp_(fwd.a[i], da)
        return flat


#: Batch sizes whose scratch arrays a thread keeps (e.g. a gradient batch and a curvature batch).
KEPT_BATCH_SIZES = 4


class _Workspace:
    """Scratch arrays for a batch of ``n`` rows, reused by every product.

    Two hidden-layer arrays, between which the R/S forward and the backward pass alternate from
    layer to layer (``2n`` rows: ``R(a)`` stacked over ``S(a)``), and one for the output layer.
    """

    def __init__(self, n, sizes, dtype):
        width = max(sizes[1:-1], default=0)
        self.hidden = (np.empty(2 * n * width, dtype=dtype), np.empty(2 * n * width, dtype=dtype))
        self.output = np.empty(2 * n * sizes[-1], dtype=dtype)


def _rows(buf, rows, cols):
    """The first ``rows × cols`` entries of the flat array ``buf`` as a C-contiguous matrix."""
    return buf[: rows * cols].reshape(rows, cols)


def _fortran(M):
    """``(F, trans)``: a Fortran-ordered ``F`` with ``Fᵀ = M`` (``trans = 0``) or ``F = M``
    (``trans = 1``), so that ``op(F) = Mᵀ`` in a column-major BLAS call."""
    if M.flags.c_contiguous:
        return M.T, 0
    if M.flags.f_contiguous:
        return M, 1
    return np.ascontiguousarray(M).T, 0


def _mean(d):
    """Scales a per-example backward signal (a fresh array) so the backward pass averages."""
    d *= 1.0 / len(d)
    return d
