"""Paper-style tables from results on disk, in text, markdown, LaTeX and CSV.

A cell is the mean ± std over the seeds of one (row, column) point. It never looks complete
when it is not: with N runs expected (the suite's record lists them) and n values, a cell
with n < N says n/N and why (diverged, failed, missing = not finished, no value = the
metric failed), and only complete cells can be marked best. Best is decided by the direction
each metric entry declares (``Metric.entries``); entries without one (bounds, counts,
coordinates) are never ranked. Published values of the suite's ``reference:`` blocks sit in
a column beside ours with an agreement mark (``ganbench.suite.reference``). Every format carries
the title and the legend; CSV is long and numeric, one line per cell and metric.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ganbench import util
from ganbench.registry import unknown_message
from ganbench.results.aggregate import cell as seed_cell
from ganbench.results.aggregate import cell_runs
from ganbench.results.record import recorded_runs
from ganbench.suite import reference as pub
from ganbench.util import textfmt

FORMATS = ("text", "markdown", "latex", "csv")
BEST = "{best}"  # in legend lines: how each format marks the best cell


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
    ci: tuple[float, float] | None = None
    best: bool = False
    published: list[tuple[int, pub.Published, bool | None]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.N > 0 and self.n == self.N

    def text(self, digits: int) -> str:
        body = "—" if self.n == 0 else f"{self.mean:.{digits}f}"
        if self.n > 1:
            body += f" ± {self.std:.{digits}f}"
        if self.n and self.ci is not None:
            body += f" [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]"
        if not self.complete and self.N:
            why = [f"{k} {w}" for k, w in ((self.diverged, "div"), (self.failed, "fail"),
                                           (self.missing, "missing"),
                                           (self.no_value, "no value")) if k]
            body += f" ({self.n}/{self.N}{': ' + ', '.join(why) if why else ''})"
        return body

    def published_text(self, many: bool) -> str:
        parts = []
        for b, p, ok in self.published:
            mark = "" if ok is None else " " + (pub.AGREE if ok else pub.DISAGREE)
            parts.append(f"{'[' + str(b + 1) + '] ' if many else ''}{p.text()}{mark}")
        return "; ".join(parts)


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
                title: str | None = None) -> Table:
    """The table of ``df`` (``results.load_results``). ``expected``: the suite's runs
    ({run_id, labels}), so that unfinished ones count; ``references``: published tables
    (``published.normalise`` form)."""
    for axis in [*rows, *columns]:
        if axis not in df.columns:
            labels = [c for c in df.columns if not c.startswith(("metric:", "time:"))]
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
    for axis in [*rows, *columns]:
        df[axis] = df[axis].astype(str)
    if expected is not None:
        df, stale = recorded_runs(df, [e["run_id"] for e in expected])
        if stale:
            legend.append(f"{stale} finished runs of an earlier version of the suite are "
                          "not counted")
        points = [{a: str((e.get("labels") or {}).get(a, "")) for a in [*rows, *columns]}
                  for e in expected]
    else:
        points = df[[*rows, *columns]].to_dict("records")
        legend.append("N counts the runs found on disk (no record of the suite's runs): "
                      "runs not finished are not counted")
    row_keys = list(dict.fromkeys(tuple(p[a] for a in rows) for p in points))
    col_keys = list(dict.fromkeys(tuple(p[a] for a in columns) for p in points))
    expected_n: dict[tuple, int] = {}
    for p in points:
        key = (tuple(p[a] for a in rows), tuple(p[a] for a in columns))
        expected_n[key] = expected_n.get(key, 0) + 1
    cells: dict[tuple[tuple, tuple, str], Cell] = {}
    by_cell = cell_runs(df, rows, columns)
    for rk in row_keys:
        for ck in col_keys:
            N = expected_n.get((rk, ck), 0)
            if not N:
                continue
            sub = by_cell.get((rk, ck), df.iloc[[]])
            done = sub[sub["status"] == "done"]
            for m in metrics:
                agg, counts = seed_cell(sub, N, f"metric:{m}")
                c = Cell(**vars(counts))
                if agg.n:
                    c.mean, c.std = agg.mean, agg.std
                    lo, hi = f"metric:{m}_ci_low", f"metric:{m}_ci_high"
                    if lo in done.columns and hi in done.columns:
                        ci = done[[lo, hi]].to_numpy(dtype=float)
                        ci = ci[np.isfinite(ci).all(axis=1)]
                        if len(ci):
                            c.ci = (float(ci[:, 0].mean()), float(ci[:, 1].mean()))
                cells[(rk, ck, m)] = c
    _mark_best(cells, row_keys, col_keys, metrics)
    status = df["status"].value_counts().to_dict() if len(df) else {}
    unfinished = len(points) - len(df)
    if unfinished > 0 or set(status) - {"done"}:  # said even when no metric column shows it
        counts = [f"{status.get(k, 0)} {k}" for k in ("done", "diverged", "failed")]
        legend.insert(0, f"runs: {len(points)} in the suite; {', '.join(counts)}, "
                         f"{max(unfinished, 0)} not finished")
    refs = list(references or [])
    if refs:
        legend += _place_published(cells, refs, rows, columns, row_keys, col_keys)
    title = title or f"{_suite_name(df)}: mean ± std over seeds"
    return Table(rows, columns, metrics, row_keys, col_keys, cells, title, refs,
                 _legend(cells, metrics) + legend + pub.legend(refs, _compared(cells)),
                 warnings)


def _mark_best(cells, row_keys, col_keys, metrics) -> None:
    for ck in col_keys:
        for m in metrics:
            direction = metric_direction(m)
            col = [cells[(rk, ck, m)] for rk in row_keys
                   if (rk, ck, m) in cells and cells[(rk, ck, m)].complete]
            if not direction or len(col) < 2 or len({c.mean for c in col}) < 2:
                continue
            best = (max if direction == "max" else min)(c.mean for c in col)
            for c in col:
                c.best = math.isclose(c.mean, best, rel_tol=1e-9, abs_tol=1e-12)


def _place_published(cells, refs, rows, columns, row_keys, col_keys) -> list[str]:
    points = [(rk, ck) for rk in row_keys for ck in col_keys]
    placed, _, hidden = pub.place(refs, rows, columns,
                                  [(dict(zip(rows, rk)), dict(zip(columns, ck)))
                                   for rk, ck in points])
    metrics = {m for (_, _, m) in cells}
    for (i, m), values in placed.items():
        rk, ck = points[i]
        if m not in metrics:
            hidden += len(values)
            continue
        c = cells.setdefault((rk, ck, m), Cell())
        c.published = [(b, p, p.agrees(c.mean, c.std, c.complete)) for b, p in values]
    if hidden:
        return [f"{hidden} published values are not shown: their cell or metric is not in "
                "this table"]
    return []


def _compared(cells) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for (_, _, m), c in cells.items():
        for b, _, _ in c.published:
            out.setdefault(b, set()).add(m)
    return out


def _legend(cells, metrics) -> list[str]:
    ns = sorted({c.N for c in cells.values() if c.N})
    n_text = "" if not ns else (f" (N = {ns[0]} per cell)" if len(ns) == 1
                                else f" (N = {ns[0]}-{ns[-1]} per cell)")
    lines = [f"mean ± std over the seeds of each cell{n_text}"]
    if any(c.ci for c in cells.values()):
        lines.append("[lo, hi]: the metric's own 95% interval, averaged over seeds")
    if any(not c.complete for c in cells.values() if c.N):
        lines.append("(n/N: ...): only n of the N seeds have a value; div = diverged, "
                     "fail = failed, missing = not finished, no value = the metric failed")
    lines.append(f"{BEST}: best in its column by the metric's direction, among complete "
                 "cells only")
    lines += [f"{m}: {entry_about(m)}" for m in metrics if entry_about(m)]
    return lines


# --- rendering --------------------------------------------------------------------------------


def render(df: pd.DataFrame, rows: list[str], columns: list[str], metrics: list[str],
           fmt: str = "text", digits: int = 3, title: str | None = None,
           expected: list[dict[str, Any]] | None = None,
           references: list[dict[str, Any]] | None = None,
           warn: Callable[[str], None] | None = util.warn) -> str:
    if fmt not in FORMATS:
        raise ValueError(unknown_message("format", fmt, list(FORMATS)))
    t = build_table(df, rows, columns, metrics, expected, references, title)
    for w in t.warnings:
        if warn is not None:
            warn(w)
    return {"text": render_text, "markdown": render_markdown, "latex": render_latex,
            "csv": render_csv}[fmt](t, digits)


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


def render_text(t: Table, digits: int = 3) -> str:
    head, body = _body(t, digits)
    rows = [[f"{x} *" if best else x for x, best in r] for r in body]
    out = [t.title, textfmt.render(head, rows), ""]
    return "\n".join(out + _legend_lines(t, "*")) + "\n"


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
          pub.AGREE: r"\checkmark{}", pub.DISAGREE: r"$\times$", "|": r"\textbar{}"}


def latex_escape(s: str) -> str:
    """Text -> LaTeX, every special character escaped (the same for every cell)."""
    return "".join(_LATEX.get(ch, ch) for ch in str(s))


def render_latex(t: Table, digits: int = 3) -> str:
    many = len(t.references) > 1
    cols = t.data_columns()
    r0 = len(t.rows)
    uses_marks = any(c.published for c in t.cells.values())
    needs = "\\usepackage{booktabs}" + (" and \\usepackage{amssymb} (for \\checkmark)"
                                       if uses_marks else "")
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


def render_csv(t: Table, digits: int = 3) -> str:
    """Long and numeric: one line per (row, column, metric[, published value]); the title
    and legend as leading '#' lines (pandas.read_csv(path, comment='#'))."""
    has_pub = bool(t.references)
    records = []
    for rk in t.row_keys:
        for ck in t.col_keys:
            for m in t.metrics:
                c = t.cells.get((rk, ck, m))
                if c is None or not c.N:
                    continue
                rec: dict[str, Any] = {**dict(zip(t.rows, rk)), **dict(zip(t.columns, ck)),
                                       "metric": m, "mean": c.mean if c.n else None,
                                       "std": c.std if c.n > 1 else None, "n": c.n, "N": c.N,
                                       "diverged": c.diverged, "failed": c.failed,
                                       "missing": c.missing, "no_value": c.no_value,
                                       "ci_low": c.ci[0] if c.ci else None,
                                       "ci_high": c.ci[1] if c.ci else None,
                                       "best": int(c.best)}
                if not has_pub:
                    records.append(rec)
                    continue
                for b, p, ok in c.published or [(None, None, None)]:
                    records.append({**rec, "reference": None if b is None else b + 1,
                                    "published_mean": p and p.mean, "published_pm": p and p.pm,
                                    "published_below": p and p.below,
                                    "published_above": p and p.above,
                                    "agree": None if ok is None else int(ok)})
    cols = [*t.rows, *t.columns, "metric", "mean", "std", "n", "N", "diverged", "failed",
            "missing", "no_value", "ci_low", "ci_high", "best"]
    if has_pub:
        cols += ["reference", "published_mean", "published_pm", "published_below",
                 "published_above", "agree"]
    frame = pd.DataFrame.from_records(records, columns=cols)
    for c in ("reference", "agree"):
        if c in frame:
            frame[c] = frame[c].astype("Int64")
    buf = io.StringIO()
    buf.write("".join(f"# {line}\n" for line in [t.title, *_legend_lines(t, "best = 1")]))
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


# --- from a results folder -------------------------------------------------------------------


def recorded_context(results_dir, record: dict[str, Any]) -> dict[str, Any]:
    """render()'s title, expected runs and published tables from a suite's record
    (``results.read_suite_record``); what the record lacks is left out."""
    from pathlib import Path

    out: dict[str, Any] = {"title": (record.get("table") or {}).get("title")}
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
            try:
                labels[rid] = (yaml.safe_load(p.read_text()) or {}).get("labels") or {}
            except (OSError, yaml.YAMLError):
                pass
    if any(rid not in labels for rid in ids) and record.get("spec"):
        try:  # runs not started yet: their labels come from the suite, expanded again
            from ganbench.suite import parse_suite

            s = parse_suite(record["spec"], str(record.get("source", "suite.json")),
                            str(record.get("name", "suite")))
            for r in s.runs:
                labels.setdefault(r.run_id, r.labels)
        except Exception:  # noqa: BLE001  (the code changed since: the runs stay unplaced)
            pass
    if any(rid not in labels for rid in ids):
        return None
    return [{"run_id": rid, "labels": labels[rid]} for rid in ids]
