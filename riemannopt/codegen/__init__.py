"""sympy → numba code generation with an on-disk cache.

``compile_problem`` derives the geometry of a :class:`~riemannopt.symbolic.Problem` (inverse
metric, Christoffel symbols, gradient), prints it as a module of ``@njit(cache=True)`` functions
with common subexpressions eliminated, and stores that module in :func:`cache_dir`.  A later
compile of an equal problem, in any process, imports the stored module: no symbolic derivation,
and numba's cache beside it means no re-jitting either.
"""

import functools
import hashlib
from importlib import resources

from riemannopt.codegen import special
from riemannopt.codegen.cache import cache_dir, heal_numba_cache, load_or_create
from riemannopt.codegen.compiled import CompiledProblem
from riemannopt.codegen.emit import FUNCTIONS, emit_module
from riemannopt.codegen.printer import POLYGAMMA_ORDERS, SUPPORTED_FUNCTIONS
from riemannopt.symbolic.simplify import use_cache_dir

# Simplifications are remembered beside the generated code (see riemannopt.symbolic.simplify).
use_cache_dir(cache_dir)

# Generated modules are named after the problem *and* the code that generates and supports them,
# so that a change to the printer or the special functions never reuses stale cached code (numba's
# cache does not see changes in the functions a cached function calls).
_CODEGEN_TAG = hashlib.sha256(
    b"".join(
        resources.files(__package__).joinpath(f).read_bytes()
        for f in ("emit.py", "emit_data.py", "linalg.py", "printer.py", "quadrature.py", "special.py")
    )
).hexdigest()[:10]

__all__ = ["CompiledProblem", "compile_problem", "cache_dir", "emit_module", "SUPPORTED_FUNCTIONS", "POLYGAMMA_ORDERS"]


@functools.cache
def _heal_special():
    # The special functions are cached by numba beside this package; every generated module calls
    # them, so damaged cache files of theirs are found once per process, before the first call.
    heal_numba_cache(special)


def compile_problem(problem, cache_dir=None):
    """Compile ``problem`` (a :class:`~riemannopt.symbolic.Problem`) to a :class:`CompiledProblem`.

    The expressions may use these sympy functions (:data:`SUPPORTED_FUNCTIONS`): ``exp``,
    ``log``, ``sqrt``; ``sin``, ``cos``, ``tan``, ``cot``, ``sec``, ``csc``, ``asin``, ``acos``,
    ``atan``, ``atan2``, ``acot``; ``sinh``, ``cosh``, ``tanh``, ``coth``, ``asinh``, ``acosh``,
    ``atanh``; ``Abs``, ``sign``, ``Min``, ``Max``, ``Piecewise``, ``Heaviside`` (their
    derivatives are taken almost everywhere: ``DiracDelta`` becomes 0); ``erf``, ``erfc``,
    ``gamma``, ``loggamma``, ``digamma``, ``trigamma``, ``polygamma`` of orders 0–3, ``sinc``,
    ``besseli`` of integer orders; ``re``, ``im``, ``conjugate`` (of real expressions); with powers, rational numbers and the
    constants ``pi`` and ``E``.  sympy rewrites ``beta``, ``binomial``, ``RisingFactorial``,
    ``cbrt`` and ``root`` into these when they are built.

    Parameters
    ----------
    problem : Problem
    cache_dir : path, optional
        Where generated modules are stored (default: see :func:`cache_dir`).

    Raises
    ------
    CompileError
        If the loss, the metric or the domain uses any other function (for instance
        ``besselk`` or an undefined ``sympy.Function``): the message names it and lists the
        functions above.
    """
    _heal_special()
    name = f"_riemannopt_gen_{problem.key}_{_CODEGEN_TAG}"
    module, hit = load_or_create(name, lambda: emit_module(problem), cache_dir, expect=FUNCTIONS)
    return CompiledProblem(problem, module, from_cache=hit, cache_dir=cache_dir)
