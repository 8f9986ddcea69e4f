"""Link the kernels (:mod:`riemannopt.integrators.kernels`) with one compiled problem.

The kernels are compiled once per machine; what differs between problems is the int64 array of
the addresses of the problem's generated functions (:mod:`riemannopt.integrators.binding`) that
every kernel takes first.  :func:`kernels_for` returns the kernels with that array bound, so
Python code calls ``K.exp_map(x, v, p, ...)``; :func:`loop_for` the trajectory loop with a
method's step rule bound as well.

A problem's functions are compiled when a kernel that calls them is first used, so that a run
compiles only what it calls (a new problem's first ``optimize(..., "ng")`` compiles ``state`` and
``in_domain``, and the loss, gradient and metric that ``state`` calls, not fifteen functions; a
``geo`` run on a problem with data compiles three: ``state``, ``gamma_vv_chol`` and
``in_domain``).  Which functions a kernel calls is read from its code: the
``F.<name>`` it refers to, and those of the kernels it names, transitively, less the calls that
the code holds but a run of that kernel does not make (:data:`_CONDITIONAL`).
"""

import functools
from collections import namedtuple
from functools import partial

from riemannopt._numba_cache import heal_numba_cache
from riemannopt.codegen.compiled import SIGNATURES
from riemannopt.integrators import binding, kernels, outcomes
from riemannopt.integrators.binding import (
    KERNEL_FUNCTIONS,
    bind_function,
    bind_kernel,
    empty_functions,
    step_addresses,
)

__all__ = ["kernels_for", "loop_for", "functions_used"]

# The kernels Python calls.
_ENTRY_POINTS = (
    "check",
    "check_all",
    "check_point",
    "nat_dir",
    "nat_dir_here",
    "exp_map",
    "exp_map_dopri",
    "exp_map_batch",
    "transport",
    "transport_batch",
    "geodesic_path",
    "ode_rhs",
    "start_ok",
)


def _calls():
    """For each jitted function of the kernels module: the problem functions (``F.<name>``) and
    the kernels it names.  Read from the names its code refers to (``co_names``: globals and
    attributes), a superset of what it calls, at a fraction of the cost of parsing the source."""
    defs = {name: f.py_func.__code__ for name, f in vars(kernels).items() if hasattr(f, "py_func")}
    calls = {}
    for name, code in defs.items():
        names = set(code.co_names)
        calls[name] = (names & (SIGNATURES.keys() | KERNEL_FUNCTIONS.keys()), names & defs.keys() - {name})
    return calls


_CALLS = _calls()

# ode_rhs evaluates the flow's field (through nat_dir) only for a state of one block x, and
# transports a vector (F.gamma_uv) only for a state of three blocks (γ, γ̇, W); only the kernels
# named here build such states.  So the exponential map compiles neither Γ(u, v) (four of the
# Gamma figure's 28 functions) nor the gradient.  The recorded run in
# tests/integrators/test_binding.py checks this against what each kernel calls.
_CONDITIONAL = {
    "ode_rhs": {
        "gamma_uv": frozenset({"transport", "step_rmid"}),
        "nat_dir": frozenset({"step_exact"}),
    }
}


def _reach(kernel, enabled):
    """The kernels ``kernel`` reaches and the problem functions they use, with the conditional
    calls of :data:`_CONDITIONAL` followed only when in ``enabled``."""
    seen, todo, used = set(), [kernel], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        uses, callees = _CALLS[name]
        skipped = _CONDITIONAL.get(name, {}).keys() - enabled
        uses = uses - skipped
        used |= uses
        todo += (callees - skipped) | {KERNEL_FUNCTIONS[f] for f in uses & KERNEL_FUNCTIONS.keys()}
    return seen, used


@functools.cache
def functions_used(kernel):
    """The problem functions the kernel ``kernel`` (a function name of the kernels module) calls,
    directly or through other kernels: a frozenset of keys of ``SIGNATURES`` and of
    ``binding.KERNEL_SIGNATURES`` (the kernels it calls through their addresses)."""
    seen, _ = _reach(kernel, frozenset())
    enabled = {f for calls in _CONDITIONAL.values() for f, builders in calls.items() if seen & builders}
    return frozenset(_reach(kernel, enabled)[1])


class _Linked:
    """The kernels with one problem's address array bound (attributes are made on first use),
    its ``in_domain``, and the outcome codes (:mod:`riemannopt.integrators.outcomes`)."""

    chol_solve = staticmethod(kernels.chol_solve)
    new_facts = staticmethod(kernels.new_facts)

    def __init__(self, compiled):
        self.compiled = compiled  # keeps the functions the addresses point to alive
        self.F = empty_functions(compiled.n)
        self._bound = set()
        self.in_domain = compiled.function("in_domain")

    def bind(self, names):
        """Compile the problem functions ``names`` (if not yet) and store their addresses."""
        for name in names - self._bound:
            if name in KERNEL_FUNCTIONS:
                bind_kernel(self.F, name, getattr(kernels, KERNEL_FUNCTIONS[name]))
            else:
                bind_function(self.F, self.compiled, name)
            self._bound.add(name)

    def __getattr__(self, name):
        if name not in _ENTRY_POINTS:
            raise AttributeError(name)
        self.bind(functions_used(name))
        kernel = partial(getattr(kernels, name), self.F)
        setattr(self, name, kernel)
        return kernel


for _name, _value in {**outcomes.STATUSES, **outcomes.WHYS}.items():  # OK, NOT_PD, ..., WHY_STEP_CAP
    setattr(_Linked, _name, _value)


@functools.cache
def _check_kernels():
    # numba invalidates a cached kernel when kernels.py changes, not when what it froze from other
    # modules does (the layout of F, the outcome codes, the tableaus): kernels.py records their
    # digest, so changing one of them means editing there.
    if kernels.LAYOUT != binding.LAYOUT:
        raise RuntimeError(
            f"riemannopt/integrators/kernels.py records the layout {kernels.LAYOUT!r} (of the problem "
            f"functions, the outcome codes and the tableaus) but binding.py computes {binding.LAYOUT!r}: "
            f"set LAYOUT = {binding.LAYOUT!r} there"
        )
    # Damaged cache files would break every later process (see heal_numba_cache); binding's are
    # those of its @overload implementations, which the kernels call.
    heal_numba_cache(kernels)
    heal_numba_cache(binding)


def kernels_for(compiled):
    """The kernels bound to ``compiled`` (a :class:`CompiledProblem`), remembered by it (single
    exponential maps are called by the million)."""
    linked = compiled.__dict__.get("_kernels")
    if linked is None:
        _check_kernels()
        linked = compiled._kernels = _Linked(compiled)
    return linked


# Step rules compiled with the loop's signature in this process, by kernel name.
_steps = {}


def loop_for(compiled, kernel):
    """The trajectory loop (``.run`` and ``.run_batch``) of the step rule ``kernel`` (a function
    name of the kernels module, such as ``"step_geo"``) bound to ``compiled``."""
    S = _steps.get(kernel)
    if S is None:
        S = _steps[kernel] = step_addresses(getattr(kernels, kernel))
    K = kernels_for(compiled)
    K.bind(functions_used("run") | functions_used(kernel))
    return _Loop(partial(kernels.run, K.F, S), partial(kernels.run_batch, K.F, S))


_Loop = namedtuple("Loop", ["run", "run_batch"])
