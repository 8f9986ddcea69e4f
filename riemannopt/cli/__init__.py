"""The ``riemannopt`` command: one module per subcommand.

Each command module has ``register(subparsers)``, which adds its parser and sets ``run(args)``
(returns the exit status) and optionally ``check(args)`` (cross-argument checks that raise
:class:`~riemannopt.cli._args.UsageError`).  Every argument is checked before any work starts.

Exit status: 0 success; 1 the work ran but failed (a run diverged, an order missed its
expectation); 2 bad usage (one line on stderr); 130 interrupted.
"""

import sys

from riemannopt import __version__
from riemannopt.cli import gamma, nn, orders, rl
from riemannopt.cli._args import Parser, UsageError

__all__ = ["main", "build_parser"]

COMMANDS = (gamma, orders, nn, rl)


def build_parser(command=None):
    """The argument parser of the ``riemannopt`` command.

    With ``command`` (a subcommand's name) only that subcommand's arguments are defined and the
    others are listed with their help: defining ``nn``'s imports the network package, a sixth of
    a second that ``riemannopt orders`` need not pay."""
    parser = Parser(
        prog="riemannopt",
        description="Natural-gradient optimizers, their invariance and their convergence order "
        "(Song, Song & Ermon, ICML 2018).",
    )
    parser.add_argument("--version", action="version", version=f"riemannopt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for module in COMMANDS:
        if command is None or command in module.HELP:
            module.register(sub)
        else:
            for name, text in module.HELP.items():
                sub.add_parser(name, help=text)
    return parser


def _command(argv):
    """The subcommand named in ``argv`` (its first word that is not an option), if it is one."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if any(first in module.HELP for module in COMMANDS) else None


def main(argv=None):
    """Entry point of the ``riemannopt`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = "riemannopt"
    try:
        args = build_parser(_command(argv)).parse_args(argv)
        prog = f"riemannopt {args.command}"
        try:
            if hasattr(args, "check"):
                args.check(args)
        except UsageError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        from riemannopt._io import terminate_as_interrupt

        with terminate_as_interrupt():  # `kill` keeps a study's finished work as Ctrl-C does
            return args.run(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a riemannopt error is expected and explained; anything else is a bug
        from riemannopt.errors import RiemannOptError

        if isinstance(exc, RiemannOptError):
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
        raise
