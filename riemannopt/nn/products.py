"""The numpy backend: forward pass, R and R/S forward passes, backward passes (paper App. C).

Pure functions over a network given as ``params = [(W_1, b_1), ..., (W_l, b_l)]`` (layer ``i``
computes ``s_i = a_{i−1} W_iᵀ + b_i``, ``a_i = φ_i(s_i)``, rows are examples), the list ``acts`` of
the ``l`` activation objects, and a loss object bound to the output activation
(:mod:`riemannopt.nn.losses`).  A direction ``v`` is passed unflattened like ``params``
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

This module is the interface a backend implements (see :mod:`riemannopt.nn.backends`):
:func:`forward`, :func:`loss`, :func:`gradient`, :func:`fisher_vp`, :func:`connection_vp`,
:func:`connection_terms`, :func:`term3`.
"""

from collections import namedtuple

import numpy as np

__all__ = [
    "Forward",
    "forward",
    "loss",
    "gradient",
    "fisher_vp",
    "connection_vp",
    "connection_terms",
    "term3",
]

Forward = namedtuple("Forward", ["a", "s", "y"])
Forward.__doc__ = """A stored forward pass (eq. 18–19).

Attributes
----------
a : list of ndarray
    ``[a_0 = X, a_1, ..., a_{l−1}]``, the inputs of the ``l`` layers.
s : ndarray
    ``s_l``, the output pre-activation (logits), one row per example.
y : ndarray
    ``a_l = φ_l(s_l)``, the network outputs.
"""


def forward(params, acts, X):
    """Forward pass (eq. 18–19), keeping every layer's input for the backward passes.

    Returns
    -------
    Forward
    """
    a = [X]
    for (W, b), act in zip(params[:-1], acts[:-1]):
        s = a[-1] @ W.T
        s += b
        a.append(act.value(s))
    W, b = params[-1]
    s = a[-1] @ W.T
    s += b
    return Forward(a, s, acts[-1].value(s.copy()))


def loss(params, acts, lossf, fwd, T):
    """Mean over examples of ``−log p(t | y)``."""
    return lossf.value(fwd.s, fwd.y, T) / len(fwd.y)


def gradient(params, acts, lossf, fwd, T):
    """Gradient of :func:`loss`: the backward pass from ``∂L/∂s_l``."""
    return _backward(params, acts, fwd.a, _mean(lossf.grad_s(fwd.s, fwd.y, T)))


def fisher_vp(params, acts, lossf, fwd, vparams):
    """Fisher-vector product ``E_x J_sᵀ F_s J_s v`` (= the generalized Gauss-Newton product).

    One R forward pass gives ``R_v(s_l) = J_s v``; the loss multiplies by the output Fisher
    ``F_s`` (``I/σ²`` through the output activation for ``squared``, ``diag(y(1 − y))`` for
    ``bce``, ``diag(y) − y yᵀ`` for ``softmax_ce``); one backward pass applies ``J_sᵀ``.
    """
    rs, _, _ = _r_forward(params, vparams, acts, fwd.a)
    return _backward(params, acts, fwd.a, _mean(lossf.fisher_s(fwd.y, rs)))


def connection_vp(params, acts, lossf, fwd, vparams):
    """``Γ_first(v, v)`` of Proposition 2, by one R/S forward pass and one backward pass.

    ``Γ_first(v, v)_ν = E_x Σ_i ∂_ν y_i (c1_i S_v(y_i) + c2_i R_v(y_i)²)``: the backward pass of
    Algorithms 1 and 2 is linear in its output signal, so the two are run as one, from the
    signal ``c1 ⊙ S_v(y) + c2 ⊙ R_v(y)²`` (taken through the output activation in the stable
    form of :meth:`riemannopt.nn.losses.Loss.connection_s`).
    """
    rs, ss = _rs_forward(params, vparams, acts, fwd.a)
    return _backward(params, acts, fwd.a, _mean(lossf.connection_s(fwd.y, rs, ss)))


def connection_terms(params, acts, lossf, fwd, vparams):
    """Terms 1 and 2 of ``Γ_first(v, v)`` separately (Algorithm 1 and Algorithm 2).

    Returns
    -------
    term1, term2 : ndarray
        ``E_x Σ_i c1_i ∂_ν y_i S_v(y_i)`` and ``E_x Σ_i c2_i ∂_ν y_i R_v(y_i)²``; their sum is
        :func:`connection_vp`.
    """
    rs, ss = _rs_forward(params, vparams, acts, fwd.a)
    d1, d2 = lossf.connection_s(fwd.y, rs, ss, split=True)
    return _backward(params, acts, fwd.a, _mean(d1)), _backward(params, acts, fwd.a, _mean(d2))


def term3(params, acts, lossf, fwd, vparams, lam=None):
    """``E_x Σ_i λ_i ∂_ν ∂_α y_i ∂_β y_i v^α v^β`` (Algorithm 3, Appendix F).

    With ``μ = λ ⊙ R_v(y)`` held fixed, this is ``R_v(J_yᵀ μ)``: the R-operator applied to the
    backward pass that starts from ``D(y) = μ``.  (``∂_ν ∂_α y_i v^α = ∂_ν R_v(y_i)``.)

    Parameters
    ----------
    lam : ndarray or None
        ``λ``, broadcastable to the outputs' shape.  ``None`` uses ``λ = c1`` (the output Fisher's
        diagonal, as in Propositions 4–5), computed stably as
        :meth:`riemannopt.nn.losses.Loss.natural_tangent`.
    """
    rs, ras, rss = _r_forward(params, vparams, acts, fwd.a)
    out = acts[-1]
    mu = lossf.natural_tangent(fwd.y, rs) if lam is None else lam * out.jvp(fwd.y, rs)
    ds = _mean(out.vjp_(fwd.y, mu.copy()))
    rds = _mean(out.rvjp(fwd.y, rs, mu))
    return _backward_r(params, vparams, acts, fwd.a, ras, rss, ds, rds)


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


def _layer_views(flat, params):
    views, k = [], 0
    for W, b in params:
        gW = flat[k:k + W.size].reshape(W.shape)
        k += W.size
        views.append((gW, flat[k:k + b.size]))
        k += b.size
    return views


def _new_flat(params, like):
    return np.empty(sum(W.size + b.size for W, b in params), dtype=like.dtype)


def _backward(params, acts, a, ds):
    """Backward pass (lines 14–19 of Algorithm 1): ``J_{s_l}ᵀ ds`` summed over the rows.

    ``D(W_i) = D(s_i)ᵀ a_{i−1}``, ``D(b_i) = Σ_rows D(s_i)``, ``D(a_{i−1}) = D(s_i) W_i``,
    ``D(s_{i−1}) = φ'(s_{i−1}) ⊙ D(a_{i−1})``.  Writes straight into one flat vector.
    """
    flat = _new_flat(params, ds)
    for i, (gW, gb) in reversed(list(enumerate(_layer_views(flat, params)))):
        np.matmul(ds.T, a[i], out=gW)
        np.sum(ds, axis=0, out=gb)
        if i:
            ds = acts[i - 1].vjp_(a[i], ds @ params[i][0])
    return flat


def _backward_r(params, vparams, acts, a, ras, rss, ds, rds):
    """R-operator of the backward pass (Algorithm 3, lines 10–19), returning ``R_v(D(θ))``.

    ``R(D(W_i)) = R(D(s_i))ᵀ a_{i−1} + D(s_i)ᵀ R(a_{i−1})``, ``R(D(b_i)) = Σ_rows R(D(s_i))``,
    ``R(D(a_{i−1})) = D(s_i) V_i + R(D(s_i)) W_i`` and
    ``R(D(s_{i−1})) = φ' ⊙ R(D(a_{i−1})) + φ'' ⊙ R(s_{i−1}) ⊙ D(a_{i−1})``.
    """
    flat = _new_flat(params, ds)
    for i, (gW, gb) in reversed(list(enumerate(_layer_views(flat, params)))):
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
