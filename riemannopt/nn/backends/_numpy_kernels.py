"""Fused element-wise kernels of the numpy backend (numba, cached on disk).

Between two matrix products, every pass of the numpy backend touches each entry of an
``(n, width)`` array a few times; written as numpy expressions each step is a separate pass
over memory with a fresh temporary.  Each kernel here is one pass: the bias add and the
activation of a forward layer, the R and R/S epilogues (``R(a)``, ``S(a)`` from ``R(s)``, ``S(s)``),
the backward epilogue ``φ' ⊙ D(a)`` together with the bias gradient (the column sums), and the
output-layer signals of the loss together with the output bias gradient.

No kernel knows any activation or loss.  An activation is passed as :func:`compiled` ``(act)``,
a loss (bound to its output activation) as ``compiled(loss)``: numba types such an argument by
the class (and a fingerprint of the code of its compiled forms), compiles — and caches — the
kernel once per class, and the calls ``act_d1(act, a)``, ``loss_grad(loss, ...)``, ... inside
the kernels become the functions of :meth:`riemannopt.nn.activations.Activation.scalar` and
:meth:`riemannopt.nn.losses.Loss.scalar` (or :meth:`~riemannopt.nn.losses.Loss.rows`), inlined.
A new activation or loss class therefore needs nothing here; editing one's compiled forms
changes its fingerprint, so numba compiles afresh instead of loading the old code.

Conventions:

* Every kernel works in the dtype of its arrays (float32 stays float32): constants are cast
  with :func:`typed` (the compiled forms make theirs with the dtype's scalar type), since numba
  would promote ``float32 * 0.5`` to float64.
* Kernels compile with ``error_model="numpy"``: with numba's default (Python) error model a
  float division checks for zero and raises, which stops LLVM from vectorizing the loop.
* An array updated in place is passed once, as an argument the kernel both reads and writes;
  distinct arguments never overlap (LLVM checks that at run time before taking the vectorized
  loop, and would fall back to scalar code for overlapping ones).
"""

import functools
import sys
from hashlib import sha256
from types import CodeType, SimpleNamespace

import numpy as np
from numba import njit, types
from numba.extending import NativeValue, intrinsic, models, overload, register_model, unbox
from numba.np.numpy_support import as_dtype

from riemannopt._numba_cache import compiles_whole, heal_numba_cache
from riemannopt.nn.activations import Sigmoid, scalar_lib
from riemannopt.nn.losses import Loss

__all__ = [
    "compiled",
    "forward_",
    "forward_out",
    "sigmoid_",
    "sigmoid_out",
    "r_epilogue_",
    "rs_epilogue_",
    "backward_epilogue_",
    "gradient_",
    "fisher_",
    "connection_",
    "row_gradient_",
    "row_fisher_",
    "row_connection_",
    "all_finite",
]


# Compilations hold Ctrl-C back (compiles_whole): an interrupted one breaks the cache write.
kernel = compiles_whole(njit(cache=True, error_model="numpy"))
#: The forward kernels also let LLVM fuse ``p·r + c`` into FMAs: the sigmoid's exp polynomial is
#: one long chain of them, which then runs in half the latency (and rounds once per step instead
#: of twice).
forward_kernel = compiles_whole(njit(cache=True, error_model="numpy", fastmath={"contract"}))


def typed(value, like):
    """``value`` as a scalar of ``like``'s type (a scalar's, or an array's dtype), inside jitted code."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(typed, inline="always")
def _typed(value, like):
    cast = as_dtype(like.dtype if isinstance(like, types.Array) else like).type
    return lambda value, like: cast(value)


# -- exp(u) for u ≤ 0, vectorizable ------------------------------------------------------------
#
# numba calls libm's scalar exp, which keeps LLVM from vectorizing any loop that uses it (numba
# has vector versions only with Intel's SVML, which riemannopt does not depend on).  The sigmoid needs only e^u with u = −|s| ≤ 0; this
# version is plain arithmetic that LLVM vectorizes.  Cody–Waite reduction u = k ln 2 + r with
# |r| ≤ ½ ln 2 (ln 2 split in a head with trailing zero bits, so k·head is exact, and a tail),
# e^r by its Taylor polynomial of degree 13 (float64: truncation r¹⁴/14! < 5e-18) or 7
# (float32: r⁸/8! < 6e-9), then the scaling by 2^k in two halves, 2^⌊k/2⌋ 2^(k−⌊k/2⌋), each a
# normal number, so results in the subnormal range are rounded once, like any other.


@intrinsic
def _float_from_bits(typingctx, bits):
    result = {types.int64: types.float64, types.int32: types.float32}.get(bits)
    if result is None:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return result(bits), codegen


@njit(inline="always")
def _exp_nonpositive_64(u):
    if u < -746.0:  # e^u underflows to 0 below −745.13; a NaN passes through
        u = -746.0
    kf = np.floor(u * 1.4426950408889634 + 0.5)
    if kf != kf:  # NaN: keep the integer conversion defined; the polynomial carries the NaN
        kf = 0.0
    r = (u - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    k = np.int64(kf)
    half = k >> 1
    return p * _float_from_bits(np.int64((half + 1023) << 52)) * _float_from_bits(np.int64((k - half + 1023) << 52))


@njit(inline="always")
def _exp_nonpositive_32(u):
    if u < np.float32(-104.0):  # e^u underflows to 0 below −103.98
        u = np.float32(-104.0)
    kf = np.floor(u * np.float32(1.44269504) + np.float32(0.5))
    if kf != kf:
        kf = np.float32(0.0)
    r = (u - kf * np.float32(0.693359375)) - kf * np.float32(-2.12194440e-4)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    k = np.int32(kf)
    half = np.int32(k >> 1)
    low = _float_from_bits(np.int32((half + 127) << 23))
    return p * low * _float_from_bits(np.int32((k - half + 127) << 23))


def exp_nonpositive(u):
    """``e^u`` for ``u ≤ 0`` (or NaN) in ``u``'s precision, inside jitted code."""
    raise NotImplementedError("only callable from numba-compiled code")


@overload(exp_nonpositive, inline="always")
def _exp_nonpositive(u):
    if u == types.float64:
        return lambda u: _exp_nonpositive_64(u)
    if u == types.float32:
        return lambda u: _exp_nonpositive_32(u)
    return None


# -- activations and losses as kernel arguments ------------------------------------------------


class FormsType(types.Type):
    """The numba type of a :func:`compiled` activation or loss: one type per class (for a loss,
    per pair of loss and output-activation classes) and fingerprint of their compiled forms.

    It holds only strings, so that numba's cache index (which pickles the signatures) never
    imports the classes; :data:`_CLASSES` finds them again when a kernel is compiled.
    """

    def __init__(self, role, keys):
        self.role = role
        self.keys = keys
        super().__init__(name=f"nn_{role}({', '.join(keys)})")


register_model(FormsType)(models.OpaqueModel)


@unbox(FormsType)
def _unbox_forms(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())  # nothing crosses: the type is everything


#: ``{key: class}`` of every class made into a kernel argument in this process.
_CLASSES = {}


def _digest(code, h):
    """Feed ``h`` the code object ``code`` and those nested in it: bytecode, names, constants
    (not ``marshal.dumps``, whose bytes depend on reference counts, which differ by process)."""
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)).encode())
    for const in code.co_consts:
        if isinstance(const, CodeType):
            _digest(const, h)
        else:
            h.update(repr((type(const).__name__, const)).encode())


def _fingerprint(cls):
    """The class's qualified name and a hash of the code of its compiled forms."""
    h = sha256()
    for name in ("scalar", "rows"):
        code = getattr(getattr(cls, name, None), "__code__", None)
        if code is not None:
            _digest(code, h)
    key = f"{cls.__module__}.{cls.__qualname__}:{h.hexdigest()[:16]}"
    _CLASSES[key] = cls
    return key


@functools.lru_cache(maxsize=None)
def _forms_type(role, classes):
    return FormsType(role, tuple(_fingerprint(cls) for cls in classes))


class Compiled:
    """An activation or a loss as a kernel argument (see :func:`compiled`)."""

    __slots__ = ("obj", "_numba_type_")

    def __init__(self, obj):
        self.obj = obj
        if isinstance(obj, Loss):
            self._numba_type_ = _forms_type("loss", (type(obj), type(obj.act)))
        else:
            self._numba_type_ = _forms_type("act", (type(obj),))

    def __repr__(self):
        return f"<compiled {self.obj!r}>"


def compiled(obj):
    """``obj`` — an element-wise activation, or a loss bound to its output activation — as the
    argument that the kernels here take for it."""
    return Compiled(obj)


#: ``lib`` of :meth:`~riemannopt.nn.activations.Activation.scalar` on the CPU.
CPU_LIB = scalar_lib(exp_nonpositive)


@functools.lru_cache(maxsize=None)
def _forms(key, role, ftype):
    """The compiled forms of class ``key`` for entries of ``ftype``, each one jitted to inline."""
    cls = _CLASSES[key]
    if role == "act":
        forms = cls.scalar(ftype, CPU_LIB)
    else:
        forms = cls.rows(ftype) if cls.rowwise else cls.scalar(ftype)
    return SimpleNamespace(**{name: njit(inline="always")(fn) for name, fn in vars(forms).items()})


def _ftype(typ):
    """The numpy scalar type of a numba scalar or array type."""
    return as_dtype(typ.dtype if isinstance(typ, types.Array) else typ).type


def _resolve(token, which, field, first):
    """The jitted ``field`` of the activation (``which = 0``: the token's own, or a loss's output
    activation: ``which = 1``) or of the loss (``which = None``), typed by the argument ``first``."""
    if not isinstance(token, FormsType):
        return None
    if which is None:
        return getattr(_forms(token.keys[0], "loss", _ftype(first)), field)
    return getattr(_forms(token.keys[which], "act", _ftype(first)), field)


def _stub(name):
    def stub(*args):
        raise NotImplementedError("only callable from numba-compiled code")

    stub.__name__ = stub.__qualname__ = name
    return stub


# One stub per compiled form, called as stub(token, args...); numba needs the typing function's
# arguments to be named like the implementation's, hence one definition per number of them.


def _bind1(name, which, field):
    stub = _stub(name)

    @overload(stub, inline="always")
    def _typing(token, a):
        fn = _resolve(token, which, field, a)
        return None if fn is None else (lambda token, a: fn(a))

    return stub


def _bind4(name, field):
    stub = _stub(name)

    @overload(stub, inline="always")
    def _typing(token, a, b, c, d):
        fn = _resolve(token, None, field, a)
        return None if fn is None else (lambda token, a, b, c, d: fn(a, b, c, d))

    return stub


def _bind5(name, field):
    stub = _stub(name)

    @overload(stub, inline="always")
    def _typing(token, a, b, c, d, e):
        fn = _resolve(token, None, field, a)
        return None if fn is None else (lambda token, a, b, c, d, e: fn(a, b, c, d, e))

    return stub


def _bind8(name, field):
    stub = _stub(name)

    @overload(stub, inline="always")
    def _typing(token, a, b, c, d, e, f, g, h):
        fn = _resolve(token, None, field, a)
        return None if fn is None else (lambda token, a, b, c, d, e, f, g, h: fn(a, b, c, d, e, f, g, h))

    return stub


act_value = _bind1("act_value", 0, "value")
act_d1 = _bind1("act_d1", 0, "d1")
act_curv = _bind1("act_curv", 0, "curv")
out_d1 = _bind1("out_d1", 1, "d1")
out_curv = _bind1("out_curv", 1, "curv")
loss_grad = _bind4("loss_grad", "grad")
loss_fisher = _bind4("loss_fisher", "fisher")
loss_connection = _bind4("loss_connection", "connection")
row_grad = _bind5("row_grad", "grad")
row_fisher = _bind5("row_fisher", "fisher")
row_connection = _bind8("row_connection", "connection")


# -- forward layer ------------------------------------------------------------------------------


@forward_kernel
def forward_(s, b, act):
    """``s ← φ(s + b)``, row-wise broadcast of the bias ``b`` (a hidden layer)."""
    n, m = s.shape
    for i in range(n):
        for j in range(m):
            s[i, j] = act_value(act, s[i, j] + b[j])


@forward_kernel
def forward_out(s, b, y, act):
    """``s ← s + b`` and ``y ← φ(s)`` (the output layer keeps its logits)."""
    n, m = s.shape
    for i in range(n):
        for j in range(m):
            x = s[i, j] + b[j]
            s[i, j] = x
            y[i, j] = act_value(act, x)


_SIGMOID = compiled(Sigmoid())


def sigmoid_(s, b):
    """``s ← sigmoid(s + b)``: :func:`forward_` of the sigmoid."""
    forward_(s, b, _SIGMOID)


def sigmoid_out(s, b, y):
    """``s ← s + b`` and ``y ← sigmoid(s)``: :func:`forward_out` of the sigmoid."""
    forward_out(s, b, y, _SIGMOID)


# -- R and R/S epilogues of a hidden layer ------------------------------------------------------


@kernel
def r_epilogue_(a, r, c, act):
    """``r ← φ'(s) ⊙ (r + c)``: ``R(a)`` from the layer's products ``r`` and the bias direction ``c``."""
    n, m = r.shape
    for i in range(n):
        for j in range(m):
            r[i, j] = act_d1(act, a[i, j]) * (r[i, j] + c[j])


@kernel
def rs_epilogue_(a, r, s, c, act, has_s):
    """``r ← R(a) = φ' ⊙ R(s)`` and ``s ← S(a) = φ' ⊙ ((φ''/φ') ⊙ R(s)² + S(s))``, ``R(s) = r + c``.

    On entry ``s`` holds ``S(s)``, or anything when ``has_s`` is false (``S(s) = 0``: the first
    layer, whose input does not depend on θ).
    """
    n, m = r.shape
    for i in range(n):
        for j in range(m):
            x = a[i, j]
            d1 = act_d1(act, x)
            rs = r[i, j] + c[j]
            t = act_curv(act, x) * rs * rs
            if has_s:
                t += s[i, j]
            r[i, j] = d1 * rs
            s[i, j] = d1 * t


# -- backward epilogue and bias gradients --------------------------------------------------------


@kernel
def backward_epilogue_(a, d, act, gb):
    """``d ← φ'(s) ⊙ d`` (``D(s)`` from ``D(a)``) and ``gb ← Σ_rows d`` (the bias gradient)."""
    n, m = d.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            x = act_d1(act, a[i, j]) * d[i, j]
            d[i, j] = x
            gb[j] += x


# -- output signals of the loss, scaled, with the bias gradient ---------------------------------
#
# ``scale`` is the loss's signal_scale / n.  An element-wise loss's signals are one pass over the
# entries; a row-wise loss's forms write a row, whose column sums are then added to ``gb``.


@kernel
def gradient_(y, t, loss, scale, d, gb):
    """``d ← scale ∂ℓ/∂s`` and ``gb ← Σ_rows d``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = y[i, j]
            x = loss_grad(loss, v, t[i, j], out_d1(loss, v), scale)
            d[i, j] = x
            gb[j] += x


@kernel
def fisher_(y, rs, loss, scale, gb):
    """``rs ← scale F_s R(s)`` and ``gb ← Σ_rows rs``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = y[i, j]
            x = loss_fisher(loss, v, rs[i, j], out_d1(loss, v), scale)
            rs[i, j] = x
            gb[j] += x


@kernel
def connection_(y, rs, ss, has_ss, loss, scale, gb):
    """``rs ← scale F_s (h₀ + S(s))``, the signal of ``Γ_first(v, v)`` (``h₀`` the loss's
    ``connection``; ``S(s) = 0`` unless ``has_ss``), and ``gb ← Σ_rows rs``."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        for j in range(m):
            v = y[i, j]
            g = out_d1(loss, v)
            h = loss_connection(loss, v, rs[i, j], g, out_curv(loss, v))
            if has_ss:
                h += ss[i, j]
            x = loss_fisher(loss, v, h, g, scale)
            rs[i, j] = x
            gb[j] += x


@kernel
def row_gradient_(y, t, loss, scale, d, gb):
    """:func:`gradient_` of a row-wise loss."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        row_grad(loss, y, t, i, scale, d)
        for j in range(m):
            gb[j] += d[i, j]


@kernel
def row_fisher_(y, rs, loss, scale, gb):
    """:func:`fisher_` of a row-wise loss."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        row_fisher(loss, y, rs, i, scale, rs)
        for j in range(m):
            gb[j] += rs[i, j]


@kernel
def row_connection_(y, rs, ss, has_ss, loss, scale, gb):
    """:func:`connection_` of a row-wise loss."""
    n, m = y.shape
    for j in range(m):
        gb[j] = 0
    for i in range(n):
        row_connection(loss, y, rs, ss, has_ss, 0, i, scale, rs)
        for j in range(m):
            gb[j] += rs[i, j]


# -- checks -------------------------------------------------------------------------------------


@compiles_whole(njit(cache=True, error_model="numpy", fastmath={"reassoc"}))
def all_finite(x):
    """Whether every entry of the 1-d array ``x`` is finite, in one pass without a temporary.

    ``0·x`` is ±0 for a finite ``x`` and NaN for ±inf or NaN, so the sum is NaN exactly when
    some entry is not finite; reassociating a sum of zeros and NaNs cannot change that, so the
    reduction may be vectorized (no ``nnan``/``ninf`` flags, which would fold ``0·x`` to 0).
    """
    zero = typed(0.0, x)
    acc = zero
    for i in range(x.size):
        acc += x[i] * zero
    return acc == zero


# Damaged cache files would break every later process: checked once, at import, before any call
# (a few milliseconds).
heal_numba_cache(sys.modules[__name__])
