"""Fault injection into numba's cache of every module of the package that numba caches (issue 21).

The modules are found in the source, not listed by hand (:func:`cached_modules`): those that
compile functions with ``cache=True`` (``njit(cache=True)``, ``@overload(...,
jit_options={"cache": True})``) and the code generators, whose generated modules do.  Each must
have an entry in :data:`TARGETS`, so a new cached module fails here until its faults are tested.

For each module and each fault (a data file cut in half, an index overwritten with random bytes,
the data files of two signatures of one function swapped, such as its float32 and float64 code,
or, for a function of one signature, another function's data file copied over its own), a
fresh process with its own caches (``NUMBA_CACHE_DIR`` and ``RIEMANNOPT_CACHE_DIR`` in a
temporary directory, so the package's ``__pycache__`` and the session's cache are never touched)
runs :data:`_CHILD`, which calls a function of every cached module and compares the result with
an independent computation (closed forms, ``math.lgamma``, ``scipy.special.digamma``,
``numpy.linalg.solve``, numpy's sigmoid).  The process after the fault must warn exactly once
(a :class:`~riemannopt.errors.CacheWarning` naming the module and the directory) and compute the
right values; the process after that must compute them again without a warning.

Cost: one process fills the cache (about 15 s of CPU: it compiles the kernels used), then each of
the 21 cases runs two processes that each import riemannopt (about 2 s) and recompile only the
damaged function (under a second): about two minutes of CPU in all, because every case restores
the same filled cache instead of filling its own.

Before the fix, the damaged files gave ``UnpicklingError`` (a random index, a truncated data
file), ``can't unbox array`` (float32 and float64 code swapped) or another function's code
(``TypeError: grad expected 3 arguments``) in every later process; the binding's and the linear
algebra's files, which only a compilation reads, stayed damaged without a warning.  The faults of
a problem with data also check a cache in which a caller of parallel code was compiled again
while the parallel code was loaded from the cache: without the thread pool that the healing
starts, every later process aborted ("LLVM ERROR: Symbol not found: allocate_sched").
"""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import riemannopt as ro

PACKAGE = Path(ro.__file__).resolve().parent
REPO = PACKAGE.parent
# The generators: their modules are cached in the riemannopt cache directory.
GENERATED = {"riemannopt.codegen.emit", "riemannopt.codegen.emit_data"}

# For each cached module: the file-name prefix (module file stem and function) of the function
# whose files are damaged, and the function whose data file is copied over its own when it has a
# single signature (None: it has two, float and int or float32 and float64 or two layouts, whose
# data files are swapped).  "{gen}" and "{data}" are the names of the generated modules of the
# problem and of the problem with data.
TARGETS = {
    "riemannopt.codegen.emit": ("{gen}.loss", "{gen}.grad"),
    "riemannopt.codegen.emit_data": ("{data}.loss", "{data}.grad"),
    "riemannopt.codegen.linalg": ("linalg.chol_solve", "linalg.cholesky"),
    "riemannopt.codegen.special": ("special.loggamma", None),
    "riemannopt.integrators.kernels": ("kernels.chol_solve", None),
    "riemannopt.integrators.binding": ("binding._bind.locals.lambda", "kernels.nat_dir"),
    "riemannopt.minimizers.kernels": ("kernels._minimize_loop", "kernels.nat_dir"),
    "riemannopt.nn.backends._numpy_kernels": ("_numpy_kernels.all_finite", None),
}
FAULTS = ("truncated", "random", "swapped")
# Cached functions that the child reaches only inside other cached code: numba compiles (and
# caches) them again only when a kernel that calls them is compiled, not in the healing process.
INLINED = {"riemannopt.integrators.binding", "riemannopt.codegen.linalg"}


def _caches_with_numba(tree):
    """Whether the module compiles functions with ``cache=True``, and whether it generates code
    that does (a string holding ``cache=True`` that is not a docstring)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    jit = generates = False
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cache":
            jit |= isinstance(node.value, ast.Constant) and node.value.value is True
        elif isinstance(node, ast.Dict):
            jit |= any(
                isinstance(k, ast.Constant) and k.value == "cache" and isinstance(v, ast.Constant) and v.value is True
                for k, v in zip(node.keys, node.values, strict=True)
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            generates |= "cache=True" in node.value
    return jit, generates


def cached_modules():
    """The modules of the package whose functions numba caches, or that generate such modules."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        jit, generates = _caches_with_numba(ast.parse(path.read_text(encoding="utf-8")))
        if jit or generates:
            found.append(".".join(path.relative_to(REPO).with_suffix("").parts))
    return found


_CHILD = r"""
import json, math, warnings
import numpy as np
from scipy import special as sc

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import sympy as sp
    import riemannopt as ro
    from riemannopt.codegen import special
    from riemannopt.integrators import kernels
    from riemannopt.integrators.link import kernels_for
    from riemannopt.nn.backends import _numpy_kernels as kern

    # g(t) = 1 + t², L(t) = (t − c)²/2 + 2t³: ∇L = t − c + 6t², d = −∇L/g.
    t, c = sp.symbols("t c", real=True)
    C = ro.Problem(ro.Metric([t], [[1 + t**2]]), (t - c) ** 2 / 2 + 2 * t**3, params={c: 1.5}).compile()
    x = np.array([0.7])
    grad = 0.7 - 1.5 + 6 * 0.7**2
    values = {"loss": [C.loss(x), (0.7 - 1.5) ** 2 / 2 + 2 * 0.7**3], "grad": [C.grad(x)[0], grad]}
    out = np.empty(1)
    kernels_for(C).nat_dir(x, C.p, out)
    values["nat_dir"] = [out[0], -grad / (1 + 0.7**2)]
    # the minimizers' loop: ncg-f's exact line search lands on the root of ∇L = t − c + 6t²
    values["minimize"] = [ro.minimize(C, "ncg-f", [0.7], tol=1e-13).x[0], (math.sqrt(37) - 1) / 12]
    # Logistic regression over 5 rows: mean loss, gradient Xᵀ(σ − y)/m, direction −G⁻¹∇L with the
    # Fisher metric G = Xᵀ diag(σ(1 − σ)) X / m (the linear algebra of generated code).
    W, XS, Y = sp.symbols("w0:2", real=True), sp.symbols("x0:2", real=True), sp.Symbol("y", real=True)
    Z = W[0] * XS[0] + W[1] * XS[1]
    S = 1 / (1 + sp.exp(-Z))
    X, y = np.array([[1.0, 0.5], [1.0, -1.2], [1.0, 2.0], [1.0, 0.1], [1.0, -0.4]]), np.array([1.0, 0, 1, 0, 0])
    g = sp.Matrix(2, 2, lambda i, j: XS[i] * XS[j] * S * (1 - S))
    data = {XS[0]: X[:, 0], XS[1]: X[:, 1], Y: y}
    D = ro.Problem(ro.Metric(W, g, data=XS), sp.log(1 + sp.exp(Z)) - Y * Z, data=data).compile()
    w = np.array([0.3, -0.8])
    sig = 1 / (1 + np.exp(-X @ w))
    dgrad, dG = X.T @ (sig - y) / 5, (X * (sig * (1 - sig))[:, None]).T @ X / 5
    values["data loss"] = [D.loss(w), float(np.mean(np.logaddexp(0, X @ w) - y * (X @ w)))]
    values["data grad"] = [D.grad(w).tolist(), dgrad.tolist()]
    values["data direction"] = [D.direction(w).tolist(), (-np.linalg.solve(dG, dgrad)).tolist()]
    G, b = np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0])
    for layout in ("C", "F"):
        z = np.empty(2)
        kernels.chol_solve(np.asarray(G, order=layout), b, z)
        values[f"chol_solve {layout}"] = [z.tolist(), np.linalg.solve(G, b).tolist()]
    values["loggamma"] = [special.loggamma(2.5), math.lgamma(2.5)]
    values["loggamma int"] = [special.loggamma(5), math.lgamma(5)]
    values["digamma"] = [special.digamma(2.5), float(sc.digamma(2.5))]
    s, bias = np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([0.25, -0.5])
    for dtype in ("float64", "float32"):
        y = s.astype(dtype)
        kern.sigmoid_(y, bias.astype(dtype))
        values[f"sigmoid {dtype}"] = [y.astype(float).ravel().tolist(), (1 / (1 + np.exp(-(s + bias)))).ravel().tolist()]
        finite = [bool(kern.all_finite(np.array(v, dtype))) for v in ([1.0, 2.0], [1.0, np.inf])]
        values[f"all_finite {dtype}"] = [finite, [True, False]]
print(json.dumps({"values": values, "warnings": [[w.category.__name__, str(w.message)] for w in caught]}))
"""


def _run(root):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(root / "numba-cache"), RIEMANNOPT_CACHE_DIR=str(root / "ro-cache"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=600, cwd=root
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (got, want) in result["values"].items():
        # float32 sigmoid: rounding of float32 (2⁻²⁴ relative); the rest float64.
        np.testing.assert_allclose(got, want, rtol=1e-6 if "float32" in name else 1e-14, err_msg=name)
    return [message for category, message in result["warnings"] if category == "CacheWarning"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache filled by one process (which must compute the right values without a warning),
    and a pristine copy of it."""
    root = tmp_path_factory.mktemp("numba-faults")
    live = root / "live"
    live.mkdir()
    assert _run(live) == []
    shutil.copytree(live, root / "pristine")
    return live, root / "pristine"


def _generated(live):
    """The names of the generated modules: the problem's ("gen") and the one with data's."""
    names = {}
    for path in (live / "ro-cache").glob("_riemannopt_gen_*.py"):
        names["data" if "riemannopt.codegen.linalg" in path.read_text() else "gen"] = path.stem
    return names


def _index(live, prefix):
    found = sorted((live / "numba-cache").rglob(f"{prefix.format(**_generated(live))}-*.nbi"))
    assert found, f"the filling process cached nothing for {prefix}"
    return found[0]


def _data(index):
    return sorted(index.parent.glob(index.name.removesuffix(".nbi") + ".*.nbc"))


def _damage(live, module, fault):
    """Damage the files of ``module``'s target function; returns the damaged index's directory."""
    target, partner = TARGETS[module]
    index = _index(live, target)
    data = _data(index)
    # The last data files: those of the signatures the child calls from Python (a kernel called
    # only inside another cached one has its first data file written first, and never read).
    if fault == "truncated":
        blob = data[-1].read_bytes()
        data[-1].write_bytes(blob[: len(blob) // 2])
    elif fault == "random":
        index.write_bytes(np.random.default_rng(21).bytes(index.stat().st_size))
    else:
        if partner is None:
            assert len(data) >= 2, data  # two signatures to swap
            blob_a, blob_b = data[-2].read_bytes(), data[-1].read_bytes()
            data[-2].write_bytes(blob_b)
            data[-1].write_bytes(blob_a)
        else:  # one way, so that only this module's cache is damaged
            shutil.copyfile(_data(_index(live, partner))[-1], data[-1])
    return index


def test_every_cached_module_has_targets():
    """The walk finds exactly the modules whose damage TARGETS describes: none missed (a module
    this test was written for, found by hand) and none new without its faults tested."""
    assert cached_modules() == sorted(TARGETS)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("module", cached_modules())
def test_damaged_numba_cache_heals(filled, module, fault):
    """After ``fault`` in ``module``'s numba cache, the next process warns once, naming the module
    (the generated one for the generator) and the damaged directory, rebuilds the files and
    computes the reference values; the process after it computes them without a warning."""
    assert module in TARGETS, f"{module} is cached by numba: add its damage to TARGETS"
    live, pristine = filled
    shutil.rmtree(live)
    shutil.copytree(pristine, live)  # same paths: numba's cache locations do not change
    index = _damage(live, module, fault)
    [warning] = _run(live)
    name = index.name.split(".")[0] if module in GENERATED else module
    assert f"numba's cache of {name} in {index.parent}" in warning, warning
    assert "compiled afresh" in warning, warning
    if module not in INLINED:
        assert index.exists() and _data(index), "numba did not cache the rebuilt function again"
    assert _run(live) == []
