"""``sympy.simplify``, remembered on disk.

Simplification is most of the cost of building a problem symbolically (deriving a Fisher metric,
pulling a metric back through a reparameterization), and a process that finds a problem's
compiled code in the cache still has to build the problem to know its key.  So each result is
stored in the cache directory (``symbolic/`` under :func:`riemannopt.codegen.cache_dir`, which
the code generator installs with :func:`use_cache_dir`),
named by a digest of the expression (``sympy.srepr``, which spells out every symbol and its
assumptions) and of the sympy version, and read back by later processes instead of simplifying
again.  Each entry also holds that whole digest, so an entry under another entry's name (a file
copied or renamed) is told from the right one.  A file that cannot be read, or that holds another
key's entry, is ignored and rewritten; a cache that cannot be written only costs the time.
"""

import hashlib
import pickle
from pathlib import Path

import sympy as sp

from riemannopt._io import atomic_write

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
    digest = hashlib.sha256(f"{_VERSION}\n{sp.srepr(expr)}".encode()).hexdigest()
    key = digest[:32]
    if key in _memory:
        return _memory[key]
    path = _path(key)
    result = _load(path, digest)
    if result is None:
        result = sp.simplify(expr)
        if path is not None:
            _store(path, {"key": digest, "expr": result})
    _memory[key] = result
    return result


def _load(path, digest):
    """The expression of the entry at ``path`` if it is the entry of ``digest``, else None."""
    try:
        entry = pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - no cache, missing, truncated or foreign: simplify again
        return None
    if not isinstance(entry, dict) or entry.get("key") != digest or not isinstance(entry.get("expr"), sp.Basic):
        return None  # another key's entry (a copied or renamed file), or an older format
    return entry["expr"]


def _store(path, entry):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: pickle.dump(entry, f))  # readers never see a partial file
    except Exception:  # noqa: BLE001 - a full disk or an unpicklable result: keep it in memory only
        pass
