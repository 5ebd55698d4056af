"""The parser and ``main``: each verb's module adds its parser and its function; errors
become exit codes here.

Exit codes: 0 success, 1 a check failed (regression), 2 bad input (nothing written),
130 / 143 a run stopped by SIGINT / SIGTERM, 141 output cut short by a closed pipe.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from ganbench.cli import base as cli
from ganbench.cli import baseline, bench, check, compare, data, evaluate, plot, report, run, table
from ganbench.cli import list as list_verb
from ganbench.registry import RegistryError
from ganbench.util.version import version

# the verb modules, in the order --help lists them (importing one registers its verbs)
VERB_MODULES = (run, list_verb, table, compare, report, evaluate, baseline, check, bench, data,
                plot)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganbench", description="Benchmark GAN objectives, "
                                "training schemes and metrics.")
    p.add_argument("--version", action="version", version=f"ganbench {version()}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    for module in VERB_MODULES:
        module.add_parser(sub)
    return p


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

    args = parser().parse_args(argv)
    args.argv = argv  # to print a command that resumes this one
    try:
        code = cli.VERBS[args.verb](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (cli.UsageError, RegistryError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept and the rest resume on the next run",
              file=sys.stderr)
        return 130
