"""Paper-style tables from results on disk: mean ± std over seeds, best marked per column
by the metric's declared direction, diverged and failed runs counted explicitly."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ganbench.registry import registry, unknown_message

FORMATS = ("text", "markdown", "latex", "csv")


def registered_metric(key: str) -> str | None:
    """The registered metric an entry belongs to ('modes_thresholded' -> 'modes')."""
    reg = registry("metrics")
    name = key
    while name:
        if name in reg:
            return name
        name = name.rsplit("_", 1)[0] if "_" in name else ""
    return None


# entries without a direction of their own: CI bounds, how a value was computed (sample
# count, optimiser steps, seconds, bandwidth), and unit conversions of the main value
UNDIRECTED_SUFFIXES = ("_ci_low", "_ci_high", "_n", "_steps", "_seconds", "_bandwidth", "_bits")


def metric_direction(key: str) -> str | None:
    """Direction of a metric entry (sub-entries inherit it, except UNDIRECTED_SUFFIXES)."""
    name = registered_metric(key)
    if name is None or key.endswith(UNDIRECTED_SUFFIXES):
        return None
    return getattr(registry("metrics").get(name), "direction", None)


@dataclass
class Cell:
    mean: float
    std: float
    n: int
    diverged: int
    failed: int
    ci: tuple[float, float] | None = None
    best: bool = False

    def text(self, digits: int) -> str:
        if self.n == 0:
            body = "—"
        else:
            body = f"{self.mean:.{digits}f}"
            if self.n > 1:
                body += f" ± {self.std:.{digits}f}"
            if self.ci is not None:
                body += f" [{self.ci[0]:.{digits}f}, {self.ci[1]:.{digits}f}]"
        notes = []
        if self.diverged:
            notes.append(f"{self.diverged} div")
        if self.failed:
            notes.append(f"{self.failed} fail")
        if notes:
            body += f" ({', '.join(notes)})"
        return body


def build_table(df: pd.DataFrame, rows: list[str], columns: list[str],
                metrics: list[str]) -> tuple[list[tuple], list[tuple], dict]:
    """(row keys, column keys (col-axis values..., metric), {(row, col): Cell})."""
    for axis in [*rows, *columns]:
        if axis not in df.columns:
            labels = [c for c in df.columns if not c.startswith(("metric:", "time:"))]
            raise ValueError(unknown_message("table axis", axis, labels))
    available = {c[len("metric:"):] for c in df.columns if c.startswith("metric:")}
    df = df.copy()
    for m in metrics:
        if m in available:
            continue
        if registered_metric(m) is None:
            raise ValueError(unknown_message("metric", m, sorted(available)))
        df[f"metric:{m}"] = np.nan  # a known metric no run reported (e.g. all diverged)
    for axis in [*rows, *columns]:
        df[axis] = df[axis].astype(str)
    row_keys = list(dict.fromkeys(tuple(r) for r in df[rows].itertuples(index=False))) if rows else [()]
    col_vals = list(dict.fromkeys(tuple(r) for r in df[columns].itertuples(index=False))) if columns else [()]
    col_keys = [(*cv, m) for cv in col_vals for m in metrics]
    cells: dict = {}
    for rk in row_keys:
        for ck in col_keys:
            sel = np.ones(len(df), dtype=bool)
            for a, v in zip(rows, rk):
                sel &= (df[a] == v).to_numpy()
            for a, v in zip(columns, ck[:-1]):
                sel &= (df[a] == v).to_numpy()
            sub = df[sel]
            if sub.empty:
                continue
            m = ck[-1]
            ok = sub[sub["status"] == "done"]
            vals = ok[f"metric:{m}"].dropna().to_numpy(dtype=float) if len(ok) else np.array([])
            ci = None
            lo, hi = f"metric:{m}_ci_low", f"metric:{m}_ci_high"
            if lo in ok.columns and len(vals):
                ci = (float(ok[lo].mean()), float(ok[hi].mean()))
            cells[(rk, ck)] = Cell(
                mean=float(vals.mean()) if len(vals) else math.nan,
                std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                n=len(vals), diverged=int((sub["status"] == "diverged").sum()),
                failed=int((sub["status"] == "failed").sum()), ci=ci)
    for ck in col_keys:
        direction = metric_direction(ck[-1])
        col = [(rk, cells[(rk, ck)]) for rk in row_keys if (rk, ck) in cells and cells[(rk, ck)].n]
        if direction and len(col) > 1 and len({c.mean for _, c in col}) > 1:
            pick = max if direction == "max" else min
            best = pick(c.mean for _, c in col)
            for _, c in col:
                c.best = math.isclose(c.mean, best, rel_tol=1e-9, abs_tol=1e-12)
    return row_keys, col_keys, cells


def render(df: pd.DataFrame, rows: list[str], columns: list[str], metrics: list[str],
           fmt: str = "text", digits: int = 3, title: str | None = None) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    row_keys, col_keys, cells = build_table(df, rows, columns, metrics)
    head = [*rows, *(" / ".join(ck) for ck in col_keys)]

    def cell(rk, ck) -> str:
        c = cells.get((rk, ck))
        if c is None:
            return ""
        t = c.text(digits)
        if c.best and fmt != "csv":
            t = {"markdown": f"**{t}**", "latex": f"\\textbf{{{t}}}"}.get(fmt, f"{t} *")
        return t

    body = [[*rk, *(cell(rk, ck) for ck in col_keys)] for rk in row_keys]
    if fmt == "csv":
        return pd.DataFrame(body, columns=head).to_csv(index=False)
    if fmt == "markdown":
        out = [("**" + title + "**\n") if title else ""]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        out += ["| " + " | ".join(x.replace("|", "\\|") for x in r) + " |" for r in body]
        return "\n".join(x for x in out if x) + "\n"
    if fmt == "latex":
        esc = _latex_escape
        lines = ["\\begin{tabular}{" + "l" * len(rows) + "r" * len(col_keys) + "}", "\\toprule",
                 " & ".join(esc(h) for h in head) + " \\\\", "\\midrule"]
        lines += [" & ".join(esc(x) if not x.startswith("\\textbf") else x for x in r) + " \\\\"
                  for r in body]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    fmt_row = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))  # noqa: E731
    out = [title] if title else []
    out += [fmt_row(head), "  ".join("-" * w for w in widths), *(fmt_row(r) for r in body)]
    out.append("mean ± std over seeds; * best in column; (k div) = runs that diverged")
    return "\n".join(out) + "\n"


def _latex_escape(s: str) -> str:
    return s.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("%", "\\%") \
        .replace("&", "\\&").replace("#", "\\#").replace("±", "$\\pm$")
