"""Files a run needs but this machine lacks (data sets, feature-extractor weights), noted
instead of raised while a dry run plans a suite: it reads none of them, and says what to
fetch before a real run."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_NOTED: contextvars.ContextVar[list[dict[str, str]] | None] = contextvars.ContextVar(
    "ganbench_missing_files", default=None)


@contextlib.contextmanager
def missing_files_noted() -> Iterator[list[dict[str, str]]]:
    """Within it, ``note_missing`` keeps what is absent ({name, text}, each once) in the
    list yielded, and the checks that would refuse let the plan go on."""
    noted: list[dict[str, str]] = []
    token = _NOTED.set(noted)
    try:
        yield noted
    finally:
        _NOTED.reset(token)


def note_missing(name: str, text: str) -> bool:
    """Note that ``name`` lacks files (``text``: which, where, how to fetch them). True when
    noted (a dry run: go on without them); False: the caller refuses as it always does."""
    noted = _NOTED.get()
    if noted is None:
        return False
    entry = {"name": name, "text": text}
    if entry not in noted:
        noted.append(entry)
    return True
