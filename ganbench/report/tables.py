"""Paper-style tables from results on disk, in text, markdown, LaTeX and CSV.

A cell is the mean of one (row, column) point over its seeds with the 95% interval of
that mean (Student's t by default) and n/N. It never looks complete when it is not: with
N runs expected (the suite's record lists them) and n values, a cell with n < N says why
(diverged, failed, missing = not finished, no value = the metric failed). Every claim is a
test decided in ``results.claims``: the marked cells of a column are its top group (the
best and every cell not significantly worse), and each published value of the suite's
``reference:`` blocks gets a verdict (agrees, differs, inconclusive). Entries without a
direction (bounds, counts, coordinates) are never ranked. Every format carries the title
and the legend; CSV is long and numeric, one line per cell and metric.
"""

from __future__ import annotations

import io
import math
import shutil
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ganbench import util
from ganbench.registry import unknown_message
from ganbench.report.published import legend as published_legend
from ganbench.results import claims as cl
from ganbench.results.pooling import (
    NOT_SETTINGS,
    check_cells,
    config_items,
    one_suite,
    pooled_note,
)
from ganbench.results.record import recorded_runs
from ganbench.suite import reference as pub
from ganbench.util import stats, textfmt

FORMATS = ("text", "markdown", "latex", "csv")
BEST = "{best}"  # in legend lines: how each format marks the top group
INTERVAL_NAMES = {"t": "Student's t", "bootstrap": "percentile bootstrap"}
CORRECTION_NAMES = {"holm": "Holm-corrected", "bonferroni": "Bonferroni-corrected",
                    "none": "not corrected"}


# --- what entries mean (declared by the metric classes) ------------------------------------


def _metrics():
    from ganbench.metrics import registry as mreg  # registers every metric

    return mreg


def registered_metric(key: str) -> str | None:
    """The registered metric a result entry belongs to (None for unknown keys)."""
    return _metrics().owner(key)


def metric_direction(key: str) -> str | None:
    """Declared direction of a result entry: "max", "min", or None (not a score)."""
    return _metrics().direction(key)


def entry_about(key: str) -> str:
    found = _metrics().find_entry(key)
    if not found:
        return ""
    e = found[1]
    how = {"max": "higher is better", "min": "lower is better"}.get(e.direction, "not ranked")
    unit = f"{e.unit}; " if e.unit and e.unit not in ("modes", "fraction") else ""
    return f"{e.about or key} ({unit}{how})"


# --- the table -------------------------------------------------------------------------------


@dataclass
class Cell:
    mean: float = math.nan
    std: float = 0.0
    n: int = 0              # seeds with a value
    N: int = 0              # seeds the suite runs at this point
    diverged: int = 0
    failed: int = 0
    missing: int = 0        # not finished (or not run yet)
    no_value: int = 0       # finished, but the metric has no value (it failed)
    ci: tuple[float, float] | None = None       # the interval of the mean over seeds
    run_ci: tuple[float, float] | None = None   # the metric's own per-run interval, averaged
    ranked: bool = False    # the column was tested for its top group
    top: bool | None = None  # in the top group (None: not tested)
    top_p: float | None = None
    published: list[tuple[int, pub.Published, stats.Verdict]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.N > 0 and self.n == self.N

    @property
    def best(self) -> bool:
        """Marked: in its column's top group."""
        return bool(self.top)

    def text(self, digits: int) -> str:
        body = "—" if self.n == 0 else f"{self.mean:.{digits}f}"
        if self.n and self.ci is not None:
            body += f" [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]"
        why = [f"{k} {w}" for k, w in ((self.diverged, "div"), (self.failed, "fail"),
                                       (self.missing, "missing"),
                                       (self.no_value, "no value")) if k]
        if self.N:
            body += f" ({self.n}/{self.N}{': ' + ', '.join(why) if why else ''})"
        if self.ranked and self.top is None and self.n and (self.n < 2 or not self.complete):
            body += " ?"
        return body

    def published_text(self, many: bool, digits: int = 3) -> str:
        parts = []
        for b, p, v in self.published:
            parts.append(f"{'[' + str(b + 1) + '] ' if many else ''}{p.text()}: "
                         f"{verdict_text(v, digits)}")
        return "; ".join(parts)


def verdict_text(v: stats.Verdict, digits: int = 3) -> str:
    """A verdict in a table cell: the word and what decided it."""
    if v.verdict == "inconclusive":
        if v.seeds_needed:
            return f"inconclusive (~{v.seeds_needed} seeds)"
        if not math.isfinite(v.p_value):
            return "inconclusive (untested)"
        return "inconclusive (not resolvable)"
    if not math.isfinite(v.p_value):  # an exact value: decided by its tolerance, no test
        return f"{v.verdict} (diff {v.diff:+.2g})"
    return f"{v.verdict} (p={v.p_value:.2g})"


@dataclass
class Table:
    rows: list[str]
    columns: list[str]
    metrics: list[str]
    row_keys: list[tuple[str, ...]]
    col_keys: list[tuple[str, ...]]           # column-axis labels (without the metric)
    cells: dict[tuple[tuple, tuple, str], Cell]
    title: str
    references: list[dict[str, Any]] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def data_columns(self) -> list[tuple[tuple, str, bool]]:
        """(column labels, metric, is the published column) in display order."""
        with_pub = {(ck, m) for (_, ck, m), c in self.cells.items() if c.published}
        out = []
        for ck in self.col_keys:
            for m in self.metrics:
                out.append((ck, m, False))
                if (ck, m) in with_pub:
                    out.append((ck, m, True))
        return out


def _suite_name(df: pd.DataFrame) -> str:
    names = sorted({str(s) for s in df.get("suite", pd.Series(dtype=object)).dropna()})
    return names[0] if len(names) == 1 else "results"


def build_table(df: pd.DataFrame, rows: list[str], columns: list[str], metrics: list[str],
                expected: list[dict[str, Any]] | None = None,
                references: list[dict[str, Any]] | None = None,
                title: str | None = None, alpha: float = 0.05, correction: str = "holm",
                interval: str = "t", looks: int = 1, pool: Sequence[str] = (),
                notes: Sequence[str] = (), where: str = "the results") -> Table:
    """The table of ``df`` (``results.load_results``). ``expected``: the suite's runs
    ({run_id, labels}), so that unfinished ones count; ``references``: published tables
    (``reference.normalise`` form). ``alpha`` and ``correction``: the tests of the top
    groups and verdicts; ``looks`` > 1 (adaptive seeds) splits alpha over the looks;
    ``interval``: t or bootstrap, the interval of the mean in each cell. A cell holds one
    configuration: runs differing in a setting other than the rows, columns and seed are
    refused unless that setting is in ``pool`` (said in the legend). ``notes``: more
    legend lines (e.g. which variant of the suite this is); ``where``: the folder, for
    messages."""
    level = cl.look_alpha(stats.check_alpha(alpha, "alpha"), looks)
    if interval not in INTERVAL_NAMES:
        raise ValueError(unknown_message("interval", interval, list(INTERVAL_NAMES)))
    for axis in [*rows, *columns]:
        if axis not in df.columns:
            labels = [c for c in df.columns if not c.startswith(NOT_SETTINGS)]
            raise ValueError(unknown_message("table axis", axis, labels))
    available = {c[len("metric:"):] for c in df.columns if c.startswith("metric:")}
    known = set(_metrics().entry_index())
    warnings, legend = [], []
    df = df.copy()
    for m in metrics:
        if m not in available and m not in known:
            raise ValueError(unknown_message("metric", m, sorted(available | known)))
        col = f"metric:{m}"
        if col not in df.columns:
            df[col] = np.nan
        if df[col].isna().all():
            computed = sorted(c for c in available if not df[f"metric:{c}"].isna().all()
                              and metric_direction(c))
            warnings.append(f"no run computed {m!r}; its column is empty (metrics with values: "
                            f"{', '.join(computed) or 'none'})")
    for m in metrics:  # a column compares values of one feature space only
        for col, what, sep in ((f"features:{m}", "feature extractors", ", "),
                               (f"preprocessing:{m}", "preprocessing of its features", "; ")):
            spaces = sorted(df.loc[df[f"metric:{m}"].notna(), col].dropna().unique()) \
                if col in df.columns else []
            if len(spaces) > 1:
                raise ValueError(f"metric {m!r} was computed with different {what} "
                                 f"({sep.join(map(str, spaces))}) in {where}: a column "
                                 f"compares one; table them apart or evaluate one extractor")
    one_suite(df, where)
    if expected is not None:
        df, stale = recorded_runs(df, [e["run_id"] for e in expected])
        if stale:
            legend.append(f"{stale} finished runs of an earlier version of the suite are "
                          "not counted")
    else:
        legend.append("N counts the runs found on disk (no record of the suite's runs): "
                      "runs not finished are not counted")
    check_cells(df, rows, columns, pool)
    if pool:
        legend.append(pooled_note(pool))
    legend += list(notes)
    tc = cl.table_cells(df, rows, columns, metrics, expected)
    cells: dict[tuple[tuple, tuple, str], Cell] = {}
    for k in tc.cells:
        agg, counts = tc.aggregates[k], tc.counts[k]
        c = Cell(**vars(counts))
        if agg.n:
            c.mean, c.std = agg.mean, agg.std
            if agg.n > 1:
                c.ci = stats.mean_interval(agg.values, method=interval)
            c.run_ci = _run_interval(tc.runs.get(k[:2]), k[2])
        cells[k] = c
    refs = list(references or [])
    checks, hidden = cl.published_checks(refs, rows, columns, tc) if refs else ({}, 0)
    decided = cl.decide(tc.cells, tc.row_keys, tc.col_keys, metrics, metric_direction,
                        checks, level, correction)
    for k, mem in decided.membership.items():
        cells[k].ranked, cells[k].top, cells[k].top_p = True, mem.top, mem.p
    for k, res in decided.verdicts.items():
        cells.setdefault(k, Cell()).published = [(pc.block, pc.shown, v) for pc, v in res]
    if hidden:
        legend.append(f"{hidden} published values are not shown: their cell or metric is not "
                      "in this table")
    status = df["status"].value_counts().to_dict() if len(df) else {}
    unfinished = len(tc.points) - len(df)
    if unfinished > 0 or set(status) - {"done"}:  # said even when no metric column shows it
        counts = [f"{status.get(k, 0)} {k}" for k in ("done", "diverged", "failed")]
        legend.insert(0, f"runs: {len(tc.points)} in the suite; {', '.join(counts)}, "
                         f"{max(unfinished, 0)} not finished")
    title = title or f"{_suite_name(df)}: mean [95% interval] over seeds"
    t = Table(rows, columns, metrics, tc.row_keys, tc.col_keys, cells, title, refs, [],
              warnings)
    t.legend = (_legend(t, interval, alpha, level, looks, correction) + legend
                + published_legend(refs, _compared(cells)) + _verdict_legend(cells, level))
    return t


def _run_interval(runs: pd.DataFrame | None, m: str) -> tuple[float, float] | None:
    """A metric's own per-run interval (e.g. the classifier JSD's bootstrap), averaged over
    the cell's done runs: kept for the CSV under its own name, never shown as the cell's."""
    lo, hi = f"metric:{m}_ci_low", f"metric:{m}_ci_high"
    if runs is None or lo not in runs.columns or hi not in runs.columns:
        return None
    ci = runs[runs["status"] == "done"][[lo, hi]].to_numpy(dtype=float)
    ci = ci[np.isfinite(ci).all(axis=1)]
    return (float(ci[:, 0].mean()), float(ci[:, 1].mean())) if len(ci) else None


def _compared(cells) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for (_, _, m), c in cells.items():
        for b, _, _ in c.published:
            out.setdefault(b, set()).add(m)
    return out


def _legend(t: Table, interval: str, alpha: float, level: float, looks: int,
            correction: str) -> list[str]:
    cells = t.cells
    ns = sorted({c.N for c in cells.values() if c.N})
    n_text = "" if not ns else (f"N = {ns[0]} per cell" if len(ns) == 1
                                else f"N = {ns[0]}-{ns[-1]} per cell")
    lines = [f"mean [95% interval of the mean over seeds, {INTERVAL_NAMES[interval]}] (n/N: "
             f"seeds with a value / seeds run; {n_text}); the seed std is in the CSV"]
    if any(not c.complete for c in cells.values() if c.N):
        lines.append("(n/N: ...): div = diverged, fail = failed, missing = not finished, "
                     "no value = the metric failed")
    if any(c.ranked for c in cells.values()):
        lines.append(f"{BEST}: the column's top group: its best cell and every cell not "
                     f"significantly worse (one-sided Welch test against the best, "
                     f"{CORRECTION_NAMES.get(correction, correction)} over the column, "
                     f"alpha = {level:g})"
                     + ("; ? = not tested (fewer than 2 values, or seeds missing)"
                        if any(c.ranked and c.top is None and c.n for c in cells.values())
                        else ""))
    if looks > 1:
        lines.append(f"adaptive seeds: alpha = {alpha:g} split over {looks} planned looks "
                     f"(Bonferroni), so that stopping when decided keeps each claim's error "
                     f"at {alpha:g}")
    if any(c.run_ci for c in cells.values()):
        lines.append("the metrics' own per-run intervals (e.g. the classifier JSD's bootstrap) "
                     "are in the CSV as run_ci_lo / run_ci_hi")
    lines += [f"{m}: {entry_about(m)}" for m in t.metrics if entry_about(m)]
    return lines


def _verdict_legend(cells, level: float) -> list[str]:
    if not any(c.published for c in cells.values()):
        return []
    return [f"published verdicts at alpha = {level:g}: agrees = equivalent within the "
            "block's margin (two one-sided Welch tests); differs = Welch's test rejects "
            "equality; inconclusive = neither, with the seeds that would decide it at 80% "
            "power (not resolvable: no seed count would); a bound (< x, > x): a one-sided "
            "test that our mean is below / above it; an exact value (exact, tol t): agrees "
            "when every seed is within t of it, else differs; a metric without a margin can "
            "only differ; incomplete cells are untested"]


# --- rendering --------------------------------------------------------------------------------


def render(df: pd.DataFrame, rows: list[str], columns: list[str], metrics: list[str],
           fmt: str = "text", digits: int = 3, title: str | None = None,
           expected: list[dict[str, Any]] | None = None,
           references: list[dict[str, Any]] | None = None,
           warn: Callable[[str], None] | None = util.warn, legend: bool = False,
           wide: bool = False, **tests: Any) -> str:
    """``tests``: build_table's alpha, correction, interval, looks, pool and notes;
    ``legend``: the CSV with its title and legend as leading '#' lines (other formats
    always carry them); ``wide``: text on one line per row (``render_text``)."""
    if fmt not in FORMATS:
        raise ValueError(unknown_message("format", fmt, list(FORMATS)))
    t = build_table(df, rows, columns, metrics, expected, references, title, **tests)
    for w in t.warnings:
        if warn is not None:
            warn(w)
    if fmt == "csv":
        return render_csv(t, digits, legend=legend)
    if fmt == "text":
        return render_text(t, digits, wide=wide)
    return {"markdown": render_markdown, "latex": render_latex}[fmt](t, digits)


def _body(t: Table, digits: int) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Flat header and rows of (text, best) pairs, shared by text and markdown."""
    many = len(t.references) > 1
    cols = t.data_columns()
    head = list(t.rows)
    for ck, m, is_pub in cols:
        name = " / ".join([*ck, m])
        head.append(f"{name} (paper)" if is_pub else name)
    body = []
    for rk in t.row_keys:
        line = [(x, False) for x in rk]
        for ck, m, is_pub in cols:
            c = t.cells.get((rk, ck, m))
            if c is None:
                line.append(("", False))
            elif is_pub:
                line.append((c.published_text(many), False))
            else:
                line.append((c.text(digits) if c.N else "", c.best))
        body.append(line)
    return head, body


def _legend_lines(t: Table, best: str) -> list[str]:
    return [line.replace(BEST, best) for line in t.legend]


def legend_lines(t: Table, fmt: str) -> list[str]:
    """The legend as a format marks the top group (``csv``: the top_group column)."""
    return _legend_lines(t, {"csv": "top_group = 1", "text": "*"}.get(fmt, "bold"))


def render_text(t: Table, digits: int = 3, width: int | None = None, wide: bool = False
                ) -> str:
    """The table as text that fits ``width`` columns (default: the terminal's, 80 when
    there is none, ``$COLUMNS`` when set). Published values sit in the cell they belong to.
    The first layout that fits: one table; one block per column (e.g. per dataset), its
    metrics split over several blocks when needed; one paragraph per row, a line per cell.
    ``wide``: one line per row whatever its width, published values in their own columns."""
    legend = _legend_lines(t, "*")
    if wide:
        head, body = _body(t, digits)
        rows = [[f"{x} *" if best else x for x, best in r] for r in body]
        return "\n".join([t.title, textfmt.render(head, rows), "", *legend]) + "\n"
    width = max(40, width or shutil.get_terminal_size((80, 24)).columns)
    text = _fitted(t, digits, width)
    wrap = [textwrap.fill(line, width, subsequent_indent="  ") for line in [t.title]]
    notes = [textwrap.fill(line, width, subsequent_indent="  ") for line in legend]
    return "\n".join([*wrap, text, "", *notes]) + "\n"


def _cell_lines(t: Table, rk: tuple, ck: tuple, m: str, digits: int) -> list[str]:
    """A cell as lines: its value with the top-group mark, then its published values."""
    c = t.cells.get((rk, ck, m))
    if c is None:
        return []
    out = [(c.text(digits) + (" *" if c.best else "")) if c.N else ""]
    many = len(t.references) > 1
    for b, p, v in c.published:  # the published value, then its verdict: narrow lines
        out += [f"paper{f' [{b + 1}]' if many else ''} {p.text()}", verdict_text(v)]
    return out


def _fits(text: str, width: int) -> bool:
    return max((len(line) for line in text.splitlines()), default=0) <= width


def _fitted(t: Table, digits: int, width: int) -> str:
    def table(cols: list[tuple[tuple, str]], name_col: bool = True) -> str:
        head = [*t.rows, *((" / ".join([*ck, m]) if name_col else m) for ck, m in cols)]
        body = []
        for rk in t.row_keys:
            cells = [_cell_lines(t, rk, ck, m, digits) for ck, m in cols]
            if not any(cells):
                continue
            depth = max(len(c) for c in cells)  # a published value: the cell's second line
            body += [[*(rk if i == 0 else [""] * len(rk)),
                      *(c[i] if i < len(c) else "" for c in cells)] for i in range(depth)]
        keep = [j for j in range(len(t.rows), len(head)) if any(r[j] for r in body)]
        idx = list(range(len(t.rows))) + keep  # columns with no cell at all are left out
        return textfmt.render([head[j] for j in idx], [[r[j] for j in idx] for r in body])

    one = table([(ck, m) for ck in t.col_keys for m in t.metrics])
    if _fits(one, width):
        return one
    blocks: list[str] = []
    for ck in t.col_keys:  # a block per column value, its metrics in as few blocks as fit
        chunk: list[str] = []
        for m in t.metrics:
            trial = table([(ck, x) for x in [*chunk, m]], name_col=False)
            if chunk and not _fits(trial, width):
                blocks.append(_block(ck, t, chunk, table))
                chunk = []
            chunk.append(m)
        if chunk:
            blocks.append(_block(ck, t, chunk, table))
    text = "\n\n".join(blocks)
    if _fits(text, width):
        return text
    return _paragraphs(t, digits, width)


def _block(ck: tuple, t: Table, metrics: list[str], table) -> str:
    title = ", ".join(f"{a} = {v}" for a, v in zip(t.columns, ck))
    return (f"[{title}]\n" if title else "") + table([(ck, m) for m in metrics],
                                                      name_col=False)


def _paragraphs(t: Table, digits: int, width: int) -> str:
    """One paragraph per row: its labels, then a line per (column, metric) cell."""
    out = []
    for rk in t.row_keys:
        out.append(textwrap.fill(", ".join(f"{a} = {v}" for a, v in zip(t.rows, rk)), width,
                                 subsequent_indent="    "))
        for ck in t.col_keys:
            for m in t.metrics:
                lines = _cell_lines(t, rk, ck, m, digits)
                cell = lines[0] if lines else ""
                for i in range(1, len(lines), 2):  # published value: verdict
                    cell += (" | " if cell else "") + f"{lines[i]}: {lines[i + 1]}"
                if cell:
                    out.append(textwrap.fill(f"{' / '.join([*ck, m])}: {cell}", width,
                                             initial_indent="  ", subsequent_indent="      "))
    return "\n".join(out)


def render_markdown(t: Table, digits: int = 3) -> str:
    head, body = _body(t, digits)

    def md(x: str) -> str:
        return x.replace("|", "\\|")

    out = [f"**{md(t.title)}**", "", "| " + " | ".join(map(md, head)) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(f"**{md(x)}**" if best and x else md(x) for x, best in r) + " |"
            for r in body]
    out.append("")
    out += [f"- {line}" for line in _legend_lines(t, "bold")]
    return "\n".join(out) + "\n"


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "±": r"$\pm$", "—": "---", "–": "--",
          "<": r"$<$", ">": r"$>$", "≤": r"$\leq$", "≥": r"$\geq$", "−": r"$-$",
          "|": r"\textbar{}"}


def latex_escape(s: str) -> str:
    """Text -> LaTeX, every special character escaped (the same for every cell)."""
    return "".join(_LATEX.get(ch, ch) for ch in str(s))


def render_latex(t: Table, digits: int = 3) -> str:
    many = len(t.references) > 1
    cols = t.data_columns()
    r0 = len(t.rows)
    needs = "\\usepackage{booktabs}"
    out = [f"% ganbench table: needs {needs}",
           "\\begin{table}", "\\centering", f"\\caption{{{latex_escape(t.title)}}}",
           "\\begin{tabular}{" + "l" * r0 + "r" * len(cols) + "}", "\\toprule"]
    # grouped headers: one line per column axis, cells spanning equal consecutive labels
    for level in range(len(t.columns)):
        spans: list[tuple[str, int, int]] = []  # (label, first column, last column), 1-based
        for j, (ck, _, _) in enumerate(cols):
            pos = r0 + j + 1
            if spans and cols[spans[-1][1] - r0 - 1][0][:level + 1] == ck[:level + 1]:
                spans[-1] = (spans[-1][0], spans[-1][1], pos)
            else:
                spans.append((ck[level], pos, pos))
        cells = [""] * r0 + [f"\\multicolumn{{{b - a + 1}}}{{c}}{{{latex_escape(lb)}}}"
                             for lb, a, b in spans]
        out.append(" & ".join(cells) + " \\\\")
        out.append(" ".join(f"\\cmidrule(lr){{{a}-{b}}}" for _, a, b in spans))
    head = [*t.rows, *((f"{m} (paper)" if is_pub else m) for _, m, is_pub in cols)]
    out += [" & ".join(latex_escape(h) for h in head) + " \\\\", "\\midrule"]
    for rk in t.row_keys:
        line = [latex_escape(x) for x in rk]
        for ck, m, is_pub in cols:
            c = t.cells.get((rk, ck, m))
            text = "" if c is None else (c.published_text(many) if is_pub else
                                         c.text(digits) if c.N else "")
            cell = latex_escape(text)
            if c is not None and c.best and not is_pub and cell:
                cell = f"\\textbf{{{cell}}}"
            line.append(cell)
        out.append(" & ".join(line) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", "",
            "\\smallskip\\footnotesize",
            " \\\\\n".join(latex_escape(line) for line in _legend_lines(t, "bold")),
            "\\end{table}"]
    return "\n".join(out) + "\n"


CSV_COLUMNS = ["metric", "n", "N", "mean", "std", "ci_lo", "ci_hi", "top_group", "top_p",
               "diverged", "failed", "missing", "no_value", "run_ci_lo", "run_ci_hi"]
CSV_PUBLISHED = ["reference", "published_mean", "published_spread", "published_spread_kind",
                 "published_below", "published_above", "margin", "verdict", "p_value", "diff",
                 "diff_lo", "diff_hi", "seeds_needed", "published_tol"]


def render_csv(t: Table, digits: int = 3, legend: bool = False) -> str:
    """Long and numeric: one line per (row, column, metric[, published value]), plain, so
    that ``pandas.read_csv(path)`` reads it as it is; with ``legend`` the title and legend
    come first as '#' lines (then ``pandas.read_csv(path, comment='#')``). ``ci_lo`` /
    ``ci_hi``: the interval of the mean; ``top_group``: 1 / 0, empty where untested;
    ``run_ci_lo`` / ``run_ci_hi``: the metric's own per-run interval, averaged."""
    has_pub = bool(t.references)
    records = []

    def num(x):
        return None if x is None or not math.isfinite(x) else x

    for rk in t.row_keys:
        for ck in t.col_keys:
            for m in t.metrics:
                c = t.cells.get((rk, ck, m))
                if c is None or not c.N:
                    continue
                rec: dict[str, Any] = {
                    **dict(zip(t.rows, rk)), **dict(zip(t.columns, ck)), "metric": m,
                    "n": c.n, "N": c.N, "mean": c.mean if c.n else None,
                    "std": c.std if c.n > 1 else None,
                    "ci_lo": c.ci[0] if c.ci else None, "ci_hi": c.ci[1] if c.ci else None,
                    "top_group": None if c.top is None else int(c.top), "top_p": c.top_p,
                    "diverged": c.diverged, "failed": c.failed, "missing": c.missing,
                    "no_value": c.no_value,
                    "run_ci_lo": c.run_ci[0] if c.run_ci else None,
                    "run_ci_hi": c.run_ci[1] if c.run_ci else None}
                if not has_pub:
                    records.append(rec)
                    continue
                for b, p, v in c.published or [(None, None, None)]:
                    block = t.references[b] if b is not None else {}
                    records.append({
                        **rec, "reference": None if b is None else b + 1,
                        "published_mean": p and p.mean, "published_spread": p and p.pm,
                        "published_spread_kind": block.get("spread"),
                        "published_below": p and p.below, "published_above": p and p.above,
                        "margin": (block.get("margins") or {}).get(m) if p else None,
                        "verdict": v and v.verdict, "p_value": v and num(v.p_value),
                        "diff": v and num(v.diff), "diff_lo": v and num(v.ci[0]),
                        "diff_hi": v and num(v.ci[1]), "seeds_needed": v and v.seeds_needed,
                        "published_tol": p and p.tol})
    cols = [*t.rows, *t.columns, *CSV_COLUMNS] + (CSV_PUBLISHED if has_pub else [])
    frame = pd.DataFrame.from_records(records, columns=cols)
    for c in ("reference", "top_group", "seeds_needed"):
        if c in frame:
            frame[c] = frame[c].astype("Int64")
    buf = io.StringIO()
    if legend:
        buf.write("".join(f"# {line}\n" for line in [t.title, *legend_lines(t, "csv")]))
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


# --- from a results folder -------------------------------------------------------------------


def recorded_context(results_dir, record: dict[str, Any],
                     alpha: float | None = None) -> dict[str, Any]:
    """render()'s title, expected runs, published tables and tests from a suite's record
    (``results.read_suite_record``); what the record lacks is left out. ``alpha``: the
    command line's, in place of the suite's ``table.alpha``."""
    from pathlib import Path

    table = record.get("table") or {}
    out: dict[str, Any] = {"title": table.get("title")}
    nominal = stats.check_alpha(alpha if alpha is not None else table.get("alpha", 0.05),
                                "--alpha" if alpha is not None else "table.alpha")
    out["alpha"] = nominal
    _, out["looks"] = cl.table_alpha(record.get("spec"), nominal)
    out["correction"] = table.get("correction", "holm")
    out["interval"] = table.get("interval", "t")
    spec = record.get("spec") or {}
    blocks = ([spec["reference"]] if spec.get("reference") else []) + \
        list(spec.get("references") or [])
    try:
        out["references"] = [pub.normalise(pub.Reference.model_validate(b)) for b in blocks]
    except ValueError as exc:  # validated when the suite ran; a hand-edited record is not
        raise ValueError(f"{Path(results_dir) / 'suite.json'}: published values: {exc}") from None
    out["expected"] = _recorded_runs(Path(results_dir), record)
    return out


def _recorded_runs(root, record: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The suite's runs with their labels: from the record, the runs' spec.yaml, or the
    recorded suite expanded again. None when some run cannot be placed (then N counts
    the finished runs only)."""
    import yaml

    ids = record.get("runs") or []
    if not ids:
        return None
    labels: dict[str, dict] = dict(record.get("labels") or {})
    for rid in ids:
        p = root / str(rid) / "spec.yaml"
        if rid not in labels and p.is_file():
            try:  # its settings too, so that any of them can be a row of the table
                spec = yaml.safe_load(p.read_text()) or {}
                labels[rid] = {**config_items(spec.get("config") or {}),
                               **(spec.get("labels") or {})}
            except (OSError, yaml.YAMLError, AttributeError):
                pass
    if any(rid not in labels for rid in ids) and record.get("spec"):
        try:  # runs not started yet: their labels come from the suite, expanded again
            from ganbench.suite import parse_suite

            s = parse_suite(record["spec"], str(record.get("source", "suite.json")),
                            str(record.get("name", "suite")))
            for r in s.runs:
                labels.setdefault(r.run_id, {**config_items(r.config), **r.labels})
        except Exception:  # noqa: BLE001  (the code changed since: the runs stay unplaced)
            pass
    if any(rid not in labels for rid in ids):
        return None
    return [{"run_id": rid, "labels": labels[rid]} for rid in ids]
