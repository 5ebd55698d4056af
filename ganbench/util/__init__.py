"""Cross-cutting helpers below every stage: atomic files, names, strict YAML, text tables,
the results lock, and ``warn``, the one way a warning reaches stderr."""

from __future__ import annotations

import sys


class EnvironmentRefused(ValueError):
    """The machine cannot do what was asked (e.g. no such device): exit code 4, not 2 (the
    input is fine; the environment is not)."""


def warn(message: str, kind: str = "warning") -> None:
    """``warning: MESSAGE`` (or ``note: ...``) on stderr, flushed: every process's stderr,
    workers' too, and never a Python warning (those are filtered and lost)."""
    print(f"{kind}: {message}", file=sys.stderr, flush=True)
