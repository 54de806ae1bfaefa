"""``python -m bsdl``: the command line (see :mod:`bsdl.cli`)."""

import sys

from bsdl.cli import main

sys.exit(main())
