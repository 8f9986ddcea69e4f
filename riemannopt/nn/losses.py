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
"""

import numpy as np

from riemannopt._checks import check_number
from riemannopt.errors import MethodError

__all__ = ["Loss", "Squared", "BCE", "SoftmaxCE", "make_loss", "LOSSES"]


def _rowdot(x, y):
    return np.sum(x * y, axis=1, keepdims=True)


class Loss:
    """A loss bound to the network's output activation.

    Attributes
    ----------
    name : str
    act : Activation or Softmax
        The output activation ``y = φ(s)``.
    """

    name = ""
    allowed_activations = ()

    def __init__(self, act):
        if act.name not in self.allowed_activations:
            raise MethodError(
                f"loss {self.name!r} needs an output activation in {list(self.allowed_activations)}, got {act.name!r}"
            )
        self.act = act

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
    allowed_activations = ("linear", "sigmoid", "tanh")

    def __init__(self, act, sigma=1.0):
        super().__init__(act)
        self.sigma = check_number(sigma, "sigma of loss 'squared'", low=0, strict=True, cls=MethodError)
        self.prec = 1.0 / self.sigma**2

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


LOSSES = {cls.name: cls for cls in (Squared, BCE, SoftmaxCE)}


def make_loss(name, act, sigma=1.0):
    """The loss called ``name`` bound to the output activation ``act``.

    Parameters
    ----------
    name : {"squared", "bce", "softmax_ce"}
    act : Activation or Softmax
        The output-layer activation; must be one the loss allows (see the module table).
    sigma : float
        Standard deviation of the Gaussian of the ``squared`` loss (ignored by the others).

    Raises
    ------
    MethodError
        For an unknown loss name, an output activation the loss does not allow, or ``sigma <= 0``.
    """
    if name == "squared":
        return Squared(act, sigma)
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise MethodError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}") from None
    return cls(act)
