"""``ganbench compare``: is row selection A better than B, by how much, how sure?"""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli
from ganbench.util.choices import CORRECTIONS


def add_parser(sub) -> None:
    c = sub.add_parser("compare", help="compare two row selections of a suite's results per "
                                       "column and metric (difference, interval, p, effect)")
    c.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    c.add_argument("--rows", nargs=2, default=None, metavar=("A", "B"),
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
    c.add_argument("--pool", nargs="+", default=(), metavar="KEY",
                   help="settings a side may mix on purpose (its seeds then pool several "
                        "configurations; the legend says so)")
    c.add_argument("--against", default=None, metavar="RESULTS_DIR",
                   help="instead of --rows: does each row, column and metric of results_dir "
                        "agree with the same suite's results in RESULTS_DIR (e.g. bf16 "
                        "against fp32)? TOST within --margin")
    c.add_argument("--margin", nargs="+", default=None, metavar="METRIC=VALUE",
                   help="with --against: each compared metric's equivalence margin, e.g. "
                        "modes=1 hq_fraction=0.05")


@cli.verb("compare")
def cmd_compare(a: argparse.Namespace) -> int:
    if a.against is not None:
        return _agreement(a)
    if a.rows is None or a.margin is not None:
        raise cli.UsageError("compare: give --rows A B (two selections of one folder), or "
                             "--against RESULTS_DIR with --margin METRIC=VALUE ...")
    from ganbench.report.compare import COLUMNS, compare_results, render

    frame = compare_results(a.results_dir, a.rows[0], a.rows[1], metrics=a.metrics,
                            columns=a.columns, alpha=a.alpha, correction=a.correction,
                            pool=a.pool)
    if a.format == "csv":
        print(frame.to_csv(index=False, lineterminator="\n"), end="")
    else:
        cols = [c for c in frame.columns if c not in COLUMNS]
        print(render(frame, a.rows[0], a.rows[1], cols, a.alpha, a.correction,
                     pool=a.pool), end="")
    return 0


def _agreement(a: argparse.Namespace) -> int:
    from ganbench.report.compare import agreement_results, render_agreement

    if a.rows is not None or a.metrics is not None or a.columns is not None or a.pool:
        raise cli.UsageError("compare --against: --rows, --metric, --columns and --pool are for two "
                             "selections of one folder; the table's rows and columns and "
                             "the --margin metrics are compared")
    margins: dict[str, float] = {}
    for item in a.margin or []:
        name, sep, value = item.partition("=")
        try:
            margins[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise cli.UsageError(f"--margin: expected METRIC=NUMBER, got {item!r}")
    frame = agreement_results(a.results_dir, a.against, margins, alpha=a.alpha,
                              correction=a.correction)
    if a.format == "csv":
        print(frame.to_csv(index=False, lineterminator="\n"), end="")
    else:
        print(render_agreement(frame, a.results_dir, a.against, a.alpha, a.correction), end="")
    return 0
