"""What every verb module uses: the verb registry and UsageError."""

from __future__ import annotations

import argparse
import errno
from collections.abc import Callable

# what an OSError's errno says about the environment, and the fix to print
REFUSED = {
    errno.EROFS: "the filesystem is read-only: results need a writable folder (choose "
                 "another with --results or -o)",
    errno.EACCES: "permission denied: make it writable, or choose another folder (--results "
                  "or -o)",
    errno.EPERM: "not permitted: make it writable, or choose another folder (--results or -o)",
    errno.ENOSPC: "no space left on the device: free some space and run again (finished runs "
                  "are kept, the rest resume)",
    errno.EDQUOT: "disk quota exceeded: free some space and run again (finished runs are "
                  "kept, the rest resume)",
    errno.ENOTDIR: "a path on the way is a file, not a folder: --results (and -o's folder) "
                   "must be folders",
}


class UsageError(Exception):
    """Bad input from the user: printed as 'error: ...' with exit code 2."""


VERBS: dict[str, Callable[[argparse.Namespace], int]] = {}


def verb(name: str):
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco


def bounded(kind: type, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False):
    """An argparse ``type``: a number of ``kind`` within [low, high] (an open end excludes
    its bound); anything else is argparse's usage error (exit 2) naming the option, before
    anything runs or is written."""
    import math

    def parse(text: str):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text[:40]!r}"
            ) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text[:40]!r}")
        if (low is not None and (value < low or (low_open and value == low))) or (
                high is not None and (value > high or (high_open and value == high))):
            lo = "-inf" if low is None else f"{low:g}"
            hi = "inf" if high is None else f"{high:g}"
            raise argparse.ArgumentTypeError(
                f"{text[:40]} is outside {'(' if low_open else '['}{lo}, {hi}"
                f"{')' if high_open else ']'}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
