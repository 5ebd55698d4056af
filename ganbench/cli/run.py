"""``ganbench run SUITE``: plan and train every run of a suite, then print its table."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    r = sub.add_parser("run", help="train every run of a suite and print its table")
    r.add_argument("suite", help="suite YAML file")
    r.add_argument("--dry-run", action="store_true", help="list the runs; train nothing")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", type=_key_value,
                   help="change a suite value without editing the file (repeatable): a dotted "
                        "path into base (e.g. training.iterations=500) or into another "
                        "section (grid.seed=[0]); the value is YAML")
    r.add_argument("--results", default="results", help="results root (default: results)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="default: the suite's device, else auto (CUDA when present)")
    r.add_argument("--vectorize", choices=["auto", "off"], default="auto",
                   help="train compatible runs as one ensemble (default: auto)")
    r.add_argument("--max-group", type=cli.bounded(int, 1, 4096), default=64, help="largest ensemble (default 64)")
    r.add_argument("--executor", choices=["auto", "local", "processes", "ray"], default="auto",
                   help="auto (default): one single-threaded worker process per core on a "
                        "CPU, in-process on a GPU; ray: each group a task on a Ray cluster "
                        '(pip install "ganbench[ray]")')
    r.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="with --executor ray: the cluster to join (auto: the one this node "
                        "belongs to); default: a Ray of this machine alone")
    r.add_argument("--jobs", type=cli.bounded(int, 1, 4096), default=None,
                   help="worker processes (default: the number of cores)")
    r.add_argument("--no-progress", action="store_true",
                   help="no progress bars: a status line at most every 30 s (the default "
                        "when stdout is not a terminal)")
    r.add_argument("--format", choices=["text", "markdown", "latex", "csv"], default="text")
    r.add_argument("--wait", action="store_true",
                   help="when another ganbench run holds the suite's results folder, wait for "
                        "it to end (default: refuse, exit 2)")
    r.add_argument("--checkpoint-every", type=cli.bounded(float, 0, 86400), default=None, metavar="SECONDS",
                   help="checkpoint at evaluations at most this often (default: the suite's "
                        "training.checkpoint_every_s, else 60); does not change run ids")
    r.add_argument("--until-resolved", action="store_true",
                   help="adaptive seeds: start from the suite's grid.seed axis (0..k-1) and "
                        "add seeds in rounds where the table's claims are undecided, up to "
                        "--max-seeds (a suite with a seeds: section is adaptive already)")
    r.add_argument("--max-seeds", type=cli.bounded(int, 2, 100), default=None, metavar="N",
                   help="the most seeds per cell of adaptive seeds (default: the suite's "
                        "seeds.max, else 10)")


def _key_value(text: str) -> str:
    """A --set option is one word KEY=VALUE (argparse says 'argument --set: ...')."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no '=': write KEY=VALUE as one word, e.g. --set "
            f"{text or 'training.iterations'}=100 (not --set KEY VALUE)")
    return text


@cli.verb("run")
def cmd_run(a: argparse.Namespace) -> int:
    from ganbench.execute import Interrupted, plan, run_suite
    from ganbench.report import text as report
    from ganbench.results.pooling import check_suite_table
    from ganbench.suite import load_suite
    from ganbench.util.lock import LockedError
    from ganbench.util.missing import missing_files_noted

    # a dry run reads no data or weights: absent files are said, not an error
    with missing_files_noted() if a.dry_run else contextlib.nullcontext([]) as missing:
        s = load_suite(a.suite, overrides=a.set, until_resolved=a.until_resolved,
                       max_seeds=a.max_seeds)
        check_suite_table(s)  # a table that pools configurations: refused before training
        root = Path(a.results)
        if s.overrides:  # its own experiment, apart from the plain suite's results
            print(f"{s.name}: {s.name.rpartition('+')[0]} with "
                  + " ".join(f"--set {o}" for o in s.overrides)
                  + f"; results in {root / s.name}")
        if a.dry_run:
            print(report.dry_run_listing(s, root, plan(s.runs, root),
                                         plan(s.pool, root) if s.pool else None))
    if a.dry_run:
        if missing:
            print(report.missing_data_lines(missing))
        return 0
    kwargs = dict(device=a.device or s.spec.device, vectorize=a.vectorize,
                  max_group=a.max_group, executor=a.executor, jobs=a.jobs,
                  progress="lines" if a.no_progress else "auto", wait=a.wait,
                  checkpoint_every_s=a.checkpoint_every, address=a.address)
    rounds = None
    try:
        if s.spec.seeds is not None:
            from ganbench.execute.adaptive import run_adaptive_suite

            rounds = run_adaptive_suite(s, root, run_suite, **kwargs)
            out = rounds.total()
        else:
            out = run_suite(s, root, **kwargs)
    except LockedError as exc:
        raise cli.UsageError(str(exc)) from None
    except Interrupted as stop:
        print(stop.explain("ganbench " + shlex.join(a.argv)), file=sys.stderr)
        return stop.exit_code
    print(report.run_summary_line(s, out, root))
    if rounds is not None:
        print("adaptive seeds:\n  " + "\n  ".join(rounds.lines()))
    print(report.suite_table(root / s.name, fmt=a.format))
    refused = [(e, text) for e, text in out.get("os_errors", []) if e in cli.REFUSED]
    if refused:  # runs lost to a full or read-only disk: the environment's fault, exit 4
        code, text = refused[0]
        print(f"error: {len(refused)} run(s) failed because the environment refused "
              f"({text[:300]}): {cli.REFUSED[code]}", file=sys.stderr)
        return 4
    if out.get("failed"):  # trained, but lost runs to errors: exit 3 (their summaries say why)
        print(f"error: {out['failed']} run(s) failed; their summary.json holds the error, and "
              "the next run trains them again", file=sys.stderr)
        return 3
    return 0
