"""sympy → numba code generation with an on-disk cache.

``compile_problem`` derives the geometry of a :class:`~riemannopt.symbolic.Problem` (inverse
metric, Christoffel symbols, gradient), prints it as a module of ``@njit(cache=True)`` functions
with common subexpressions eliminated, and stores that module in :func:`cache_dir`.  A later
compile of an equal problem, in any process, imports the stored module: no symbolic derivation,
and numba's cache beside it means no re-jitting either.
"""

import hashlib
from importlib import resources

from .cache import cache_dir, load_or_create
from .compiled import CompiledProblem
from .emit import emit_module

# Generated modules are named after the problem *and* the code that generates and supports them,
# so that a change to the printer or the special functions never reuses stale cached code (numba's
# cache does not see changes in the functions a cached function calls).
_CODEGEN_TAG = hashlib.sha256(
    b"".join(resources.files(__package__).joinpath(f).read_bytes() for f in ("emit.py", "printer.py", "special.py"))
).hexdigest()[:10]

__all__ = ["CompiledProblem", "compile_problem", "cache_dir", "emit_module"]


def compile_problem(problem, cache_dir=None):
    """Compile ``problem`` (a :class:`~riemannopt.symbolic.Problem`) to a :class:`CompiledProblem`.

    Parameters
    ----------
    problem : Problem
    cache_dir : path, optional
        Where generated modules are stored (default: see :func:`cache_dir`).
    """
    name = f"_riemannopt_gen_{problem.key}_{_CODEGEN_TAG}"
    module, hit = load_or_create(name, lambda: emit_module(problem), cache_dir)
    return CompiledProblem(problem, module, from_cache=hit, cache_dir=cache_dir)
