"""Progress bars on long runs: shown when attached to a terminal, quiet otherwise."""

import sys

from tqdm.auto import tqdm

__all__ = ["progress"]


def progress(iterable, desc=None, enable=None, total=None):
    """Wrap ``iterable`` in a tqdm bar if ``enable`` (default: stderr is a terminal)."""
    if enable is None:
        enable = sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, disable=not enable, leave=False)
