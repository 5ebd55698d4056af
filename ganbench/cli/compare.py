"""``ganbench compare``: is row selection A better than B, by how much, how sure?"""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli
from ganbench.util.stats import CORRECTIONS


def add_parser(sub) -> None:
    c = sub.add_parser("compare", help="compare two row selections of a suite's results per "
                                       "column and metric (difference, interval, p, effect)")
    c.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    c.add_argument("--rows", nargs=2, required=True, metavar=("A", "B"),
                   help="two selections key=value[,key=value...], e.g. 'objective=hinge' "
                        "'objective=nonsaturating,regularizer=none'; each must pick one "
                        "configuration per column")
    c.add_argument("--metric", "--metrics", dest="metrics", nargs="+", default=None,
                   help="metrics to compare (default: every ranked metric with values)")
    c.add_argument("--columns", nargs="*", default=None,
                   help="axes compared separately (default: the table's columns)")
    c.add_argument("--alpha", type=cli.bounded(float, 0, 1, True, True), default=0.05, help="significance level (0.05)")
    c.add_argument("--correction", choices=CORRECTIONS, default="holm",
                   help="multiplicity correction over the comparisons (holm)")
    c.add_argument("--format", choices=["text", "csv"], default="text")


@cli.verb("compare")
def cmd_compare(a: argparse.Namespace) -> int:
    from ganbench.report.compare import COLUMNS, compare_results, render

    frame = compare_results(a.results_dir, a.rows[0], a.rows[1], metrics=a.metrics,
                            columns=a.columns, alpha=a.alpha, correction=a.correction)
    if a.format == "csv":
        print(frame.to_csv(index=False, lineterminator="\n"), end="")
    else:
        cols = [c for c in frame.columns if c not in COLUMNS]
        print(render(frame, a.rows[0], a.rows[1], cols, a.alpha, a.correction), end="")
    return 0
