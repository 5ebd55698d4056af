"""``ganbench report RESULTS_DIR``: a suite's results as one HTML page or Markdown."""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    rp = sub.add_parser("report", help="a suite's results as one HTML page (figures embedded) "
                                       "or Markdown with PNG figures")
    rp.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    rp.add_argument("-o", "--output", default=None,
                    help="report file (default: <suite>_report.html or .md here); with --format "
                         "md the figures go to a folder beside it, <name>_files/")
    rp.add_argument("--format", choices=["html", "md"], default=None,
                    help="html (default; md when the output ends in .md)")



@cli.verb("report")
def cmd_report(a: argparse.Namespace) -> int:
    from ganbench.report import page

    print(f"wrote {page.build(a.results_dir, a.output, a.format)}")
    return 0
