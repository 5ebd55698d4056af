"""``ganbench table RESULTS_DIR``: a paper-style table from results on disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    t = sub.add_parser("table", help="print a paper-style table from results on disk")
    t.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    t.add_argument("--rows", nargs="+", default=None)
    t.add_argument("--columns", nargs="+", default=None)
    t.add_argument("--metrics", nargs="+", default=None)
    t.add_argument("--format", choices=["text", "markdown", "latex", "csv"], default="text")
    t.add_argument("--alpha", type=cli.bounded(float, 0, 1, True, True), default=None,
                   help="significance level of the top groups and verdicts (default: the "
                        "suite's table.alpha, else 0.05)")
    t.add_argument("--pool", nargs="+", default=None, metavar="KEY",
                   help="average each cell over runs that differ in these settings too (by "
                        "default a cell whose runs differ in anything but the rows, columns "
                        "and seed is refused); the legend says so")
    t.add_argument("--wide", action="store_true",
                   help="text: one line per row, published values in their own columns, "
                        "however wide (default: fit the terminal's width, $COLUMNS, else 80)")
    t.add_argument("--legend", action="store_true",
                   help="with --format csv: the title and legend first, as '#' lines (read "
                        "with pandas.read_csv(path, comment='#')); without it the CSV is plain")
    t.add_argument("--ranks", action="store_true",
                   help="print the rank table instead: each row's mean rank over the table's "
                        "ranked cells, Friedman's test and Nemenyi's critical difference")



@cli.verb("table")
def cmd_table(a: argparse.Namespace) -> int:
    from ganbench.report import text as report

    if a.ranks:
        lines = report.suite_ranks(Path(a.results_dir), rows=a.rows, columns=a.columns,
                                   metrics=a.metrics, alpha=a.alpha, pool=a.pool).lines()
        print("\n".join(lines))
        return 0
    print(report.suite_table(Path(a.results_dir), fmt=a.format, rows=a.rows,
                             columns=a.columns, metrics=a.metrics, alpha=a.alpha,
                             pool=a.pool, legend=a.legend, wide=a.wide), end="")
    return 0
