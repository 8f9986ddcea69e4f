"""Link the jitted kernels (``_kernels.py``) against one compiled problem.

numba cannot cache a function that receives other jitted functions as arguments, so instead of
passing ``metric``, ``grad``, ... around, the kernel source is written once per problem as a
module that star-imports the problem's generated module.  Both live in the codegen cache
directory, so numba caches the whole trajectory loop on disk.
"""

import hashlib
from importlib import resources

from ..codegen.cache import load_or_create

__all__ = ["kernels_for"]

_SOURCE = resources.files(__package__).joinpath("_kernels.py").read_text(encoding="utf-8")
_TAG = hashlib.sha256(_SOURCE.encode()).hexdigest()[:12]

# What the integrators call in a kernel module (a damaged entry lacking any of them is regenerated).
_EXPECTED = ("run", "check", "check_point", "check_rows", "chol_solve", "nat_dir", "exp_map", "geodesic_path", "geodesic_rhs", "in_domain", "loss")


def kernels_for(compiled):
    """The kernel module linked against ``compiled`` (a :class:`CompiledProblem`), cached."""
    problem_module = compiled.module.__name__
    name = problem_module.replace("_riemannopt_gen_", "_riemannopt_kern_", 1) + f"_{_TAG}"
    header = f"# Kernels of riemannopt.integrators linked against {problem_module}.\nfrom {problem_module} import *  # noqa: F403\n"
    module, _ = load_or_create(name, lambda: header + _SOURCE, compiled.cache_dir, expect=_EXPECTED)
    return module
