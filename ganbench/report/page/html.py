"""The report as one self-contained HTML page: figures embedded as base64 PNG, styles
inline, no script. A Content-Security-Policy forbids every fetch except ``data:`` images,
so the page cannot reach the network, and a browser says so if anything tries."""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path
from urllib.parse import quote

from ganbench.report.page.content import Content, Listing

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --warn: #fff4e5;
        --warn-line: #d9822b; --bad: #b2182b; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--fg); margin: 0 auto; max-width: 1280px; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 6px; }
p, li { max-width: 90ch; }
.meta { color: var(--muted); margin: 0 0 12px; }
.banner { background: var(--warn); border: 1px solid var(--warn-line); border-left-width: 6px;
          padding: 10px 14px; margin: 14px 0; border-radius: 4px; }
nav ol { columns: 2; margin: 6px 0; }
.scroll { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; vertical-align: top; text-align: left; }
thead th { background: var(--soft); position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.label { white-space: nowrap; }
/* the results table fits the page (1280 px) however many columns: cells wrap, never scroll */
table.results { width: 100%; table-layout: fixed; }
table.results th, table.results td.num { white-space: normal; overflow-wrap: anywhere; }
.results strong { color: #0b5394; }
.legend { color: var(--muted); font-size: 12.5px; margin: 4px 0 0 18px; padding: 0; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
figcaption { color: var(--muted); font-size: 12.5px; max-width: 90ch; }
details { margin: 6px 0; }
summary { cursor: pointer; color: var(--muted); }
pre { background: var(--soft); padding: 10px; overflow-x: auto; font-size: 12px; }
code { font-size: 12.5px; }
.bad { color: var(--bad); }
.runfiles a { margin-right: 6px; }
"""


def href(target: Path, base: Path) -> str:
    """A link from a file in ``base`` to ``target``: relative when it can be, so that the
    report and the results folder can move together."""
    try:
        rel = os.path.relpath(Path(target).resolve(), Path(base).resolve())
    except ValueError:  # another drive (Windows)
        return Path(target).resolve().as_uri()
    return quote(rel.replace(os.sep, "/"))


def e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _inline(text: str) -> str:
    """Escape, then the markdown the tables module writes: **bold** and `code`."""
    t = e(text.replace("\\|", "|"))  # markdown's escaped pipes
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def _split_row(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def markdown_table_html(md: str, label_cols: int) -> str:
    """The tables module's markdown (title, pipe table, legend list) as HTML, cell for cell:
    a format conversion only, so the report's table is exactly ``ganbench table``'s."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_pipe_table(block, label_cols))
            continue
        if line.lstrip().startswith(("- ", "* ")):
            items = []
            while i < len(lines) and lines[i].lstrip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].lstrip()[2:])}</li>")
                i += 1
            out.append(f'<ul class="legend">{"".join(items)}</ul>')
            continue
        if line.strip():
            out.append(f'<p class="table-title">{_inline(line.strip())}</p>')
        i += 1
    return "\n".join(out)


def _pipe_table(block: list[str], label_cols: int) -> str:
    head = _split_row(block[0])
    body = [_split_row(r) for r in block[1:] if not re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", r)]
    th = "".join(f'<th scope="col">{_inline(h)}</th>' for h in head)
    trs = []
    for r in body:
        cells = []
        for j, x in enumerate(r):
            if j < label_cols:
                cells.append(f'<th scope="row" class="label">{_inline(x)}</th>')
            else:
                cells.append(f'<td class="num">{_inline(x)}</td>')
        trs.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table class="results"><thead><tr>{th}</tr></thead>'
            f"<tbody>{''.join(trs)}</tbody></table></div>")


def listing_html(t: Listing, c: Content, base: Path, cls: str = "") -> str:
    if not t.rows:
        return ""
    th = "".join(f'<th scope="col">{e(h)}</th>' for h in t.head)
    if t.run_col is not None:
        th += '<th scope="col">files</th>'
    trs = []
    for k, r in enumerate(t.rows):
        tds = []
        for j, x in enumerate(r):
            num = j in t.num_cols
            detail = t.details[k] if t.details and j == len(r) - 1 and t.details[k] else ""
            body = e(x) if not detail else (f"<details><summary>{e(x)}</summary>"
                                             f"<pre>{e(detail)}</pre></details>")
            tds.append(f'<td{" class=num" if num else ""}>{body}</td>')
        if t.run_col is not None:
            files = c.run_files.get(r[t.run_col], {})
            links = " ".join(f'<a href="{href(p, base)}">{e(name)}</a>' for name, p in files.items())
            tds.append(f'<td class="runfiles">{links or "—"}</td>')
        trs.append(f"<tr>{''.join(tds)}</tr>")
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead>'
            f"<tbody>{''.join(trs)}</tbody></table></div>")


def render(c: Content, out: Path) -> str:
    base = Path(out).parent
    sections: list[tuple[str, str, str]] = []  # (id, title, body html)

    settings = [f"<p>{e(c.description)}</p>" if c.description else ""]
    settings.append("<h3>Grid</h3>" + listing_html(c.grid, c, base))
    settings.append("<h3>Settings every run shares</h3>" + listing_html(c.settings, c, base))
    if c.suite_yaml:
        settings.append(f"<details><summary>The suite as validated (suite.json)</summary>"
                        f"<pre>{e(c.suite_yaml)}</pre></details>")
    sections.append(("settings", "Suite and settings", "\n".join(settings)))
    csv_href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(c.table_csv.encode()).decode()
    sections.append(("table", "Results table", markdown_table_html(c.table_markdown, c.table_rows)
                     + f'<p class=meta><a download="{e(c.name)}_table.csv" href="{csv_href}">'
                     "The table as CSV</a> (long form: a line per cell and metric, with n, N "
                     "and the published values).</p>"))

    figs = []
    for f in c.figures:
        b64 = base64.b64encode(f.png).decode("ascii")
        figs.append(f'<figure id="fig-{e(f.key)}"><h3>{e(f.title)}</h3>'
                    f'<img src="data:image/png;base64,{b64}" alt="{e(f.title)}">'
                    f"<figcaption>{e(f.caption)}</figcaption></figure>")
    figs += [f"<p class=meta>{e(n)}</p>" for n in c.figure_notes]
    sections.append(("figures", "Figures", "\n".join(figs)))

    problems = (listing_html(c.problems, c, base) if c.problems.rows
                else "<p>No run diverged or failed.</p>")
    sections.append(("problems", "Diverged and failed runs", problems))
    sections.append(("throughput", "Throughput and environment",
                     "<p class=meta>Per trained group (runs that trained together as one "
                     "vectorised ensemble). steps/s and samples/s are the group's; evaluation "
                     "time is per run.</p>" + listing_html(c.throughput, c, base)
                     + "<h3>Environment</h3>" + listing_html(c.environment, c, base)))
    sections.append(("runs", "Runs", "<p class=meta>Each run's folder holds its resolved "
                     "config (spec.yaml), summary (summary.json) and evaluations "
                     "(metrics.jsonl).</p>" + listing_html(c.runs, c, base)))

    counts = ", ".join(f"{v} {k}" for k, v in c.counts.items() if v or k == "done")
    meta = (f"{c.expected} runs: {counts}. Results: <code>{e(c.results_dir)}</code>"
            + (f"; suite file <code>{e(c.source)}</code>" if c.source else "")
            + f". Generated {e(c.generated)} by <code>ganbench report</code>.")
    banner = (f'<div class="banner" role="alert"><strong>{"Unfinished" if c.unfinished else "Note"}.'
              f"</strong> {e(c.banner)}</div>") if c.banner else ""
    nav = "".join(f'<li><a href="#{sid}">{e(t)}</a></li>' for sid, t, _ in sections)
    body = "\n".join(f'<section id="{sid}"><h2>{e(t)}</h2>\n{b}\n</section>' for sid, t, b in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ganbench report">
<title>{e(c.name)} — ganbench report</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{e(c.name)}</h1>
<p class="meta">{meta}</p>
{banner}
</header>
<nav><strong>Contents</strong><ol>{nav}</ol></nav>
{body}
</body>
</html>
"""
