"""`ganbench report`: one suite's results as a self-contained HTML page or a Markdown
file with its figures in a folder beside it.

    content.collect(results_dir)  ->  html.render | markdown.render  ->  files (atomic)

The report reads the results folder only; it writes its own files and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

FORMATS = ("html", "md")


def default_output(results_dir: Path | str, fmt: str) -> Path:
    """``<suite>_report.<fmt>`` in the working directory (never inside the results)."""
    name = Path(results_dir).resolve().name or "results"
    return Path(f"{name}_report.{fmt}")


def format_of(out: Path | str | None, fmt: str | None) -> str:
    """The format asked for, else the one the output's suffix names, else html."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
        return fmt
    suffix = Path(out).suffix.lower() if out else ""
    return "md" if suffix in (".md", ".markdown") else "html"


def build(results_dir: Path | str, out: Path | str | None = None, fmt: str | None = None,
          progress: Callable[[str], None] | None = None) -> Path:
    """Write the report of a suite's results folder; returns the report's path."""
    from ganbench.report.page import content, html, markdown
    from ganbench.util.atomic import atomic_write_bytes, atomic_write_text

    fmt = format_of(out, fmt)
    out = Path(out) if out else default_output(results_dir, fmt)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give the report's file name, e.g. {out / ('report.' + fmt)}")
    c = content.collect(results_dir, progress)
    if fmt == "html":
        atomic_write_text(out, html.render(c, out))
        return _shareable(out)
    text, files = markdown.render(c, out)
    for path, data in files.items():  # figures first: the page never links a missing file
        atomic_write_bytes(path, data)
        _shareable(path)
    atomic_write_text(out, text)
    return _shareable(out)


def _shareable(path: Path) -> Path:
    """Atomic writes create private (0600) files; a report is for others to read, so it
    gets the permissions of a plain new file under the user's umask."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
    return path
