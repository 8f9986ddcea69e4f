"""Argument checking shared by the commands: every argument is validated before any work starts.

Bad usage ends the command with exit status 2 and one line on stderr (no usage dump, no
traceback): argparse ``type=`` functions raise ``argparse.ArgumentTypeError``, and checks that
need several arguments at once raise :class:`UsageError` from a command's ``check(args)``.
"""

import argparse
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


def _number(text, expected, *, integer=False, **bounds):
    """``text`` as a number checked by :func:`riemannopt._checks.check_number` (the package's one
    validator of numbers); an ArgumentTypeError saying what was ``expected`` otherwise."""
    from riemannopt._checks import check_number

    try:
        value = int(text) if integer else float(text)
        return check_number(value, "value", integer=integer, **bounds)
    except ValueError:  # int() or float() of bad text, or check_number's InputError (a ValueError)
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def positive_float(text):
    """A finite number > 0."""
    return _number(text, "a positive finite number", low=0, strict=True)


def positive_int(text):
    """An integer >= 1."""
    return _number(text, "a positive integer", integer=True, low=1)


def non_negative_float(text):
    """A finite number ≥ 0."""
    return _number(text, "a number >= 0", low=0)


def non_negative_int(text):
    """An integer ≥ 0."""
    return _number(text, "an integer >= 0", integer=True, low=0)


def _int_list(text):
    expected = "comma-separated positive integers"
    try:
        values = [_number(s, expected, integer=True, low=1) for s in text.split(",") if s.strip()]
    except argparse.ArgumentTypeError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
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
    """A file to write: :func:`riemannopt._io.check_destination` (its directory exists and takes
    new files, and it is not a directory), before any run."""
    from riemannopt._io import check_destination
    from riemannopt.errors import InputError

    try:
        check_destination(text, "file")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
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
