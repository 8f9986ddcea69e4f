"""The numpy backend: forward pass, R and R/S forward passes, backward passes (paper App. C).

Pure functions over a network given as ``params = [(W_1, b_1), ..., (W_l, b_l)]`` (layer ``i``
computes ``s_i = a_{i−1} W_iᵀ + b_i``, ``a_i = φ_i(s_i)``, rows are examples), the list ``acts``
of the ``l`` activation objects and a loss object bound to the output activation
(:mod:`riemannopt.nn.activations`, :mod:`riemannopt.nn.losses`); :class:`NumpyBackend` binds
them to one architecture.  A direction ``v`` is passed unflattened like ``params``
(``vparams``).  Every product is the mean over the rows of ``X``.

Costs, counted in matrix products of a layer's size (a gradient is a forward pass, 1 product
per layer, plus a backward pass, 2 per layer):

* :func:`fisher_vp` given a stored forward pass: R forward (2 per layer) + backward (2) — the
  Fisher-vector product ``J_sᵀ F_s J_s v`` (Martens, *New perspectives on the natural gradient
  method*, §8), with ``J_s`` the Jacobian of the output pre-activation;
* :func:`connection_vp`: R/S forward (4 per layer) + **one** backward (2), Algorithms 1 and 2
  fused;
* :func:`term3`: R forward (2) + the R-operator applied to the backward pass (5), Algorithm 3.

The first layer is cheaper everywhere: its input does not depend on θ, so ``R(a_0) = S(a_0) = 0``
and no gradient with respect to ``a_0`` is formed.
"""

from collections import namedtuple

import numpy as np

from riemannopt._checks import as_float_array
from riemannopt.nn.activations import get_activation
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
    """Products computed with numpy on the host (float32 or float64 throughout)."""

    name = "numpy"

    def __init__(self, layout, activations, loss, sigma, dtype, **options):
        if options:
            raise TypeError(f"the numpy backend takes no options, got {sorted(options)}")
        super().__init__(layout, activations, loss, sigma, dtype)
        self.acts = [get_activation(a) for a in self.activations]
        self.lossf = make_loss(loss, self.acts[-1], sigma)

    def target_stats(self, T):
        return float(T.min()), float(T.max()), float(np.abs(T.sum(axis=1) - 1).max())

    def one_hot(self, labels, n_classes):
        out = np.zeros((len(labels), n_classes), dtype=self.dtype)
        out[np.arange(len(labels)), labels] = 1
        return out

    # -- forward pass and products -----------------------------------------------------------

    def forward(self, theta, X):
        return forward(self.layout.views(theta), self.acts, X)

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
        return self._backward(fwd, _mean(self.lossf.grad_s(fwd.s, fwd.y, T)))

    def gradient_and_diag(self, fwd, T):
        return self._backward(fwd, _mean(self.lossf.grad_s(fwd.s, fwd.y, T)), squares=True)

    def fisher_vp(self, fwd, v):
        rs, _, _ = _r_forward(fwd.params, self.layout.views(v), self.acts, fwd.a)
        return self._backward(fwd, _mean(self.lossf.fisher_s(fwd.y, rs)))

    def empirical_fisher_vp(self, fwd, T, v):
        # g_kᵀv = δ_kᵀ (J_s v)_k with δ_k = ∂ℓ_k/∂s: one R forward pass gives every g_kᵀv, and
        # Σ_k g_k (g_kᵀv) is one backward pass from the signals δ_k (g_kᵀv).
        rs, _, _ = _r_forward(fwd.params, self.layout.views(v), self.acts, fwd.a)
        delta = self.lossf.grad_s(fwd.s, fwd.y, T)
        delta *= np.sum(delta * rs, axis=1, keepdims=True)
        return self._backward(fwd, _mean(delta))

    def connection_vp(self, fwd, v):
        rs, ss = _rs_forward(fwd.params, self.layout.views(v), self.acts, fwd.a)
        return self._backward(fwd, _mean(self.lossf.connection_s(fwd.y, rs, ss)))

    def connection_terms(self, fwd, v):
        rs, ss = _rs_forward(fwd.params, self.layout.views(v), self.acts, fwd.a)
        d1, d2 = self.lossf.connection_s(fwd.y, rs, ss, split=True)
        return self._backward(fwd, _mean(d1)), self._backward(fwd, _mean(d2))

    def term3(self, fwd, v, lam=None):
        vparams = self.layout.views(v)
        rs, ras, rss = _r_forward(fwd.params, vparams, self.acts, fwd.a)
        out = self.acts[-1]
        mu = self.lossf.natural_tangent(fwd.y, rs) if lam is None else lam * out.jvp(fwd.y, rs)
        ds = _mean(out.vjp_(fwd.y, mu.copy()))
        rds = _mean(out.rvjp(fwd.y, rs, mu))
        return self._backward_r(fwd, vparams, ras, rss, ds, rds)

    def perturb_vp(self, fwd, T, v):
        vparams = self.layout.views(v)
        rs, ras, rss = _r_forward(fwd.params, vparams, self.acts, fwd.a)
        # R_v(J_sᵀ) w with w = ∂L/∂s + H_s R_v(s) held fixed: the R-operator of the backward pass
        # started from w, with R(w) = 0.
        w = self.lossf.grad_s(fwd.s, fwd.y, T)
        w += self.lossf.fisher_s(fwd.y, rs)
        out = self._backward_r(fwd, vparams, ras, rss, _mean(w), np.zeros_like(w))
        _, ss = _rs_forward(fwd.params, vparams, self.acts, fwd.a)
        if ss is not None:  # a one-layer network has S_v(s) = 0
            half = self._backward(fwd, _mean(self.lossf.fisher_s(fwd.y, ss)))
            out += 0.5 * half
        return out

    def _backward(self, fwd, ds, squares=False):
        return _backward(fwd.params, self.acts, fwd.a, ds, self.layout, squares)

    def _backward_r(self, fwd, vparams, ras, rss, ds, rds):
        return _backward_r(fwd.params, vparams, self.acts, fwd.a, ras, rss, ds, rds, self.layout)


def forward(params, acts, X):
    """Forward pass (eq. 18–19), keeping every layer's input for the backward passes."""
    a = [X]
    for (W, b), act in zip(params[:-1], acts[:-1]):
        s = a[-1] @ W.T
        s += b
        a.append(act.value(s))
    W, b = params[-1]
    s = a[-1] @ W.T
    s += b
    return Forward(params, a, s, acts[-1].value(s.copy()))


def _mean(d):
    """Scales a per-example backward signal (a fresh array) so the backward pass averages."""
    d *= 1.0 / len(d)
    return d


def _r_forward(params, vparams, acts, a):
    """R forward pass (Appendix C, lines 7–8 of Algorithm 1).

    ``R(s_i) = a_{i−1} V_iᵀ + R(a_{i−1}) W_iᵀ + c_i`` with ``(V_i, c_i)`` the direction's block,
    ``R(a_i) = φ'(s_i) ⊙ R(s_i)``.

    Returns
    -------
    rs : ndarray
        ``R_v(s_l)``.
    ras : list
        ``[None, R(a_1), ..., R(a_{l−1})]`` (``None``: ``a_0 = X`` does not depend on θ).
    rss : list
        ``[R(s_1), ..., R(s_{l−1})]``.
    """
    ra = None
    ras, rss = [None], []
    last = len(params) - 1
    for i, ((W, _), (V, c)) in enumerate(zip(params, vparams)):
        rs = a[i] @ V.T
        rs += c
        if ra is not None:
            rs += ra @ W.T
        if i == last:
            return rs, ras, rss
        ra = acts[i].jvp(a[i + 1], rs)
        ras.append(ra)
        rss.append(rs)


def _rs_forward(params, vparams, acts, a):
    """R/S forward pass (Appendix C, lines 7–10 of Algorithm 1).

    ``S(s_i) = 2 R(a_{i−1}) V_iᵀ + S(a_{i−1}) W_iᵀ`` (``S(W) = S(b) = 0`` since θ moves on a line),
    ``S(a_i) = φ''(s_i) ⊙ R(s_i)² + φ'(s_i) ⊙ S(s_i)``.

    Returns
    -------
    rs, ss : ndarray or None
        ``R_v(s_l)`` and ``S_v(s_l)``; ``ss`` is ``None`` (zero) for a one-layer network.
    """
    ra = sa = None
    last = len(params) - 1
    for i, ((W, _), (V, c)) in enumerate(zip(params, vparams)):
        rs = a[i] @ V.T
        rs += c
        ss = None
        if ra is not None:
            rs += ra @ W.T
            ss = ra @ V.T
            ss *= 2
            if sa is not None:
                ss += sa @ W.T
        if i == last:
            return rs, ss
        ra, sa = acts[i].jvp2(a[i + 1], rs, ss)


def _backward(params, acts, a, ds, layout, squares=False):
    """Backward pass (lines 14–19 of Algorithm 1): ``J_{s_l}ᵀ ds`` summed over the rows.

    ``D(W_i) = D(s_i)ᵀ a_{i−1}``, ``D(b_i) = Σ_rows D(s_i)``, ``D(a_{i−1}) = D(s_i) W_i``,
    ``D(s_{i−1}) = φ'(s_{i−1}) ⊙ D(a_{i−1})``.  Writes straight into one flat vector.

    With ``squares=True`` it also returns ``n Σ_rows D(s_i)² ⊗ a_{i−1}²``: for a signal that is
    ``1/n`` times the per-example signals, the mean of the squared per-example gradients.
    """
    n = len(ds)
    flat = np.empty(layout.n_params, dtype=ds.dtype)
    sq = np.empty_like(flat) if squares else None
    sq_views = layout.views(sq) if squares else None
    for i, (gW, gb) in reversed(list(enumerate(layout.views(flat)))):
        np.matmul(ds.T, a[i], out=gW)
        np.sum(ds, axis=0, out=gb)
        if squares:
            # Per-example gradients are outer products, so their squares are outer products of
            # the squares.
            qW, qb = sq_views[i]
            ds2 = ds * ds
            np.matmul(ds2.T, a[i] * a[i], out=qW)
            qW *= n
            np.sum(ds2, axis=0, out=qb)
            qb *= n
        if i:
            ds = acts[i - 1].vjp_(a[i], ds @ params[i][0])
    return (flat, sq) if squares else flat


def _backward_r(params, vparams, acts, a, ras, rss, ds, rds, layout):
    """R-operator of the backward pass (Algorithm 3, lines 10–19), returning ``R_v(D(θ))``.

    ``R(D(W_i)) = R(D(s_i))ᵀ a_{i−1} + D(s_i)ᵀ R(a_{i−1})``, ``R(D(b_i)) = Σ_rows R(D(s_i))``,
    ``R(D(a_{i−1})) = D(s_i) V_i + R(D(s_i)) W_i`` and
    ``R(D(s_{i−1})) = φ' ⊙ R(D(a_{i−1})) + φ'' ⊙ R(s_{i−1}) ⊙ D(a_{i−1})``.
    """
    flat = np.empty(layout.n_params, dtype=ds.dtype)
    for i, (gW, gb) in reversed(list(enumerate(layout.views(flat)))):
        np.matmul(rds.T, a[i], out=gW)
        if ras[i] is not None:
            gW += ds.T @ ras[i]
        np.sum(rds, axis=0, out=gb)
        if i:
            W, V = params[i][0], vparams[i][0]
            act = acts[i - 1]
            da = ds @ W
            rda = ds @ V
            rda += rds @ W
            rds = act.vjp_(a[i], rda)
            rds += act.rvjp(a[i], rss[i - 1], da)
            ds = act.vjp_(a[i], da)
    return flat
