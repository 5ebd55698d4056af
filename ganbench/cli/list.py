"""``ganbench list [KIND]``: the registered plug-ins."""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli
from ganbench.registry import KINDS


def add_parser(sub) -> None:
    li = sub.add_parser("list", help="list registered plug-ins")
    li.add_argument("kind", nargs="?", default=None,
                    help=f"one of: {', '.join(KINDS)}, or suites (the shipped suites)")
    li.add_argument("name", nargs="?", default=None,
                    help="one plug-in of that kind: its parameters with their defaults "
                         "(e.g. ganbench list datasets ring)")
    li.add_argument("--json", action="store_true")
    li.add_argument("--format", choices=["text", "markdown"], default="text")



@cli.verb("list")
def cmd_list(a: argparse.Namespace) -> int:
    from ganbench.report import text as report

    fmt = "json" if a.json else a.format
    if a.kind == "suites":
        print(report.suites_listing(fmt))
    elif a.name is not None:
        print(report.plugin_detail(a.kind, a.name, fmt))
    else:
        print(report.listing(a.kind, fmt=fmt))
    return 0
