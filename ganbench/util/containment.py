"""What may be written where: names that become folders under ``--results``, and the
refusal to write through symbolic links inside the results tree.

A suite's name (its ``name:`` or its file's stem) and a run's id each become one folder
level under the results root, so each must be a plain name: no path separator, not ``.`` or
``..``, not hidden (the results tree keeps its own hidden files: the lock, temporary files).
Writes go only below the root; a link at the suite's or a run's folder would send them
elsewhere, so writing there is refused (reading through links stays allowed).

Kept free of heavy imports: the suite loader uses it.
"""

from __future__ import annotations

import re
from pathlib import Path

from ganbench.util.strict_yaml import show

MAX_NAME = 120  # one folder name; far below every file system's limit (255 bytes)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


class ContainmentError(ValueError):
    """A write would leave the results folder (the message names the path)."""


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one folder level under the results root (None: it can)."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if name in (".", "..") or not _NAME.fullmatch(name):  # fullmatch: "$" admits a final \n
        return ("cannot name a results folder: expected letters, digits, '_', '-', '.' and "
                "'+', starting with a letter, digit or '_' (no path separators, not '.' or "
                "'..')")
    return None


def shown(name: object) -> str:
    """A name for a message, cut short (never echo unbounded input)."""
    return show(name, 42)


def check_name(name: object, what: str) -> str:
    problem = name_problem(name)
    if problem:
        raise ContainmentError(f"{what} {shown(name)} {problem}")
    return name  # type: ignore[return-value]


def refuse_links(root: Path, *parts: str) -> None:
    """Raise ContainmentError when ``root/parts[0]``, ``root/parts[0]/parts[1]``, ... is a
    symbolic link (the root itself is the user's choice and may be one)."""
    path = Path(root)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise ContainmentError(
                f"{path} is a symbolic link inside the results folder; ganbench does not "
                "write through links (remove it, or point --results at the real folder)")
