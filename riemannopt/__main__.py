"""``python -m riemannopt``: the same as the ``riemannopt`` command."""

import sys

from riemannopt.cli import main

sys.exit(main())
