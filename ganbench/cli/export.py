"""`ganbench export RESULTS_DIR --to tensorboard DIR | --to mlflow URI`: a suite's results
in the experiment trackers researchers use (post hoc; training never talks to them)."""

from __future__ import annotations

import argparse
import sys

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a suite's results to TensorBoard or MLflow")
    p.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    p.add_argument("--to", nargs=2, required=True, metavar=("TRACKER", "WHERE"),
                   help="tensorboard DIR (event files under DIR/<suite>/<run_id>) or mlflow "
                        "URI (a tracking URI, or a folder: a local store, mlflow.db and artifacts/); each run's "
                        "history, final metrics, config (hyper-parameters) and samples "
                        "(an image). Needs the extra: pip install \"ganbench[tensorboard]\" or "
                        "\"ganbench[mlflow]\"")


@cli.verb("export")
def cmd_export(a: argparse.Namespace) -> int:
    from ganbench.report import export as ex

    target, where = a.to
    if target not in ex.TARGETS:
        raise cli.UsageError(f"--to {target!r}: unknown tracker; valid: {', '.join(ex.TARGETS)}")
    try:
        done = ex.export(a.results_dir, target, where,
                         progress=lambda m: print(m, file=sys.stderr, flush=True))
    except ex.MissingExtra as exc:
        raise cli.UsageError(str(exc)) from None
    images = sum(r.image for r in done.runs)
    print(f"exported {len(done.runs)} runs ({sum(r.scalars for r in done.runs)} history points, "
          f"{images} sample images) to {target} at {where}")
    return 0
