"""``ganbench list [KIND]``: the registered plug-ins."""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli
from ganbench.registry import KINDS


def add_parser(sub) -> None:
    li = sub.add_parser("list", help="list registered plug-ins")
    li.add_argument("kind", nargs="?", default=None, help=f"one of: {', '.join(KINDS)}")
    li.add_argument("--json", action="store_true")
    li.add_argument("--format", choices=["text", "markdown"], default="text")



@cli.verb("list")
def cmd_list(a: argparse.Namespace) -> int:
    from ganbench.report import text as report

    print(report.listing(a.kind, fmt="json" if a.json else a.format))
    return 0
