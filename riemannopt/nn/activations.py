r"""Activation functions and their first two directional derivatives.

A layer computes ``a = φ(s)``.  The R/S forward pass of paper Appendix C needs, for every layer,

.. math::

    R_v(a) = \phi'(s) \odot R_v(s), \qquad
    S_v(a) = \phi''(s) \odot R_v(s)^2 + \phi'(s) \odot S_v(s)

(Proposition 3 applied to eq. 19).  For the element-wise activations here ``φ'`` and ``φ''`` are
cheap functions of the *output* ``a``, so the forward pass stores only ``a`` and never ``s``:
sigmoid ``φ' = a(1 − a)``, ``φ''/φ' = 1 − 2a``; tanh ``φ' = (1 − a)(1 + a)``, ``φ''/φ' = −2a``;
linear ``φ' = 1``, ``φ'' = 0``.

An activation is written once, as a class, and every backend takes it from there.
:meth:`Activation.scalar` gives ``φ``, ``φ'`` and ``φ''/φ'`` on *one entry*, as plain Python
functions of the restricted kind numba compiles: the numpy backend's fused kernels
(:mod:`riemannopt.nn.backends._numpy_kernels`) compile them into their loops, the CUDA backend
compiles them into device functions (:mod:`riemannopt.nn.backends.cuda.device`), and the array
methods :meth:`Activation.d1` and :meth:`Activation.curv` here apply them to whole numpy arrays.
Only ``φ`` itself also has an array method, :meth:`Activation.value`, for numpy's own
vectorized ufuncs (``np.tanh``, scipy's ``expit``).

Softmax acts on a whole row and is allowed on the output layer only (with the softmax
cross-entropy loss); its Jacobian is ``diag(y) − y yᵀ``, symmetric, so its Jacobian-vector and
vector-Jacobian products coincide: ``y ⊙ (r − ⟨y, r⟩)``.  Its compiled form is a function of
one row (:meth:`Softmax.rows`), and the row-wise loss that goes with it computes the products
through its Jacobian (:meth:`riemannopt.nn.losses.Loss.rows`).
"""

import functools
import math
from types import SimpleNamespace

import numpy as np
from scipy.special import expit

from riemannopt.errors import MethodError

__all__ = ["Activation", "Sigmoid", "Tanh", "Linear", "Softmax", "get_activation", "scalar_lib", "ACTIVATIONS"]


class Activation:
    """An element-wise activation ``a = φ(s)``.

    A subclass sets :attr:`name`, writes :meth:`scalar` (``φ``, ``φ'``, ``φ''/φ'`` on one entry,
    compiled by every backend) and :meth:`value` (``φ`` on a numpy array), and is entered in
    :data:`ACTIVATIONS`; the array methods below are written once in terms of those.  Methods
    whose name ends in ``_`` may overwrite an argument.
    """

    name = ""
    elementwise = True
    #: Whether the numpy backend applies ``φ`` with the compiled scalar ``value`` of
    #: :meth:`scalar`, in the same pass as the bias add, instead of with the array method
    #: :meth:`value` after it: true where the scalar form compiles to vectorized CPU code (no
    #: library call per entry), as the sigmoid's does; false where a numpy ufunc is faster.
    fused_value = False

    @staticmethod
    def scalar(ftype, lib):
        """``φ``, ``φ'`` and ``φ''/φ'`` on one entry, as functions every backend compiles.

        Parameters
        ----------
        ftype : numpy scalar type
            ``numpy.float32`` or ``numpy.float64``: the type of the entries.  Every constant of
            the functions is made with it (``one = ftype(1)``) outside them: numba types a
            Python literal as float64, which would silently move float32 code to float64.
        lib : namespace
            The calling backend's element-wise primitives (:func:`scalar_lib`):
            ``lib.exp_nonpositive(u)``, ``e^u`` for ``u ≤ 0`` (or NaN) in ``u``'s type
            (vectorized on the CPU), and ``lib.sqrt``, ``lib.exp``, ``lib.log``,
            ``lib.log1p``, ``lib.tanh`` — :mod:`math`'s in compiled code, numpy's ufuncs where
            the array methods apply the functions to whole arrays.

        Returns
        -------
        SimpleNamespace
            ``value(s)`` (``φ(s)``), ``d1(a)`` (``φ'(s)`` as a function of ``a = φ(s)``) and
            ``curv(a)`` (``φ''(s)/φ'(s)``, likewise): plain functions of one number using only
            the constants made outside them and no calls but to ``lib`` (the CUDA backend
            compiles each one alone).  ``value`` runs compiled only and may also use
            comparisons and :mod:`math`; ``d1`` and ``curv`` are also applied to whole numpy
            arrays (:meth:`d1`, :meth:`curv`), so they use arithmetic, ``**``, ``abs`` and
            ``lib`` only.  Write them in the accurate form: no cancellation where units
            saturate.
        """
        raise NotImplementedError

    def value(self, s):
        """``φ(s)`` of a numpy array, computed in place in ``s`` (which is returned)."""
        raise NotImplementedError

    def d1(self, a):
        """``φ'(s)`` as a function of ``a = φ(s)`` (the compiled form, applied to an array)."""
        return _array_forms(type(self), a.dtype).d1(a)

    def curv(self, a):
        """``φ''(s) / φ'(s)`` as a function of ``a`` (``φ' > 0`` for these activations)."""
        return _array_forms(type(self), a.dtype).curv(a)

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
    """Logistic sigmoid ``1 / (1 + e^{−s})``.

    The array method is scipy's ``expit``; the backends compute ``φ`` from ``z = e^{−|s|}`` as
    ``1/(1 + z)`` or ``z/(1 + z)``, which never overflows, with the numpy backend's
    vectorized ``e^u`` (within 2.5 units in the last place of the exact sigmoid).
    """

    name = "sigmoid"
    fused_value = True

    @staticmethod
    def scalar(ftype, lib):
        one, two = ftype(1), ftype(2)
        exp_nonpositive = lib.exp_nonpositive

        def value(s):
            z = exp_nonpositive(-abs(s))
            num = z
            if s >= 0:
                num = one
            return num / (one + z)

        def d1(a):
            return a * (one - a)

        def curv(a):
            return one - two * a

        return SimpleNamespace(value=value, d1=d1, curv=curv)

    def value(self, s):
        return expit(s, out=s)


class Tanh(Activation):
    """Hyperbolic tangent."""

    name = "tanh"

    @staticmethod
    def scalar(ftype, lib):
        one, two = ftype(1), ftype(2)

        def value(s):
            return math.tanh(s)

        def d1(a):
            # Factored, not 1 − a²: no cancellation when the unit saturates (a → ±1).
            return (one - a) * (one + a)

        def curv(a):
            return -two * a

        return SimpleNamespace(value=value, d1=d1, curv=curv)

    def value(self, s):
        return np.tanh(s, out=s)


class Linear(Activation):
    """Identity; its products skip the multiplications by ``φ' = 1`` and ``φ'' = 0``."""

    name = "linear"

    @staticmethod
    def scalar(ftype, lib):
        zero, one = ftype(0), ftype(1)

        def value(s):
            return s

        def d1(a):
            return one

        def curv(a):
            return zero

        return SimpleNamespace(value=value, d1=d1, curv=curv)

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
    fused_value = False

    @staticmethod
    def rows(ftype):
        """The row form compiled by the backends (as :meth:`Activation.scalar` for entries):
        ``value(s, y, i)`` writes ``y[i] = softmax(s[i])`` for row ``i`` of the 2-d arrays."""
        zero = ftype(0)

        def value(s, y, i):
            m = s.shape[1]
            top = s[i, 0]
            for j in range(1, m):
                top = max(top, s[i, j])
            total = zero
            for j in range(m):
                e = math.exp(s[i, j] - top)
                y[i, j] = e
                total += e
            for j in range(m):
                y[i, j] /= total

        return SimpleNamespace(value=value)

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


#: Every activation: ``{name: class}``.  The backends, the loss checks and the tests enumerate it.
ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, Linear, Softmax)}

#: The functions of ``lib`` besides ``exp_nonpositive`` (:meth:`Activation.scalar`).
LIB_FUNCTIONS = ("sqrt", "exp", "log", "log1p", "tanh")


def scalar_lib(exp_nonpositive, module=math):
    """The ``lib`` of :meth:`Activation.scalar`: the backend's ``exp_nonpositive`` and the
    functions :data:`LIB_FUNCTIONS` of ``module`` (:mod:`math` for compiled code, numpy for the
    array methods)."""
    return SimpleNamespace(exp_nonpositive=exp_nonpositive, **{f: getattr(module, f) for f in LIB_FUNCTIONS})


#: ``lib`` of :meth:`Activation.scalar` for numpy arrays.
_ARRAY_LIB = scalar_lib(np.exp, np)


@functools.lru_cache(maxsize=None)
def _array_forms(cls, dtype):
    """``cls.scalar`` for arrays of ``dtype`` (its functions then act entry by entry)."""
    return cls.scalar(np.dtype(dtype).type, _ARRAY_LIB)


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
