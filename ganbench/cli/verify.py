"""``ganbench verify RESULTS``: which runs ``ganbench run`` would train again, and why."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    v = sub.add_parser("verify", help="check every run's files; list what `run` would train "
                       "again and why (exit 0: all verified)",
                       description="Verify every run folder under RESULTS (a suite's results "
                       "folder or a root of several): spec.yaml hashes to the folder's name, "
                       "summary.json names that run and the spec's digest, metric values lie "
                       "in their metrics' ranges, metrics.jsonl and samples.npz parse with "
                       "the shapes the spec implies. Exit 0: every run verified; 2: some "
                       "files do not verify; 3: some runs failed or are unfinished.")
    v.add_argument("results_dir", help="a suite's results folder or a results root")


@cli.verb("verify")
def cmd_verify(a: argparse.Namespace) -> int:
    from ganbench.results.verify import retrain_list

    root = Path(a.results_dir)
    if not root.is_dir():
        raise cli.UsageError(f"no results folder at {root}")
    finished, todo = retrain_list(root)
    print(f"{finished} run(s) verified; {len(todo)} to train again"
          + (":" if todo else ""))
    for c in todo:
        what = {"invalid": "does not verify", "failed": "failed",
                "unfinished": "unfinished"}[c.state]
        print(f"  {c.path}: {what}: {c.reason}")
    if any(c.state == "invalid" for c in todo):
        return 2
    return 3 if todo else 0
