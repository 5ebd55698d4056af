"""Published values as tables show them: one legend line per published table (where the
values come from, what their ± means, what this table compares)."""

from __future__ import annotations

from typing import Any

from ganbench.suite.reference import SPREADS


def legend(refs: list[dict[str, Any]], compared: dict[int, set[str]]) -> list[str]:
    """One legend line per published table, and the agreement rule."""
    if not refs:
        return []
    lines = []
    many = len(refs) > 1
    for b, r in enumerate(refs):
        src = ", ".join(x for x in (r["paper"], r["table"], r.get("where")) if x)
        runs = f" over {r['runs']} runs" if r.get("runs") else ""
        spread = (f"no ± published{'; means' + runs if runs else ''}" if r["spread"] == "none"
                  else f"± is {SPREADS[r['spread']]}{runs}")
        what = ", ".join(sorted(compared.get(b, ()))) or "nothing in this table"
        line = (f"{'[' + str(b + 1) + '] ' if many else ''}published: {src}; "
                f"{spread}; compared: {what}")
        if r.get("note"):
            line += f"; note: {r['note']}"
        lines.append(line)
    return lines
