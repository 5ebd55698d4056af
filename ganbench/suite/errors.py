"""Suite errors: every problem as (key path, message), reported against its source (the
file, or a ``--set`` option)."""

from __future__ import annotations


class SuiteError(Exception):
    """Invalid suite: a list of (key path, message), reported against one file."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        # bounded, whatever the file held: a key path or message is cut short
        self.problems = [(cut(p, 200), cut(m, 2000)) for p, m in problems]
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.source}: {p}: {m}" if p else f"{self.source}: {m}"
                 for p, m in self.problems]
        return listing(lines)


MAX_LISTED = 40  # problems printed; a grid can repeat one mistake in every run


def listing(lines: list[str]) -> str:
    more = len(lines) - MAX_LISTED
    lines = lines[:MAX_LISTED] + ([f"... and {more} more"] if more > 0 else [])
    return "invalid suite\n" + "\n".join("  " + line for line in lines)


def cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


class SourcedSuiteError(SuiteError):
    """A SuiteError whose problems each name their source: the file or a --set option."""

    def __init__(self, sources: list[str], problems: list[tuple[str, str]]):
        self.sources = sources
        super().__init__(sources[0], problems)

    def __str__(self) -> str:
        lines = [f"{s}: {p}: {m}" if p else f"{s}: {m}"
                 for s, (p, m) in zip(self.sources, self.problems)]
        return listing(lines)
