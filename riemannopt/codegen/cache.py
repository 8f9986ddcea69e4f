"""The on-disk cache of generated modules (numba's own cache lives beside them)."""

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from ..errors import CompileError

__all__ = ["cache_dir", "load_or_create"]


def cache_dir(override=None):
    """The cache directory: ``override``, else ``$RIEMANNOPT_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/riemannopt``, else ``~/.cache/riemannopt``; created if missing."""
    if not override:
        override = os.environ.get("RIEMANNOPT_CACHE_DIR")
    if not override:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        override = os.path.join(xdg, "riemannopt")
    path = Path(override)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomic(path, text):
    # Another process may compile the same problem at the same time: never expose half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_or_create(name, make_source, directory=None):
    """Import the generated module ``name``, writing its source with ``make_source()`` first if
    the cache does not hold it.

    Returns
    -------
    module, bool
        The module and whether it came from the cache (in memory or on disk).
    """
    if name in sys.modules:
        return sys.modules[name], True
    path = cache_dir(directory) / f"{name}.py"
    hit = path.exists()
    if not hit:
        _write_atomic(path, make_source())
    try:
        return _import(name, path), hit
    except Exception as exc:
        if not hit:
            raise CompileError(f"generated module {path} does not import: {exc}") from exc
    # A damaged cache entry (an interrupted write by an older version, a hand edit): regenerate once.
    _write_atomic(path, make_source())
    try:
        return _import(name, path), False
    except Exception as exc:
        raise CompileError(f"generated module {path} does not import: {exc}") from exc


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so sibling generated modules can import it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
