"""The command line: the parser and ``main`` (``cli.main``), and one module per verb (no
logic of its own: each calls the stage that does the work)."""

from ganbench.cli.base import UsageError
from ganbench.cli.main import main, parser

__all__ = ["UsageError", "main", "parser"]
