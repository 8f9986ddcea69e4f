"""Pass a problem's compiled functions to the kernels as data, so the kernels compile once.

The kernels (:mod:`riemannopt.integrators.kernels`) are the same for every problem; only the
functions they call — ``metric``, ``grad``, ``gamma_vv``, ... generated for each problem — differ.
numba specialises a jitted function on every jitted function it receives as an argument (and will
not cache such a specialisation), so the kernels receive instead an int64 array holding the
problem's dimension and the machine addresses of its compiled functions::

    F = [n, c_0, j_0, c_1, j_1, ...]   # one (C wrapper, native entry) pair per FUNCTIONS entry,
                                       # then one per KERNEL_SIGNATURES entry

and :func:`bind` turns it, inside jitted code, into a named tuple of numba first-class functions
(``F.metric(x, p, out)``, ``F.gamma_vv(x, v, p, out)``, ..., ``F.n`` and ``F.addresses``, the
array itself).  The geodesic solver and the natural direction, which several kernels call, are
reached the same way (``F.solve``, ``F.nat_dir``, :data:`KERNEL_SIGNATURES`), so that they too
are compiled once rather than into each of their callers.  Every kernel then has one type
signature whatever the problem, and numba compiles it once per machine and caches it; a new
problem compiles only its own small functions, each with a fixed signature
(:data:`riemannopt.codegen.compiled.SIGNATURES`), and only those the kernels it runs call.  A
call through ``F`` is not inlined: it costs about 15 ns, a few per cent of a step of the
cheapest methods (docs/benchmarks.md).

The step rules are passed to the trajectory loop the same way (:func:`bind_step`), so one loop
serves every method.

An address is only valid while the compiled functions it points to are alive: a
:class:`~riemannopt.codegen.compiled.CompiledProblem` holds its module, and the arrays made here
live on it (see :mod:`riemannopt.integrators.link`).
"""

import hashlib
from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.experimental.function_type import _get_jit_address, _get_wrapper_address
from numba.extending import intrinsic, overload

from riemannopt.codegen.compiled import SIGNATURES
from riemannopt.integrators.outcomes import VOCABULARY
from riemannopt.integrators.tableaus import DIGEST as TABLEAUS

__all__ = [
    "Functions",
    "FUNCTIONS_TYPE",
    "STEP_SIGNATURE",
    "bind",
    "bind_function",
    "bind_kernel",
    "KERNEL_FUNCTIONS",
    "KERNEL_SIGNATURES",
    "bind_step",
    "empty_functions",
    "step_addresses",
]

_f8 = types.float64
_I1 = types.Array(types.int64, 1, "C")
_C1 = types.Array(_f8, 1, "C")

#: Kernels that other kernels call through an address, as they call the problem's functions:
#: numba links a jitted callee's code into every caller and optimises it again there, so the
#: geodesic solver, called directly, was compiled once per kernel that solves a geodesic (4.7 s
#: for ``step_re`` against 1.9 s for DOP853 itself), and the natural direction once per step
#: rule; so were the computation of the facts at an iterate (``facts``) and the solve with the
#: metric's factor held there (``natural_here``), which most step rules call (inlined, they made
#: each step rule 1–2 s slower to compile).  They take the address array itself
#: (``F.addresses``) and bind it.  Name -> (function of the kernels module, signature).
_X = types.Array(_f8, 1, "A", readonly=True)
KERNEL_SIGNATURES = {
    "solve": types.Tuple((types.int64, _C1, _f8, types.int64))(_I1, _C1, _f8, _C1, _f8, _f8, types.int64),
    "nat_dir": types.int64(_I1, _X, _X, types.Array(_f8, 1, "A")),
    "facts": types.int64(_I1, _X, _X, _C1, types.boolean),
    "natural_here": types.int64(_I1, _X, _X, _C1, _X, types.Array(_f8, 1, "A")),
}
KERNEL_FUNCTIONS = {
    "solve": "solve_at",
    "nat_dir": "nat_dir_at",
    "facts": "facts_at",
    "natural_here": "natural_here_at",
}

#: A problem's functions inside jitted code: ``n``, the address array they were bound from, one
#: first-class function per FUNCTIONS entry and one per KERNEL_SIGNATURES entry.
Functions = namedtuple("Functions", ["n", "addresses", *SIGNATURES, *KERNEL_SIGNATURES])

_SIGNATURES = {**SIGNATURES, **KERNEL_SIGNATURES}
FUNCTIONS_TYPE = types.NamedTuple([types.int64, _I1, *(types.FunctionType(s) for s in _SIGNATURES.values())], Functions)
#: The signature of every step rule ``step_<name>(F, x, xprev, lr, k, p, rtol, atol, max_steps,
#: here, out, bad) -> status`` (see the kernels module; ``here`` holds the facts at ``x``).
STEP_SIGNATURE = types.int64(FUNCTIONS_TYPE, _C1, _C1, _f8, types.int64, _C1, _f8, _f8, types.int64, _C1, _C1, _C1)
STEP_TYPE = types.FunctionType(STEP_SIGNATURE)

#: A digest of what the kernels' machine code takes from outside ``kernels.py``: the types above,
#: the outcome codes (:data:`riemannopt.integrators.outcomes.VOCABULARY`) and the Runge–Kutta
#: tableaus (:data:`riemannopt.integrators.tableaus.DIGEST`), all frozen into it by numba.  The
#: kernels module records the one it was written for (numba's cache sees edits of that file only).
LAYOUT = hashlib.sha256(f"{FUNCTIONS_TYPE}|{STEP_SIGNATURE}|{VOCABULARY}|{TABLEAUS}".encode()).hexdigest()[:12]


def _function(context, builder, ftype, c_addr, jit_addr):
    """A first-class function value of type ``ftype`` from its two entry points."""
    voidptr = context.get_value_type(types.voidptr)
    f = cgutils.create_struct_proxy(ftype)(context, builder)
    f.c_addr = builder.inttoptr(c_addr, voidptr)
    f.py_addr = ir.Constant(voidptr, None)  # only needed to return the function to Python
    f.jit_addr = builder.inttoptr(jit_addr, voidptr)
    return f._getvalue()


def _loader(context, builder, arraytype, array):
    data = context.make_array(arraytype)(context, builder, array).data
    return lambda i: builder.load(builder.gep(data, [ir.Constant(ir.IntType(64), i)]))


@intrinsic
def _bind_functions(typingctx, F):
    def codegen(context, builder, sig, args):
        load = _loader(context, builder, sig.args[0], args[0])
        context.nrt.incref(builder, sig.args[0], args[0])  # the tuple holds the array too
        members = [load(0), args[0]]
        for i, ftype in enumerate(FUNCTIONS_TYPE.types[2:]):
            members.append(_function(context, builder, ftype, load(1 + 2 * i), load(2 + 2 * i)))
        return context.make_tuple(builder, FUNCTIONS_TYPE, members)

    return FUNCTIONS_TYPE(F), codegen


@intrinsic
def _bind_step(typingctx, S):
    def codegen(context, builder, sig, args):
        load = _loader(context, builder, sig.args[0], args[0])
        return _function(context, builder, STEP_TYPE, load(0), load(1))

    return STEP_TYPE(S), codegen


def bind(F):
    """Inside jitted code: the problem's functions from their addresses (an int64 array, as made
    by :func:`empty_functions` and :func:`bind_function`); already bound functions are returned
    as they are (also in plain Python, with ``NUMBA_DISABLE_JIT=1``, for a :data:`Functions`
    of Python callables)."""
    if isinstance(F, Functions):
        return F
    raise TypeError("bind turns addresses into functions in jitted code only")


@overload(bind, jit_options={"cache": True})
def _bind(F):
    if isinstance(F, types.NamedTuple) and F == FUNCTIONS_TYPE:
        return lambda F: F
    if isinstance(F, types.Array) and F.dtype == types.int64 and F.ndim == 1:
        return lambda F: _bind_functions(F)


def bind_step(S):
    """Inside jitted code: a step rule from its addresses (an int64 array of two, as made by
    :func:`step_addresses`)."""
    raise TypeError("bind_step is called from jitted code only")


@overload(bind_step, jit_options={"cache": True})
def _bind_step_overload(S):
    if isinstance(S, types.Array) and S.dtype == types.int64 and S.ndim == 1:
        return lambda S: _bind_step(S)


def _entry_points(dispatcher, signature):
    return _get_wrapper_address(dispatcher, signature), _get_jit_address(dispatcher, signature)


def empty_functions(n):
    """The address array of a problem of dimension ``n`` with no function bound yet (see
    :func:`bind_function`)."""
    F = np.zeros(1 + 2 * len(_SIGNATURES), dtype=np.int64)
    F[0] = n
    return F


def bind_function(F, compiled, name):
    """Compile the function ``name`` of ``compiled`` (a CompiledProblem; loaded from numba's
    cache when it was compiled before) and store its entry points in the address array ``F``.

    A kernel must not call a function whose entry points are not stored: the caller binds those
    the kernel uses (:mod:`riemannopt.integrators.link` finds them in the kernels' source)."""
    i = 1 + 2 * _INDEX[name]
    F[i : i + 2] = _entry_points(compiled.function(name), SIGNATURES[name])


def bind_kernel(F, name, kernel):
    """Store in ``F`` the entry points of ``kernel`` (the jitted function of the kernels module
    that :data:`KERNEL_FUNCTIONS` names for ``name``), compiled with its signature (or loaded
    from numba's cache)."""
    signature = KERNEL_SIGNATURES[name]
    kernel.compile(signature)
    i = 1 + 2 * _INDEX[name]
    F[i : i + 2] = _entry_points(kernel, signature)


_INDEX = {name: i for i, name in enumerate(_SIGNATURES)}


def step_addresses(step):
    """The int64 array of the two entry points of the step rule ``step`` (a jitted function of
    the kernels module), compiled with :data:`STEP_SIGNATURE` (or loaded from numba's cache)."""
    step.compile(STEP_SIGNATURE)
    return np.array(_entry_points(step, STEP_SIGNATURE), dtype=np.int64)
