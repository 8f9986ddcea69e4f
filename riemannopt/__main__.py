"""``python -m riemannopt``: the same as the ``riemannopt`` command."""

import sys

from .cli import main

sys.exit(main())
