"""The command line: one function per verb, no logic of its own.

Exit codes: 0 success, 1 a check failed (regression), 2 bad input (nothing written),
130 / 143 a run stopped by SIGINT / SIGTERM, 141 output cut short by a closed pipe.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from ganbench import __version__
from ganbench.registry import KINDS, RegistryError


class UsageError(Exception):
    """Bad input from the user: printed as 'error: ...' with exit code 2."""


VERBS: dict[str, Callable[[argparse.Namespace], int]] = {}


def verb(name: str):
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco


# --- verbs -------------------------------------------------------------------------------


@verb("run")
def cmd_run(a: argparse.Namespace) -> int:
    from ganbench import suite
    from ganbench.execute import Interrupted, run_suite
    from ganbench.report import text as report
    from ganbench.util.lock import LockedError

    s = suite.load_suite(a.suite, overrides=a.set)
    if a.dry_run:
        print(report.dry_run_listing(s, Path(a.results)))
        return 0
    root = Path(a.results)
    try:
        out = run_suite(s, root, device=a.device or s.spec.device, vectorize=a.vectorize,
                        max_group=a.max_group, executor=a.executor, jobs=a.jobs,
                        progress="lines" if a.no_progress else "auto", wait=a.wait,
                        checkpoint_every_s=a.checkpoint_every, address=a.address)
    except LockedError as exc:
        raise UsageError(str(exc)) from None
    except Interrupted as stop:
        print(stop.explain("ganbench " + shlex.join(a.argv)), file=sys.stderr)
        return stop.exit_code
    print(report.run_summary_line(s, out, root))
    print(report.suite_table(root / s.name, fmt=a.format))
    return 0


@verb("list")
def cmd_list(a: argparse.Namespace) -> int:
    from ganbench.report import text as report

    print(report.listing(a.kind, fmt="json" if a.json else a.format))
    return 0


@verb("table")
def cmd_table(a: argparse.Namespace) -> int:
    from ganbench.report import text as report

    print(report.suite_table(Path(a.results_dir), fmt=a.format, rows=a.rows,
                             columns=a.columns, metrics=a.metrics), end="")
    return 0


@verb("report")
def cmd_report(a: argparse.Namespace) -> int:
    from ganbench.report import page as reporting

    print(f"wrote {reporting.build(a.results_dir, a.output, a.format)}")
    return 0


# --- parser ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganbench", description="Benchmark GAN objectives, "
                                "training schemes and metrics.")
    p.add_argument("--version", action="version", version=f"ganbench {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    r = sub.add_parser("run", help="train every run of a suite and print its table")
    r.add_argument("suite", help="suite YAML file")
    r.add_argument("--dry-run", action="store_true", help="list the runs; train nothing")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a suite value without editing the file (repeatable): a dotted "
                        "path into base (e.g. training.iterations=500) or into another "
                        "section (grid.seed=[0]); the value is YAML")
    r.add_argument("--results", default="results", help="results root (default: results)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="default: the suite's device, else auto (CUDA when present)")
    r.add_argument("--vectorize", choices=["auto", "off"], default="auto",
                   help="train compatible runs as one ensemble (default: auto)")
    r.add_argument("--max-group", type=int, default=64, help="largest ensemble (default 64)")
    r.add_argument("--executor", choices=["auto", "local", "processes", "ray"], default="auto",
                   help="auto (default): one single-threaded worker process per core on a "
                        "CPU, in-process on a GPU; ray: each group a task on a Ray cluster "
                        '(pip install "ganbench[ray]")')
    r.add_argument("--address", default=None, metavar="auto|HOST:PORT",
                   help="with --executor ray: the cluster to join (auto: the one this node "
                        "belongs to); default: a Ray of this machine alone")
    r.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: the number of cores)")
    r.add_argument("--no-progress", action="store_true",
                   help="no progress bars: a status line at most every 30 s (the default "
                        "when stdout is not a terminal)")
    r.add_argument("--format", choices=["text", "markdown", "latex", "csv"], default="text")
    r.add_argument("--wait", action="store_true",
                   help="when another ganbench run holds the suite's results folder, wait for "
                        "it to end (default: refuse, exit 2)")
    r.add_argument("--checkpoint-every", type=float, default=None, metavar="SECONDS",
                   help="checkpoint at evaluations at most this often (default: the suite's "
                        "training.checkpoint_every_s, else 60); does not change run ids")

    li = sub.add_parser("list", help="list registered plug-ins")
    li.add_argument("kind", nargs="?", default=None, help=f"one of: {', '.join(KINDS)}")
    li.add_argument("--json", action="store_true")
    li.add_argument("--format", choices=["text", "markdown"], default="text")

    t = sub.add_parser("table", help="print a paper-style table from results on disk")
    t.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    t.add_argument("--rows", nargs="+", default=None)
    t.add_argument("--columns", nargs="+", default=None)
    t.add_argument("--metrics", nargs="+", default=None)
    t.add_argument("--format", choices=["text", "markdown", "latex", "csv"], default="text")

    rp = sub.add_parser("report", help="a suite's results as one HTML page (figures embedded) "
                                       "or Markdown with PNG figures")
    rp.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    rp.add_argument("-o", "--output", default=None,
                    help="report file (default: <suite>_report.html or .md here); with --format "
                         "md the figures go to a folder beside it, <name>_files/")
    rp.add_argument("--format", choices=["html", "md"], default=None,
                    help="html (default; md when the output ends in .md)")

    for extra in EXTRA_PARSERS:
        extra(sub)
    return p


# verbs added by other modules register a parser builder here (kept in one place)
EXTRA_PARSERS: list[Callable] = []


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:
        # the reader went away (`ganbench ... | head`): stop without a traceback, with the
        # status of a process ended by SIGPIPE (not 1, which means a regression)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if argv is None and code in (130, 143):
        # stopped by a signal, everything written: end now rather than after the
        # interpreter's teardown, which takes seconds once torch is loaded
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code


def _main(argv: list[str]) -> int:
    from ganbench.suite import SuiteError

    _load_extra_verbs()
    args = parser().parse_args(argv)
    args.argv = argv  # to print a command that resumes this one
    try:
        code = VERBS[args.verb](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (UsageError, RegistryError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept and the rest resume on the next run",
              file=sys.stderr)
        return 130


def _load_extra_verbs() -> None:
    import importlib

    for mod in ("ganbench.cli.evaluate", "ganbench.cli.ci", "ganbench.cli.data", "ganbench.cli.plot"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


if __name__ == "__main__":
    sys.exit(main())

