"""Checks of argument values shared across the package: each raises
:class:`~riemannopt.errors.InputError` naming the argument and the first offending entry."""

import math
import numbers
import os

import numpy as np

from riemannopt.errors import InputError, ShapeError

__all__ = ["as_float_array", "check_finite", "check_number", "as_count", "allocate"]


def as_float_array(x, name, dtype=np.float64):
    """``x`` as an array of ``dtype`` (``None``: keep a numeric array's own type); an InputError
    if it is not numeric, a ShapeError if it is a ragged nesting of sequences."""
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        if "inhomogeneous" in str(exc):  # a ragged nesting of sequences, not a bad number
            raise ShapeError(f"{name} is ragged: its rows must have equal lengths, got {_short(x)}") from None
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


def check_number(
    value, name, *, integer=False, low=None, high=None, strict=False, strict_high=False, allow_inf=False, cls=InputError
):
    """``value`` as a Python ``int`` (``integer``) or ``float``, after checking it: the one
    validator of numeric arguments in the package.

    Parameters
    ----------
    value : object
        Accepted: a real number (an integral one when ``integer``; numpy scalars too), never a
        bool or a string, never NaN, and finite unless ``allow_inf``.
    name : str
        How the message names the argument (``"lr"``, ``"RLConfig.gamma"``, ...).
    low, high : float, optional
        Bounds: ``value >= low`` (``> low`` when ``strict``) and ``value <= high`` (``< high``
        when ``strict_high``).
    cls : type
        The exception raised (an :class:`~riemannopt.errors.RiemannoptError` subclass).

    Raises
    ------
    cls
        Naming the argument, what it must be and what it was.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:  # a 0-d array holds one number
        value = value[()]
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, (bool, np.bool_))
    if ok and not integer:  # an integer is finite however large; float() of one may overflow
        try:
            v = float(value)
        except OverflowError:
            v = math.inf if value > 0 else -math.inf
        ok = not math.isnan(v) and (allow_inf or math.isfinite(v))
    else:
        v = value
    if ok and low is not None:
        ok = v > low if strict else v >= low
    if ok and high is not None:
        ok = v < high if strict_high else v <= high
    if not ok:
        what = "an integer" if integer else "a number" if allow_inf else "a finite number"
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if strict else '>='} {_number(low)}")
        if high is not None:
            bounds.append(f"{'<' if strict_high else '<='} {_number(high)}")
        raise cls(f"{name} must be {what}{' ' + ' and '.join(bounds) if bounds else ''}, got {_short(value)}")
    return int(value) if integer else v


def _number(x):
    return str(x) if isinstance(x, numbers.Integral) else f"{x:g}"


def as_count(value, name, cls=InputError):
    """``value`` as an int ≥ 1, or ``cls`` naming the argument."""
    return check_number(value, name, integer=True, low=1, cls=cls)


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
