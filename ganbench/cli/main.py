"""The parser and ``main``: each verb's module adds its parser and its function; errors
become exit codes here.

Exit codes (``EXIT_CODES``, also in ``--help`` and docs/ci.md): 0 success, 1 a regression
(``check`` only), 2 bad input or bad files (nothing written), 3 runs failed, 4 the
environment refused (read-only or full disk, a path that is not a folder, no device), 70 an
internal error (a bug), 130 / 143 stopped by SIGINT / SIGTERM, 141 output cut short by a
closed pipe. No traceback reaches the user unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from pathlib import Path

from ganbench.cli import base as cli
from ganbench.cli import baseline, bench, check, compare, data, evaluate, plot, report, run, table
from ganbench.cli import export as export_verb
from ganbench.cli import list as list_verb
from ganbench.cli import verify as verify_verb
from ganbench.registry import RegistryError
from ganbench.util import EnvironmentRefused
from ganbench.util.version import version

# the verb modules, in the order --help lists them (importing one registers its verbs)
VERB_MODULES = (run, list_verb, table, compare, report, evaluate, baseline, check, bench, data,
                plot, export_verb, verify_verb)

EXIT_CODES = {
    0: "finished (diverged runs are results)",
    1: "a regression (check only)",
    2: "bad input or bad files: a suite, option, baseline or results file (nothing written)",
    3: "some runs failed (the suite trained but lost runs to errors; the next run retries them)",
    4: "the environment refused: a read-only or full disk, a path that is not a folder, no "
       "device (the message names the path and the fix)",
    70: "an internal error, a bug in ganbench (rerun with --debug for the traceback)",
    130: "interrupted by SIGINT (Ctrl-C); 143: by SIGTERM. Finished runs are kept",
}



def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganbench", description="Benchmark GAN objectives, training schemes and metrics.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes:\n" + "\n".join(f"  {k:>3}  {v}" for k, v in EXIT_CODES.items()))
    p.add_argument("--version", action="version", version=f"ganbench {version()}")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an error (any position on the command line)")
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

    debug = "--debug" in argv
    argv = [x for x in argv if x != "--debug"]  # accepted after the verb too
    args = parser().parse_args(argv)
    args.argv = argv  # to print a command that resumes this one
    announce(args.verb)
    try:
        code = cli.VERBS[args.verb](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept and the rest resume on the next run",
              file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        code, message = classify(exc, writes_to(args))
        print(f"error: {message}", file=sys.stderr)
        return code


# verbs that load PyTorch before they can say anything (seconds on a cold start)
SLOW_START = ("run", "evaluate", "bench", "report", "plot", "export")


def announce(verb: str, stream=None) -> None:
    """On a terminal, a first line before PyTorch loads, so that a slow start is not
    mistaken for a hang (the parser and this module import nothing heavy)."""
    stream = stream or sys.stderr
    if verb in SLOW_START and "torch" not in sys.modules and stream.isatty():
        print(f"ganbench {verb}: loading PyTorch ...", file=stream, flush=True)


def writes_to(args: argparse.Namespace) -> str | None:
    """Where a verb writes (its -o file or its results root): what a refusal names when
    the OS does not say which file (a write() on a full disk names none)."""
    for key in ("output", "results"):
        if getattr(args, key, None):
            return str(Path(getattr(args, key)).resolve())
    return None


def classify(exc: BaseException, where_written: str | None = None) -> tuple[int, str]:
    """(exit code, message) of an error that ends a verb: bad input is 2, an environment
    that refuses is 4, anything else is a bug (70)."""
    from ganbench.suite import SuiteError

    if isinstance(exc, EnvironmentRefused):
        return 4, str(exc)
    if isinstance(exc, OSError) and exc.errno in cli.REFUSED and not isinstance(
            exc, FileNotFoundError):
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        where = where or (f"writing under {where_written}" if where_written else "?")
        return 4, f"{where}: {cli.REFUSED[exc.errno]}"
    if isinstance(exc, (SuiteError, cli.UsageError, RegistryError, FileNotFoundError,
                        ValueError)):
        return 2, str(exc)
    if isinstance(exc, RecursionError):
        return 2, "input nested too deeply to read (a damaged file?); rerun with --debug"
    return 70, (f"internal error ({type(exc).__name__}: {str(exc)[:500]}); this is a bug in "
                "ganbench: rerun with --debug for the traceback and report it")
