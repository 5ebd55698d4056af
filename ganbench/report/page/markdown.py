"""The report as Markdown (GitHub-flavoured) with its figures as PNG files in a folder
beside it (``NAME.md`` + ``NAME_files/``), for a paper's appendix or a repository page."""

from __future__ import annotations

import re
from pathlib import Path

from ganbench.report.page.content import Content, Listing
from ganbench.report.page.html import href


def figures_dir(out: Path) -> Path:
    return out.with_name(out.stem + "_files")


# what came from the suite or the results (names, description, titles, labels, reference
# text) is escaped, as the HTML report escapes it: no raw HTML (entities for & < >) and no
# link or image syntax ([ ] escaped), whatever the file held
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_INLINE = re.compile(r"([\\`*_\[\]!|#~])")


def safe(md: str) -> str:
    """Markdown that ganbench built (a table with ** and |) with the text inside it made
    inert: no raw HTML, no links or images."""
    md = "".join(_HTML.get(ch, ch) for ch in str(md))
    return md.replace("[", "\\[").replace("]", "\\]")


def text(x: object) -> str:
    """Plain text from the suite or the results, shown literally in Markdown."""
    t = "".join(_HTML.get(ch, ch) for ch in str(x))
    return _INLINE.sub(r"\\\1", t)


def code(x: object) -> str:
    """``x`` as a code span, its fence longer than any run of backticks inside it."""
    t = str(x).replace("\n", " ")
    fence = "`" * (max((len(r) for r in re.findall("`+", t)), default=0) + 1)
    return f"{fence} {t} {fence}"


def fence(body: str) -> str:
    """A fence for a code block that ``body`` cannot close."""
    return "`" * max(3, max((len(r) for r in re.findall("`+", body)), default=0) + 1)


def cell(x: object) -> str:
    return text(x).replace("\n", " ")


def listing_md(t: Listing, c: Content, base: Path) -> str:
    if not t.rows:
        return ""
    head = [*t.head, *(["files"] if t.run_col is not None else [])]
    lines = ["| " + " | ".join(map(cell, head)) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in t.rows:
        row = [cell(x) for x in r]
        if t.run_col is not None:
            files = c.run_files.get(r[t.run_col], {})
            row.append(" · ".join(f"[{name}]({href(p, base)})" for name, p in files.items()) or "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def render(c: Content, out: Path) -> tuple[str, dict[Path, bytes]]:
    """(the markdown text, {path: bytes} of the files beside it: figures and the table's
    CSV) for a report written to ``out``."""
    base = Path(out).parent
    fdir = figures_dir(Path(out))
    files: dict[Path, bytes] = {}
    md = [f"# {text(c.name)}", ""]
    if c.banner:
        md += [f"> **{'Unfinished' if c.unfinished else 'Note'}.** {text(c.banner)}", ""]
    counts = ", ".join(f"{v} {k}" for k, v in c.counts.items() if v or k == "done")
    md += [f"{c.expected} runs: {counts}. Results: {code(c.results_dir)}"
           + (f"; suite file {code(c.source)}" if c.source else "")
           + f". Generated {c.generated} by `ganbench report`.", ""]

    md += ["## Suite and settings", ""]
    if c.description:
        md += [text(c.description), ""]
    md += ["### Grid", "", listing_md(c.grid, c, base)]
    md += ["### Settings every run shares", "", listing_md(c.settings, c, base)]
    if c.suite_yaml:
        md += ["<details><summary>The suite as validated (suite.json)</summary>", "",
               fence(c.suite_yaml) + "yaml", c.suite_yaml.rstrip(), fence(c.suite_yaml), "",
               "</details>", ""]

    table_csv = fdir / "table.csv"
    files[table_csv] = c.table_csv.encode()
    md += ["## Results table", "", safe(c.table_markdown.rstrip()), "",
           f"[The table as CSV]({href(table_csv, base)}) (long form: a line per cell and metric, "
           "with n, N and the published values).", ""]

    md += ["## Figures", ""]
    for f in c.figures:
        path = fdir / f"{f.key}.png"
        files[path] = f.png
        md += [f"### {text(f.title)}", "", f"![{text(f.title)}]({href(path, base)})", "",
               f"*{text(f.caption)}*", ""]
    md += [*(f"*{text(n)}*\n" for n in c.figure_notes)]

    md += ["## Diverged and failed runs", ""]
    md += [listing_md(c.problems, c, base) if c.problems.rows else "No run diverged or failed.\n"]
    md += ["## Throughput and environment", "",
           "Per trained group (runs that trained together as one vectorised ensemble); "
           "steps/s and samples/s are the group's, evaluation time is per run.", "",
           listing_md(c.throughput, c, base), "### Environment", "",
           listing_md(c.environment, c, base)]
    md += ["## Runs", "", listing_md(c.runs, c, base)]
    return "\n".join(md).rstrip() + "\n", files
