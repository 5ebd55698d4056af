"""The one renderer of the command line's aligned text tables (run listings, tables,
regression checks, benchmarks), so that they all look alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def render(header: Sequence[Any], rows: Sequence[Sequence[Any]], align: str | None = None,
           rule: bool = True) -> str:
    """Columns padded to their widest cell, two spaces apart, a dashed rule under the header.

    ``align`` has one letter per column, ``l`` (left) or ``r`` (right: numbers); the last
    letter repeats for any further columns, and the default is all left. Trailing blanks are
    dropped, so a short last column leaves no ragged padding. No trailing newline.
    """
    cells = [[str(x) for x in header], *([str(x) for x in r] for r in rows)]
    n = max(len(r) for r in cells)
    cells = [r + [""] * (n - len(r)) for r in cells]
    spec = align or "l"
    if set(spec) - {"l", "r"}:
        raise ValueError(f"align: expected letters l or r, got {align!r}")
    spec = spec[:n] + spec[-1] * max(0, n - len(spec))
    widths = [max(len(r[j]) for r in cells) for j in range(n)]

    def line(r: list[str]) -> str:
        return "  ".join(x.rjust(w) if a == "r" else x.ljust(w)
                         for x, w, a in zip(r, widths, spec)).rstrip()

    out = [line(cells[0])]
    if rule:
        out.append("  ".join("-" * w for w in widths).rstrip())
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
