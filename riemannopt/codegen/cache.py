"""The on-disk cache of generated modules (numba's own cache lives beside them).

The cache heals itself, so that no fault of it ever needs a user to delete files by hand:

* each entry is one generated module ``<name>.py``, written atomically (a temporary file renamed
  into place, removed again if the write fails) and ending with a line that holds a SHA-256
  checksum of the text above it;
* an entry is imported only after its checksum is verified and must then define the names
  expected of it; an entry that is truncated, empty, edited or does not import is regenerated;
* numba's cache files of the entry's functions (index ``.nbi`` and data ``.nbc`` files, in the
  ``__pycache__`` beside it) are checked before any function is called by
  :func:`riemannopt._numba_cache.heal_numba_cache`, the check of every module numba caches, and
  those numba could not use are deleted, so numba compiles those functions afresh;
* a cache directory that cannot be created or written (a read-only file system, a path under a
  regular file) is replaced, for the rest of the process, by a private temporary directory, with
  one :class:`~riemannopt.errors.CacheWarning`.

Several processes may fill the same cache at once: every file, ours and numba's, appears whole or
not at all.
"""

import atexit
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from riemannopt._io import atomic_write
from riemannopt._numba_cache import heal_numba_cache
from riemannopt.errors import CacheWarning, CompileError

__all__ = ["cache_dir", "load_or_create", "heal_numba_cache"]

# The last line of every entry: this marker and the SHA-256 of the text above it.
_END = "# end of riemannopt cache entry, sha256 of the text above: "

# Configured directory → the private directory used instead, for directories that cannot be
# written (one warning each).
_FALLBACK = {}


def _configured(override=None):
    if not override:
        override = os.environ.get("RIEMANNOPT_CACHE_DIR")
    if not override:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        override = os.path.join(xdg, "riemannopt")
    return Path(override)


def cache_dir(override=None):
    """The cache directory: ``override``, else ``$RIEMANNOPT_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/riemannopt``, else ``~/.cache/riemannopt``; created if missing.

    If that directory cannot be created or written, a private temporary directory (removed when
    the process exits) is returned instead, and a :class:`~riemannopt.errors.CacheWarning` is
    issued once.
    """
    path = _configured(override)
    if path in _FALLBACK:
        return _FALLBACK[path]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fallback(path, exc)
    if not os.access(path, os.W_OK):
        return _fallback(path, PermissionError(f"{path} is not writable"))
    return path


def _fallback(path, exc):
    """The private directory replacing ``path`` (made, and warned about, once)."""
    if path not in _FALLBACK:
        private = Path(tempfile.mkdtemp(prefix="riemannopt-cache-"))
        atexit.register(shutil.rmtree, private, ignore_errors=True)
        _FALLBACK[path] = private
        warnings.warn(
            CacheWarning(
                f"the riemannopt cache directory {path} cannot be used ({exc}); compiled problems go to "
                f"the private directory {private} for this process and will be compiled again in the next "
                "one (set RIEMANNOPT_CACHE_DIR to a writable directory to keep them)"
            ),
            stacklevel=4,
        )
    return _FALLBACK[path]


def _seal(text):
    if not text.endswith("\n"):
        text += "\n"
    return f"{text}{_END}{hashlib.sha256(text.encode()).hexdigest()}\n"


def _read_entry(path):
    """The text of the entry at ``path`` if it is complete (its checksum holds), else None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    body, marker, digest = text.rpartition(_END)
    if not marker or digest.strip() != hashlib.sha256(body.encode()).hexdigest():
        return None
    return text


def _store(configured, path, text):
    """Write the entry; into the private directory if ``path``'s cannot be written.  Returns the
    path written.  Another process may compile the same problem at the same time: the write is
    atomic (:func:`riemannopt._io.atomic_write`), never half a file, never a temporary file left
    behind."""
    try:
        atomic_write(path, text)
        return path
    except OSError as exc:
        error = exc
    private = _fallback(configured, error) / path.name
    if private == path:  # the private directory itself cannot be written
        raise CompileError(f"cannot write the generated module {path}: {error}")
    try:
        atomic_write(private, text)
    except OSError as exc:
        raise CompileError(f"cannot write the generated module to {path} nor to {private}: {exc}") from exc
    return private


def load_or_create(name, make_source, directory=None, expect=()):
    """Import the generated module ``name``, writing its source with ``make_source()`` first if
    the cache does not hold a complete entry for it.

    Parameters
    ----------
    name : str
        Module name (and file name, without ``.py``).
    make_source : callable
        Returns the module's source text.
    directory : path, optional
        Cache directory (default: :func:`cache_dir`).
    expect : sequence of str
        Names the module must define; an entry without them is regenerated.

    Returns
    -------
    module, bool
        The module and whether it came from the cache (in memory or on disk).

    Raises
    ------
    CompileError
        If freshly generated source does not import.
    """
    if name in sys.modules:
        return sys.modules[name], True
    configured = _configured(directory)
    path = cache_dir(directory) / f"{name}.py"
    text = _read_entry(path)
    hit = text is not None
    if hit:
        try:
            module = _import(name, path, text, expect)
        except Exception:  # a damaged entry whose checksum still holds (edited by hand): regenerate
            hit = False
    if not hit:
        text = _seal(make_source())
        path = _store(configured, path, text)
        try:
            module = _import(name, path, text, expect)
        except Exception as exc:
            raise CompileError(f"generated module {path} does not import: {exc}") from exc
    heal_numba_cache(module)
    return module, hit


def _import(name, path, text, expect):
    # Executes the verified text itself (not the file, which another process may be replacing,
    # nor a .pyc beside it, which could be damaged); numba reads the file only for its timestamp.
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec, so sibling generated modules can import it
    try:
        exec(compile(text, str(path), "exec"), module.__dict__)
        missing = [n for n in expect if not hasattr(module, n)]
        if missing:
            raise CompileError(f"generated module {path} lacks {', '.join(missing)}")
    except BaseException:
        del sys.modules[name]
        raise
    return module
