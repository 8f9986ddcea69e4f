"""Argument checking shared by the commands: every argument is validated before any work starts.

Bad usage ends the command with exit status 2 and one line on stderr (no usage dump, no
traceback): argparse ``type=`` functions raise ``argparse.ArgumentTypeError``, and checks that
need several arguments at once raise :class:`UsageError` from a command's ``check(args)``.
"""

import argparse
import math
import os
from pathlib import Path

__all__ = [
    "Parser",
    "UsageError",
    "positive_float",
    "positive_int",
    "non_negative_float",
    "non_negative_int",
    "positive_int_list",
    "step_counts",
    "name_list",
    "figure_path",
    "output_path",
]


class UsageError(Exception):
    """Arguments that parse one by one but do not fit together; exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_float(text):
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def positive_int(text):
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_float(text):
    """A finite number ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def non_negative_int(text):
    """An integer ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _int_list(text):
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def positive_int_list(text):
    """Comma-separated positive integers (iterations, step counts), sorted, repeats dropped."""
    return sorted(set(_int_list(text)))


def step_counts(text):
    """Comma-separated distinct step counts, at least two (for a fitted slope)."""
    steps = _int_list(text)
    if len(steps) < 2:
        raise argparse.ArgumentTypeError(f"need at least two positive step counts, got {text!r}")
    if len(set(steps)) != len(steps):
        raise argparse.ArgumentTypeError(f"step counts must be distinct, got {text!r}")
    return steps


def name_list(allowed, what="name"):
    """A ``type=`` for comma-separated names, each one of ``allowed`` (checked at parse time)."""

    def parse(text):
        names = [s.strip() for s in text.split(",") if s.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected at least one {what}")
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what}{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; choose from {', '.join(allowed)}"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"{what}s must be distinct, got {text!r}")
        return names

    return parse


def output_path(text):
    """A file to write: its directory must exist and be writable (checked before any run)."""
    path = Path(text)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} of {text!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} of {text!r} is not writable")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file name")
    return text


def figure_path(text):
    """An :func:`output_path` whose extension matplotlib can write (none means PNG)."""
    from matplotlib.backend_bases import FigureCanvasBase

    text = output_path(text)
    ext = Path(text).suffix.lower().lstrip(".")
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext and ext not in formats:
        raise argparse.ArgumentTypeError(
            f"cannot write a figure as {Path(text).suffix!r}; use one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return text
