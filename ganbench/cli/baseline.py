"""``ganbench baseline RESULTS -o FILE``: record a suite's results as the check's baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.cli import base as cli


@cli.verb("baseline")
def cmd_baseline(a: argparse.Namespace) -> int:
    from ganbench.ci import baseline

    base = baseline.record(Path(a.results_dir), Path(a.output))
    n_metrics = sum(len(g["metrics"]) for g in base["groups"].values())
    print(f"baseline of suite {base['suite']!r}: {len(base['groups'])} groups, "
          f"{n_metrics} group metrics -> {a.output}")
    return 0


def add_parser(sub) -> None:
    b = sub.add_parser("baseline", help="record a suite's results as the baseline of the check")
    b.add_argument("results_dir", help="a suite's results folder, e.g. results/ci")
    b.add_argument("-o", "--output", required=True,
                   help="baseline file to write, e.g. results/baselines/ci.json")
