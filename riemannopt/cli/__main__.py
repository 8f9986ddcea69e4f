"""``python -m riemannopt.cli``: the ``riemannopt`` command."""

from riemannopt.cli import main

raise SystemExit(main())
