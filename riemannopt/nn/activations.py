r"""Activation functions and their first two directional derivatives.

A layer computes ``a = φ(s)``.  The R/S forward pass of paper Appendix C needs, for every layer,

.. math::

    R_v(a) = \phi'(s) \odot R_v(s), \qquad
    S_v(a) = \phi''(s) \odot R_v(s)^2 + \phi'(s) \odot S_v(s)

(Proposition 3 applied to eq. 19).  For the element-wise activations here ``φ'`` and ``φ''`` are
cheap functions of the *output* ``a``, so the forward pass stores only ``a`` and never ``s``:
sigmoid ``φ' = a(1 − a)``, ``φ''/φ' = 1 − 2a``; tanh ``φ' = (1 − a)(1 + a)``, ``φ''/φ' = −2a``;
linear ``φ' = 1``, ``φ'' = 0``.  Each is a product of two affine functions of ``a`` times an
affine ``φ''/φ'`` (:attr:`Activation.coefficients`), which is how the numpy backend's fused
kernels take them.

Softmax acts on a whole row and is allowed on the output layer only (with the softmax
cross-entropy loss); its Jacobian is ``diag(y) − y yᵀ``, symmetric, so its Jacobian-vector and
vector-Jacobian products coincide: ``y ⊙ (r − ⟨y, r⟩)``.
"""

import numpy as np
from scipy.special import expit

from riemannopt.errors import MethodError

__all__ = ["Activation", "Sigmoid", "Tanh", "Linear", "Softmax", "get_activation", "ACTIVATIONS"]


class Activation:
    """An element-wise activation ``a = φ(s)``.

    Subclasses define :meth:`value`, :meth:`d1` and :meth:`curv`; the product helpers below are
    written once in terms of them.  Methods whose name ends in ``_`` may overwrite an argument.
    """

    name = ""
    elementwise = True
    #: ``(p0, p1, q0, q1, e0, e1)`` with ``φ' = (p0 + p1 a)(q0 + q1 a)`` and ``φ''/φ' = e0 + e1 a``;
    #: with coefficients among 0, ±1 and ±2 these round exactly like :meth:`d1` and :meth:`curv`.
    coefficients = ()

    def value(self, s):
        """``φ(s)``, computed in place in ``s`` (which is returned)."""
        raise NotImplementedError

    def d1(self, a):
        """``φ'(s)`` as a function of ``a = φ(s)``."""
        raise NotImplementedError

    def curv(self, a):
        """``φ''(s) / φ'(s)`` as a function of ``a`` (``φ' > 0`` for these activations)."""
        raise NotImplementedError

    def d2(self, a):
        """``φ''(s)`` as a function of ``a = φ(s)``."""
        return self.d1(a) * self.curv(a)

    def jvp(self, a, rs):
        """``R_v(a) = φ'(s) ⊙ R_v(s)`` given ``a`` and ``rs = R_v(s)``."""
        return self.d1(a) * rs

    def jvp2(self, a, rs, ss):
        """``(R_v(a), S_v(a))`` given ``a``, ``rs = R_v(s)`` and ``ss = S_v(s)``.

        ``S_v(a) = φ' ⊙ ((φ''/φ') ⊙ R_v(s)² + S_v(s))`` shares ``φ'`` with ``R_v(a)``.  ``ss`` may be
        ``None``, meaning zero (the first layer, whose inputs do not depend on θ).
        """
        d1 = self.d1(a)
        sa = self.curv(a)
        sa *= rs
        sa *= rs
        if ss is not None:
            sa += ss
        sa *= d1
        return d1 * rs, sa

    def vjp_(self, a, g):
        """``φ'(s) ⊙ g`` (back-propagation through the activation); overwrites ``g``."""
        g *= self.d1(a)
        return g

    def rvjp(self, a, rs, g):
        """``R_v(φ'(s)) ⊙ g = φ''(s) ⊙ R_v(s) ⊙ g`` with ``g`` held fixed (Algorithm 3)."""
        return self.d2(a) * rs * g

    def __repr__(self):
        return f"<activation {self.name}>"


class Sigmoid(Activation):
    """Logistic sigmoid ``1 / (1 + e^{−s})`` (scipy's ``expit``: no overflow for large ``|s|``)."""

    name = "sigmoid"
    coefficients = (0.0, 1.0, 1.0, -1.0, 1.0, -2.0)

    def value(self, s):
        return expit(s, out=s)

    def d1(self, a):
        return a * (1 - a)

    def curv(self, a):
        return 1 - 2 * a


class Tanh(Activation):
    """Hyperbolic tangent."""

    name = "tanh"
    coefficients = (1.0, -1.0, 1.0, 1.0, 0.0, -2.0)

    def value(self, s):
        return np.tanh(s, out=s)

    def d1(self, a):
        # Factored, not 1 − a²: no cancellation when the unit saturates (a → ±1).
        return (1 - a) * (1 + a)

    def curv(self, a):
        return -2 * a


class Linear(Activation):
    """Identity; its products skip the multiplications by ``φ' = 1`` and ``φ'' = 0``."""

    name = "linear"
    coefficients = (1.0, 0.0, 1.0, 0.0, 0.0, 0.0)

    def value(self, s):
        return s

    def d1(self, a):
        return np.ones_like(a)

    def curv(self, a):
        return np.zeros_like(a)

    def jvp(self, a, rs):
        return rs

    def jvp2(self, a, rs, ss):
        return rs, ss

    def vjp_(self, a, g):
        return g

    def rvjp(self, a, rs, g):
        return np.zeros_like(g)


class Softmax:
    """Row-wise softmax ``y = exp(s) / Σ exp(s)``, output layer only.

    Not element-wise: the products with its Jacobian ``diag(y) − y yᵀ`` are provided directly.
    """

    name = "softmax"
    elementwise = False

    def value(self, s):
        """Softmax of each row, in place in ``s``; the row maximum is subtracted first."""
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        return s

    @staticmethod
    def jvp(y, rs):
        """``R_v(y) = (diag(y) − y yᵀ) R_v(s) = y ⊙ (R_v(s) − ⟨y, R_v(s)⟩)`` for each row."""
        return y * (rs - np.sum(y * rs, axis=1, keepdims=True))

    def vjp_(self, y, g):
        """Same as :meth:`jvp` (the Jacobian is symmetric); overwrites ``g``."""
        g -= np.sum(y * g, axis=1, keepdims=True)
        g *= y
        return g

    @staticmethod
    def rvjp(y, rs, g):
        """``R_v(diag(y) − y yᵀ) g`` with ``g`` held fixed, given ``rs = R_v(s)``.

        The product rule gives ``R_v(y) ⊙ (g − ⟨y, g⟩) − y ⟨R_v(y), g⟩``.
        """
        ry = y * (rs - np.sum(y * rs, axis=1, keepdims=True))
        return ry * (g - np.sum(y * g, axis=1, keepdims=True)) - y * np.sum(ry * g, axis=1, keepdims=True)

    def __repr__(self):
        return "<activation softmax>"


ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, Linear, Softmax)}


def get_activation(name):
    """The activation object called ``name`` (one of :data:`ACTIVATIONS`).

    Raises
    ------
    MethodError
        For an unknown name.
    """
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise MethodError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}") from None
