"""Checks of argument values shared across the package: each raises
:class:`~riemannopt.errors.InputError` naming the argument and the first offending entry."""

import numbers
import os

import numpy as np

from riemannopt.errors import InputError

__all__ = ["as_float_array", "check_finite", "as_count", "allocate"]


def as_float_array(x, name, dtype=np.float64):
    """``x`` as an array of ``dtype`` (``None``: keep a numeric array's own type); an InputError
    if it is not numeric."""
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {_short(x)} ({exc})") from None
    if a.dtype.kind not in "fiub":
        raise InputError(f"{name} must be numeric, got {_short(x)} (an array of dtype {a.dtype})")
    return a


def check_finite(a, name):
    """Raise an InputError if the array ``a`` holds a NaN or an infinity; returns ``a``."""
    if a.size and not np.isfinite(a).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise InputError(f"{name} must be finite, but {name}[{', '.join(map(str, bad))}] = {a[bad]}")
    return a


def as_count(value, name, cls=InputError):
    """``value`` as an int ≥ 1, or ``cls`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise cls(f"{name} must be an integer ≥ 1, got {value!r}")
    return int(value)


def allocate(shapes, what):
    """Uninitialised float64 arrays of the given shapes, after checking that together they fit in
    the machine's memory: else an InputError saying ``what`` (e.g. "steps = 10**12 keeps ...
    iterates, which") needs how many bytes, raised before anything is allocated."""
    nbytes = 8 * sum(int(np.prod(shape, dtype=object)) for shape in shapes)
    memory = _physical_memory()
    if memory is not None and nbytes > memory:
        raise InputError(f"{what} need {_size(nbytes)} but this machine has {_size(memory)} of memory")
    try:
        return [np.empty(shape) for shape in shapes]
    except MemoryError:
        raise InputError(f"{what} need {_size(nbytes)}, more memory than is free") from None


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: MemoryError tells instead
        return None


def _size(nbytes):
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1000


def _short(x, limit=60):
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."
