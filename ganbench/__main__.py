"""``python -m ganbench``: the same command line as ``ganbench``."""

import sys

from ganbench.cli import main

sys.exit(main())
