"""Checks of argument values shared across the package: each raises
:class:`~riemannopt.errors.InputError` naming the argument and the first offending entry."""

import numpy as np

from .errors import InputError

__all__ = ["as_float_array", "check_finite"]


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


def _short(x, limit=60):
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."
