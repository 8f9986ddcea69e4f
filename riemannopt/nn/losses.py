"""Losses as negative log-likelihoods, and the output-layer signals of every product.

Each loss is the negative log-likelihood ``−log p(t | y)`` of an output distribution with mean
``y``, the network output after the final activation (paper §5, Appendix B):

* ``squared`` (output sigmoid, tanh or linear): ``p = Π N(t_i | y_i, σ²)``, ``c1 = 1/σ²``, ``c2 = 0``;
* ``bce`` (output sigmoid): ``p = Π y_i^t_i (1 − y_i)^(1 − t_i)``, ``c1 = 1/(y(1 − y))``,
  ``c2 = (2y − 1)/(2y²(1 − y)²)``;
* ``softmax_ce`` (output softmax): ``p = Π y_i^t_i``, ``c1 = 1/y``, ``c2 = −1/(2y²)``;

with ``c1``, ``c2`` the coefficients of Proposition 2,
``Γ_first(v, v)_ν = E_x Σ_i [c1_i ∂_ν y_i S_v(y_i) + c2_i ∂_ν y_i R_v(y_i)²]``.

Every product ends its forward pass at the output pre-activation ``s`` and starts its backward
pass there, with a signal ``D(s)`` (one row per example) computed here.  Writing the signals in
terms of ``s`` rather than ``y`` is what keeps them finite when the outputs saturate: the
``1/(y(1−y))`` and ``1/y²`` of ``c1`` and ``c2`` cancel analytically against the Jacobian of the
output activation (derivations in :doc:`/nn_connection`).

The signals are per example; the callers divide by the number of examples.

A loss is written once, as a class, and every backend takes it from there: the array methods
(:meth:`Loss.value`, :meth:`Loss.grad_s`, ...) are what the numpy backend computes with numpy,
and the compiled forms — :meth:`Loss.scalar`, functions of one entry, for an element-wise loss;
:meth:`Loss.rows`, functions of one row, for a loss whose signals need whole rows
(``rowwise``) — are what the numpy backend's fused kernels and the CUDA backend's kernels
compile.  Both are the same stable formulas.
"""

import math
from types import SimpleNamespace

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import MethodError

__all__ = ["Loss", "Squared", "BCE", "SoftmaxCE", "make_loss", "LOSSES"]


def _rowdot(x, y):
    return np.sum(x * y, axis=1, keepdims=True)


class Loss:
    """A loss bound to the network's output activation.

    A subclass sets :attr:`name` and the attributes below, writes the array methods and either
    :meth:`scalar` (an element-wise loss) or :meth:`rows` (``rowwise = True``), and is entered
    in :data:`LOSSES`.

    Attributes
    ----------
    name : str
    act : Activation or Softmax
        The output activation ``y = φ(s)``.
    signal_scale : float
        The constant factor of every signal (the ``1/σ²`` of ``squared``; 1 for the others).
    value_scale : float
        The constant factor of the loss: it is ``value_scale`` times the sum over the entries
        of the compiled ``value`` (over the rows, for a row-wise loss).
    """

    name = ""
    #: Names of the output activations the loss takes; ``None``: every element-wise one.
    allowed_activations = None
    #: Whether the signals need whole rows (then the compiled forms are :meth:`rows`).
    rowwise = False
    #: What :class:`~riemannopt.nn.MLP` checks of the targets: ``"real"`` (finite),
    #: ``"unit"`` (in ``[0, 1]``) or ``"distribution"`` (rows ≥ 0 summing to 1).
    targets = "real"
    #: Whether integer class labels are accepted as targets (one-hot encoded).
    labels = False
    #: The error studies report for the loss (§7.2, Figure 3): ``"squared"`` (the squared
    #: reconstruction error per example) or ``"classification"`` (the share of argmax mismatches).
    error = "squared"
    signal_scale = 1.0
    value_scale = 1.0

    def __init__(self, act, sigma=1.0):
        if not self.allows(act):
            from riemannopt.nn.activations import ACTIVATIONS

            allowed = sorted(name for name, cls in ACTIVATIONS.items() if self.allows(cls))
            raise MethodError(f"loss {self.name!r} needs an output activation in {allowed}, got {act.name!r}")
        self.act = act

    @classmethod
    def allows(cls, act):
        """Whether ``act`` (an activation, or its class) may be the output activation."""
        if cls.allowed_activations is None:
            return act.elementwise
        return act.name in cls.allowed_activations

    @staticmethod
    def scalar(ftype):
        """The compiled forms of an element-wise loss: functions of one entry.

        ``ftype`` is the entries' numpy scalar type; make every constant with it outside the
        functions (as in :meth:`riemannopt.nn.activations.Activation.scalar`, whose rules they
        follow).  Arguments: ``y`` output, ``t`` target, ``r = R_v(s)``, ``g = φ'(s)`` and
        ``k = φ''(s)/φ'(s)`` of the output activation, ``c`` a scale factor the backend gives
        (``signal_scale / n`` for a signal averaged over ``n`` examples).

        Returns
        -------
        SimpleNamespace
            ``value(s, y, t)``: the entry's ``−log p`` over :attr:`value_scale` (the CUDA
            backend sums it in float64); ``grad(y, t, g, c)``: ``c ∂ℓ/∂s``;
            ``fisher(y, r, g, c)``: ``c F_s r``; ``connection(y, r, g, k)``: the part ``h₀`` in
            ``R(s)²`` of the connection's signal, which is ``fisher(y, h₀ + S(s), g, c)``;
            ``term2(y, r, g, k)``: the same ``h₂`` of Algorithm 2 alone (Algorithm 1's is
            ``k r² + S(s)`` for every loss); ``natural(y, r, g, c)``: ``c1 R_v(y)`` for
            ``c = signal_scale`` (the ``μ`` of Algorithm 3).
        """
        raise NotImplementedError

    @staticmethod
    def rows(ftype):
        """The compiled forms of a row-wise loss: functions of row ``i`` of 2-d arrays that
        write row ``i`` of ``out`` (which may be the array ``r`` itself: read a row before
        writing it).  Constants as in :meth:`scalar`.

        Returns
        -------
        SimpleNamespace
            ``value(s, y, t, i)``: the row's ``−log p`` over :attr:`value_scale`;
            ``grad(y, t, i, c, out)``; ``fisher(y, r, i, c, out)``;
            ``connection(y, r, ss, has_ss, part, i, c, out)``: the connection's signal
            (``part`` 0), or that of Algorithm 1 (1) or 2 (2), ``S(s)`` read only if
            ``has_ss``; ``term3(y, r, lam, has_lam, i, prec, inv_n, out, out2)``: Algorithm 3's
            signal ``D`` and ``R_v(D)``, both times ``inv_n``, with ``μ = λ ⊙ R_v(y)`` (``lam``
            broadcast from shape ``(1 or n, 1 or n_out)``) if ``has_lam``, else ``c1 R_v(y)``
            with ``c1`` scaled by ``prec = signal_scale``.
        """
        raise NotImplementedError

    def value(self, s, y, T):
        """Sum over examples of ``−log p(t | y)`` (a Python float)."""
        raise NotImplementedError

    def grad_s(self, s, y, T):
        """``∂L/∂s`` per example: the gradient's backward signal."""
        raise NotImplementedError

    def fisher_s(self, y, rs):
        """``F_s R_v(s)`` per example, with ``F_s = J_φᵀ F_y J_φ`` the Fisher w.r.t. ``s``."""
        raise NotImplementedError

    def natural_tangent(self, y, rs):
        """``c1 ⊙ R_v(y)`` per example (for ``softmax_ce``: ``R_v(y)/y``), computed stably."""
        raise NotImplementedError

    def connection_s(self, y, rs, ss, split=False):
        """Backward signal of ``Γ_first(v, v)`` (Prop. 2) at the output pre-activation.

        ``J_φᵀ (c1 ⊙ S_v(y) + c2 ⊙ R_v(y)²)``, or with ``split=True`` the pair of signals of term 1
        (``J_φᵀ (c1 ⊙ S_v(y))``, Alg. 1) and term 2 (``J_φᵀ (c2 ⊙ R_v(y)²)``, Alg. 2).
        ``ss`` is ``S_v(s)`` or ``None`` for zero.
        """
        raise NotImplementedError

    def __repr__(self):
        return f"<loss {self.name} with {self.act.name} output>"


class Squared(Loss):
    """``½‖t − y‖² / σ²``: Gaussian outputs with fixed standard deviation σ (Appendix B.1)."""

    name = "squared"

    def __init__(self, act, sigma=1.0):
        super().__init__(act)
        self.sigma = check_number(sigma, "sigma of loss 'squared'", low=0, strict=True, cls=MethodError)
        self.prec = 1.0 / self.sigma**2
        self.signal_scale = self.prec
        self.value_scale = 0.5 * self.prec

    @staticmethod
    def scalar(ftype):
        zero = ftype(0)

        def value(s, y, t):
            d = y - t
            return d * d

        def grad(y, t, g, c):
            return g * ((y - t) * c)

        def fisher(y, r, g, c):
            return g * ((g * r) * c)

        def connection(y, r, g, k):
            return k * r * r

        def term2(y, r, g, k):
            return zero

        def natural(y, r, g, c):
            return g * r * c

        return SimpleNamespace(
            value=value, grad=grad, fisher=fisher, connection=connection, term2=term2, natural=natural
        )

    def value(self, s, y, T):
        r = y - T
        return 0.5 * self.prec * float(np.vdot(r, r))

    def grad_s(self, s, y, T):
        return self.act.vjp_(y, (y - T) * self.prec)

    def fisher_s(self, y, rs):
        return self.act.vjp_(y, self.act.jvp(y, rs) * self.prec)

    def natural_tangent(self, y, rs):
        return self.act.jvp(y, rs) * self.prec

    def connection_s(self, y, rs, ss, split=False):
        _, sy = self.act.jvp2(y, rs, ss)
        d = self.act.vjp_(y, (np.zeros_like(y) if sy is None else sy) * self.prec)
        return (d, np.zeros_like(d)) if split else d


class BCE(Loss):
    """Binary cross-entropy ``−Σ t log y + (1 − t) log(1 − y)`` with ``y = sigmoid(s)`` (App. B.2).

    With ``p = y(1 − y)``: ``R(y) = p R(s)`` and ``S(y) = p S(s) + p(1 − 2y) R(s)²``, so
    ``c1 S(y) = S(s) + (1 − 2y) R(s)²`` and ``c2 R(y)² = ((2y − 1)/2) R(s)²``, and the signal at ``s``
    is ``p ⊙ (S(s) + ½(1 − 2y) R(s)²)`` — bounded however saturated ``y`` is.
    """

    name = "bce"
    allowed_activations = ("sigmoid",)
    targets = "unit"

    @staticmethod
    def scalar(ftype):
        zero, half = ftype(0), ftype(0.5)

        def value(s, y, t):
            # log(1 + e^s) − t s = max(s, 0) + log1p(e^{−|s|}) − t s, finite for every s.
            return max(s, zero) + math.log1p(math.exp(-abs(s))) - t * s

        def grad(y, t, g, c):
            return (y - t) * c

        def fisher(y, r, g, c):
            return (g * r) * c  # F_s = p = y(1 − y) = g, the sigmoid's φ'

        def connection(y, r, g, k):
            return (half - y) * (r * r)

        def term2(y, r, g, k):
            return (y - half) * (r * r)

        def natural(y, r, g, c):
            return r

        return SimpleNamespace(
            value=value, grad=grad, fisher=fisher, connection=connection, term2=term2, natural=natural
        )

    def value(self, s, y, T):
        # log(1 + e^s) − t s  ==  −t log σ(s) − (1 − t) log(1 − σ(s)), without log(0).
        return float(np.sum(np.logaddexp(0, s)) - np.vdot(T, s))

    def grad_s(self, s, y, T):
        return y - T

    def fisher_s(self, y, rs):
        return y * (1 - y) * rs

    def natural_tangent(self, y, rs):
        return rs

    def connection_s(self, y, rs, ss, split=False):
        p = y * (1 - y)
        r2 = rs * rs
        if split:
            t1 = (1 - 2 * y) * r2
            if ss is not None:
                t1 += ss
            return p * t1, p * (y - 0.5) * r2
        d = (0.5 - y) * r2
        if ss is not None:
            d += ss
        d *= p
        return d


class SoftmaxCE(Loss):
    """Multi-class cross-entropy ``−Σ t log y`` with ``y = softmax(s)`` (Appendix B.3).

    With ``r̃ = R(s) − ⟨y, R(s)⟩``: ``R(y) = y ⊙ r̃`` and
    ``S(y) = y ⊙ (S(s) − ⟨y, S(s)⟩ + r̃² − ⟨y, r̃²⟩)``, so
    ``c1 S(y) + c2 R(y)² = S(s) + ½ r̃² + (a constant per row)``.  ``J_softmaxᵀ`` annihilates
    constants, hence the signal ``J_softmaxᵀ (S(s) + ½ r̃²)``: no division by ``y``.
    """

    name = "softmax_ce"
    allowed_activations = ("softmax",)
    rowwise = True
    targets = "distribution"
    labels = True
    error = "classification"

    @staticmethod
    def rows(ftype):
        zero, half = ftype(0), ftype(0.5)

        def value(s, y, t, i):
            # (Σ t) logsumexp(s) − ⟨t, s⟩, the row maximum subtracted first.
            m = s.shape[1]
            top = s[i, 0]
            for j in range(1, m):
                top = max(top, s[i, j])
            total = zero
            tsum = zero
            ts = zero
            for j in range(m):
                total += math.exp(s[i, j] - top)
                tsum += t[i, j]
                ts += t[i, j] * s[i, j]
            return tsum * (top + math.log(total)) - ts

        def grad(y, t, i, c, out):
            m = y.shape[1]
            total = zero
            for j in range(m):
                total += t[i, j]
            for j in range(m):
                out[i, j] = (y[i, j] * total - t[i, j]) * c

        def fisher(y, r, i, c, out):
            m = y.shape[1]
            dot = zero
            for j in range(m):
                dot += y[i, j] * r[i, j]
            for j in range(m):
                out[i, j] = y[i, j] * (r[i, j] - dot) * c

        def connection(y, r, ss, has_ss, part, i, c, out):
            # h = S(s) + ½ r̃² (parts: S(s) + r̃², −½ r̃²), r̃ = R(s) − ⟨y, R(s)⟩, into out;
            # then J_softmaxᵀ h = y ⊙ (h − ⟨y, h⟩) in place.
            m = y.shape[1]
            dot = zero
            for j in range(m):
                dot += y[i, j] * r[i, j]
            for j in range(m):
                rt = r[i, j] - dot
                if part == 0:
                    h = half * (rt * rt)
                elif part == 1:
                    h = rt * rt
                else:
                    h = -half * (rt * rt)
                if has_ss and part != 2:
                    h += ss[i, j]
                out[i, j] = h
            dot = zero
            for j in range(m):
                dot += y[i, j] * out[i, j]
            for j in range(m):
                out[i, j] = y[i, j] * (out[i, j] - dot) * c

        def term3(y, r, lam, has_lam, i, prec, inv_n, out, out2):
            # μ = r̃ or λ y r̃; D = J μ; R(D) = R(J) μ = R(y) ⊙ (μ − ⟨y, μ⟩) − y ⟨R(y), μ⟩, R(y) = y r̃.
            m = y.shape[1]
            li = i if lam.shape[0] > 1 else 0
            wide = lam.shape[1] > 1
            yr = zero
            for j in range(m):
                yr += y[i, j] * r[i, j]
            ymu = zero
            rymu = zero
            for j in range(m):
                rt = r[i, j] - yr
                mu = lam[li, j if wide else 0] * y[i, j] * rt if has_lam else rt
                ymu += y[i, j] * mu
                rymu += y[i, j] * rt * mu
            for j in range(m):
                rt = r[i, j] - yr
                mu = lam[li, j if wide else 0] * y[i, j] * rt if has_lam else rt
                out[i, j] = y[i, j] * (mu - ymu) * inv_n
                out2[i, j] = (y[i, j] * rt * (mu - ymu) - y[i, j] * rymu) * inv_n

        return SimpleNamespace(value=value, grad=grad, fisher=fisher, connection=connection, term3=term3)

    def value(self, s, y, T):
        m = s.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.sum(np.exp(s - m), axis=1))
        return float(np.vdot(T.sum(axis=1), lse) - np.vdot(T, s))

    def grad_s(self, s, y, T):
        return y * T.sum(axis=1, keepdims=True) - T

    def fisher_s(self, y, rs):
        return self.act.jvp(y, rs)

    def natural_tangent(self, y, rs):
        return rs - _rowdot(y, rs)

    def connection_s(self, y, rs, ss, split=False):
        rt = rs - _rowdot(y, rs)
        rt2 = rt * rt
        if split:
            h2 = -0.5 * rt2
            h1 = rt2 if ss is None else ss + rt2
            return self.act.vjp_(y, h1), self.act.vjp_(y, h2)
        h = 0.5 * rt2
        if ss is not None:
            h += ss
        return self.act.vjp_(y, h)


#: Every loss: ``{name: class}``.  The backends, the input checks and the tests enumerate it.
LOSSES = {cls.name: cls for cls in (Squared, BCE, SoftmaxCE)}


def make_loss(name, act, sigma=1.0):
    """The loss called ``name`` bound to the output activation ``act``.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES`.
    act : Activation or Softmax
        The output-layer activation; must be one the loss allows (see the module table).
    sigma : float
        Standard deviation of the Gaussian of the ``squared`` loss (ignored by the others).

    Raises
    ------
    MethodError
        For an unknown loss name, an output activation the loss does not allow, or ``sigma <= 0``.
    """
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}") from None
    return cls(act, sigma)
