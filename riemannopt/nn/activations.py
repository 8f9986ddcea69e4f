"""Activation functions and their first two directional derivatives.

A layer computes ``a = φ(s)``.  The R/S forward pass of paper Appendix C needs, for every layer,

.. math::

    R_v(a) = φ'(s) ⊙ R_v(s), \\qquad S_v(a) = φ''(s) ⊙ R_v(s)^2 + φ'(s) ⊙ S_v(s)

(Proposition 3 applied to eq. 19).  For the element-wise activations here ``φ'`` and ``φ''`` are
cheap functions of the *output* ``a``, so the forward pass stores only ``a`` and never ``s``:
sigmoid ``φ' = a(1 − a)``, ``φ'' = a(1 − a)(1 − 2a)``; tanh ``φ' = 1 − a²``,
``φ'' = −2a(1 − a²)``; linear ``φ' = 1``, ``φ'' = 0``.

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

    Subclasses define :meth:`value`, :meth:`d1` and :meth:`d2`; the product helpers below are
    written once in terms of them.  Methods whose name ends in ``_`` may overwrite an argument.
    """

    name = ""
    elementwise = True

    def value(self, s):
        """``φ(s)``, computed in place in ``s`` (which is returned)."""
        raise NotImplementedError

    def d1(self, a):
        """``φ'(s)`` as a function of ``a = φ(s)``."""
        raise NotImplementedError

    def d2(self, a):
        """``φ''(s)`` as a function of ``a = φ(s)``."""
        raise NotImplementedError

    def jvp(self, a, r):
        """``R_v(a) = φ'(s) ⊙ R_v(s)`` given ``a`` and ``r = R_v(s)``."""
        return self.d1(a) * r

    def jvp2(self, a, r, s):
        """``(R_v(a), S_v(a))`` from ``a``, ``r = R_v(s)`` and ``s = S_v(s)``.

        ``s`` may be ``None`` (meaning zero: the first layer, whose inputs do not depend on θ).
        """
        d1 = self.d1(a)
        ra = d1 * r
        sa = self.d2(a) * (r * r)
        if s is not None:
            sa += d1 * s
        return ra, sa

    def vjp_(self, a, g):
        """``φ'(s) ⊙ g`` (back-propagation through the activation); overwrites ``g``."""
        g *= self.d1(a)
        return g

    def rvjp(self, a, r, g):
        """``R_v(φ'(s)) ⊙ g = φ''(s) ⊙ R_v(s) ⊙ g`` with ``g`` held fixed (Algorithm 3)."""
        return self.d2(a) * r * g

    def __repr__(self):
        return f"<activation {self.name}>"


class Sigmoid(Activation):
    """Logistic sigmoid ``1 / (1 + e^{−s})`` (scipy's ``expit``: no overflow for large ``|s|``)."""

    name = "sigmoid"

    def value(self, s):
        return expit(s, out=s)

    def d1(self, a):
        return a * (1 - a)

    def d2(self, a):
        return a * (1 - a) * (1 - 2 * a)


class Tanh(Activation):
    """Hyperbolic tangent."""

    name = "tanh"

    def value(self, s):
        return np.tanh(s, out=s)

    def d1(self, a):
        return 1 - a * a

    def d2(self, a):
        return -2 * a * (1 - a * a)


class Linear(Activation):
    """Identity; its products skip the multiplications by ``φ' = 1`` and ``φ'' = 0``."""

    name = "linear"

    def value(self, s):
        return s

    def d1(self, a):
        return np.ones_like(a)

    def d2(self, a):
        return np.zeros_like(a)

    def jvp(self, a, r):
        return r

    def jvp2(self, a, r, s):
        return r, s

    def vjp_(self, a, g):
        return g

    def rvjp(self, a, r, g):
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
    def jvp(y, r):
        """``(diag(y) − y yᵀ) r = y ⊙ (r − ⟨y, r⟩)`` for each row."""
        return y * (r - np.sum(y * r, axis=1, keepdims=True))

    def vjp_(self, y, g):
        """Same as :meth:`jvp` (the Jacobian is symmetric); overwrites ``g``."""
        g -= np.sum(y * g, axis=1, keepdims=True)
        g *= y
        return g

    @staticmethod
    def rvjp(y, r, g):
        """``R_v(diag(y) − y yᵀ) g`` with ``g`` held fixed, given ``r = R_v(s)``.

        ``R_v(y) = y ⊙ (r − ⟨y, r⟩)`` and the product rule give
        ``R_v(y) ⊙ (g − ⟨y, g⟩) − y ⟨R_v(y), g⟩``.
        """
        ry = y * (r - np.sum(y * r, axis=1, keepdims=True))
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
        raise MethodError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None
