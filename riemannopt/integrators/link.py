"""Link the jitted kernels (``_kernels.py``) and the trajectory loop (``_loop.py``) against one
compiled problem.

numba cannot cache a function that receives other jitted functions as arguments, so instead of
passing ``metric``, ``grad``, ... around, the kernel source is written once per problem as a
module that star-imports the problem's generated module, and the loop once per (problem, method)
as a module that star-imports those kernels and binds ``step`` to the method's step rule.  All
live in the codegen cache directory, so numba caches whole trajectory loops on disk, and a
process compiles only the loops of the methods it runs.
"""

import hashlib
from importlib import resources

from riemannopt.codegen.cache import load_or_create

__all__ = ["kernels_for", "loop_for"]

_SOURCE = resources.files(__package__).joinpath("_kernels.py").read_text(encoding="utf-8")
_LOOP = resources.files(__package__).joinpath("_loop.py").read_text(encoding="utf-8")
_TAG = hashlib.sha256(_SOURCE.encode()).hexdigest()[:12]
_LOOP_TAG = hashlib.sha256(_LOOP.encode()).hexdigest()[:8]

# What the integrators call in a kernel module (a damaged entry lacking any of them is regenerated).
_EXPECTED = (
    "check",
    "check_all",
    "check_point",
    "check_rows",
    "chol_solve",
    "nat_dir",
    "exp_map",
    "exp_map_batch",
    "transport",
    "transport_batch",
    "geodesic_path",
    "ode_rhs",
    "start_ok",
    "in_domain",
    "loss",
)


def kernels_for(compiled):
    """The kernel module linked against ``compiled`` (a :class:`CompiledProblem`), cached (and
    remembered by ``compiled``: single exponential maps are called by the million)."""
    module = compiled.__dict__.get("_kernels")
    if module is not None:
        return module
    problem_module = compiled.module.__name__
    name = problem_module.replace("_riemannopt_gen_", "_riemannopt_kern_", 1) + f"_{_TAG}"
    header = f"# Kernels of riemannopt.integrators linked against {problem_module}.\nfrom {problem_module} import *  # noqa: F403\n"
    module, _ = load_or_create(name, lambda: header + _SOURCE, compiled.cache_dir, expect=_EXPECTED)
    compiled._kernels = module
    return module


def loop_for(compiled, kernel):
    """The trajectory-loop module of the step rule ``kernel`` (a function name of
    ``_kernels.py``, such as ``"step_geo"``) linked against ``compiled``, cached."""
    kernels = kernels_for(compiled)
    name = f"{kernels.__name__}_{kernel}_{_LOOP_TAG}"
    header = (
        f"# The {kernel} loop of riemannopt.integrators linked against {kernels.__name__}.\n"
        f"from {kernels.__name__} import *  # noqa: F403\n"
        f"step = {kernel}  # noqa: F405\n"
    )
    module, _ = load_or_create(name, lambda: header + _LOOP, compiled.cache_dir, expect=("run", "run_batch", "step"))
    return module
