"""``sympy.simplify``, remembered on disk.

Simplification is most of the cost of building a problem symbolically (deriving a Fisher metric,
pulling a metric back through a reparameterization), and a process that finds a problem's
compiled code in the cache still has to build the problem to know its key.  So each result is
stored in the cache directory (``symbolic/`` under :func:`riemannopt.codegen.cache_dir`, which
the code generator installs with :func:`use_cache_dir`),
named by a digest of the expression (``sympy.srepr``, which spells out every symbol and its
assumptions) and of the sympy version, and read back by later processes instead of simplifying
again.  A file that cannot be read is ignored and rewritten; a cache that cannot be written only
costs the time.
"""

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import sympy as sp

__all__ = ["simplify", "use_cache_dir"]

_VERSION = f"sympy {sp.__version__}, riemannopt.symbolic.simplify 1"
_memory = {}


# The function giving the cache directory: riemannopt.codegen installs its cache_dir (this
# layer does not import the code generator); without it results are remembered in memory only.
_directory = None


def use_cache_dir(directory):
    """Store results under ``directory()/symbolic`` (``directory`` is called at each miss, so that
    it follows ``$RIEMANNOPT_CACHE_DIR``)."""
    global _directory
    _directory = directory


def _path(key):
    if _directory is None:
        return None
    return Path(_directory()) / "symbolic" / f"{key}.pickle"


def simplify(expr):
    """``sympy.simplify(expr)``, from this process's memory or the disk cache when known."""
    expr = sp.sympify(expr)
    if expr.is_Atom:
        return expr
    key = hashlib.sha256(f"{_VERSION}\n{sp.srepr(expr)}".encode()).hexdigest()[:32]
    if key in _memory:
        return _memory[key]
    path = _path(key)
    try:
        result = pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - no cache, missing, truncated or foreign: simplify again
        result = None
    if not isinstance(result, sp.Basic):
        result = sp.simplify(expr)
        if path is not None:
            _store(path, result)
    _memory[key] = result
    return result


def _store(path, result):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(result, f)
        os.replace(tmp, path)  # readers never see a partial file
    except Exception:  # noqa: BLE001 - a full disk or an unpicklable result: keep it in memory only
        Path(tmp).unlink(missing_ok=True)
