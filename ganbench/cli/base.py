"""What every verb module uses: the verb registry and UsageError."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class UsageError(Exception):
    """Bad input from the user: printed as 'error: ...' with exit code 2."""


VERBS: dict[str, Callable[[argparse.Namespace], int]] = {}


def verb(name: str):
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco
