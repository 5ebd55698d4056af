"""``ganbench compare``: is selection A better than selection B, by how much, how sure?

Per column (e.g. dataset) and metric: the difference of the two rows' means over seeds
with its Welch interval, the two-sided Welch p-value Holm-corrected over everything the
call compares, and Hedges' g. Each side must pick exactly one configuration per column
(runs that differ only in their seed): pooling configurations silently is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ganbench.registry import unknown_message
from ganbench.results.aggregate import cell
from ganbench.results.pooling import NOT_SETTINGS
from ganbench.util import stats

# load_results columns that are not labels of a run's configuration
NOT_LABELS = {"suite", "run_id", "seed", "status", "diverged_step", "group"}
COLUMNS = ["metric", "direction", "n_a", "N_a", "n_b", "N_b", "mean_a", "mean_b", "diff",
           "ci_lo", "ci_hi", "p_value", "p_adjusted", "hedges_g", "finding"]


class CompareError(ValueError):
    """A selection that picks no row, or more than one configuration on a side."""


def parse_selection(text: str) -> dict[str, str]:
    """'objective=mine,regularizer=none' -> {'objective': 'mine', 'regularizer': 'none'}."""
    out: dict[str, str] = {}
    for part in str(text).split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CompareError(f"selection {text!r}: expected key=value[,key=value...], "
                               f"got {part!r}")
        out[key.strip()] = value.strip()
    return out


def _labels(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in NOT_LABELS and not c.startswith(NOT_SETTINGS)]


def _show(sel: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sel.items())


def _pick(df: pd.DataFrame, sel: dict[str, str], columns: list[str], side: str,
          pool: Sequence[str] = ()) -> dict[tuple, pd.DataFrame]:
    """The runs of one side in each column key; exactly one configuration each, except in
    the ``pool`` keys, which a side may mix on purpose."""
    labels = _labels(df)
    for k in sel:
        if k not in labels:
            raise CompareError(unknown_message(f"selection {side} key", k, labels))
    mask = np.ones(len(df), dtype=bool)
    for k, v in sel.items():
        mask &= df[k].astype(str).to_numpy() == v
    sub = df[mask]
    if sub.empty:
        hints = "; ".join(f"{k}: {', '.join(sorted(map(str, df[k].dropna().unique())))}"
                          for k in sel)
        raise CompareError(f"selection {side} ({_show(sel)}) matches no run (values: {hints})")
    config = [c for c in labels if c not in columns and c not in pool]
    out: dict[tuple, pd.DataFrame] = {}
    for ck, part in (sub.groupby([*columns], sort=False, dropna=False) if columns
                     else [((), sub)]):
        ck = ck if isinstance(ck, tuple) else (ck,)
        configs = part[config].astype(str).drop_duplicates() if config else part.iloc[:1]
        if len(configs) > 1:
            differ = [c for c in config if configs[c].nunique() > 1]
            shown = "; ".join(", ".join(f"{c}={r[c]}" for c in differ)
                              for _, r in configs.iterrows())
            where = ", ".join(f"{c}={v}" for c, v in zip(columns, ck)) or "the results"
            raise CompareError(
                f"selection {side} ({_show(sel)}) matches {len(configs)} configurations in "
                f"{where}: {shown}; add keys to pick one (e.g. {differ[0]}=...), or pool "
                f"them knowingly (--pool {' '.join(differ)})")
        out[tuple(str(x) for x in ck)] = part
    return out


def _values(part: pd.DataFrame | None, metric: str) -> tuple[np.ndarray, int]:
    """A side's finite values over its done runs (the one aggregation), and its runs."""
    if part is None:
        return np.array([]), 0
    agg, _ = cell(part, len(part), f"metric:{metric}")
    return np.asarray(agg.values, dtype=float), len(part)


def compare(df: pd.DataFrame, a: dict[str, str] | str, b: dict[str, str] | str,
            metrics: Sequence[str] | None = None, columns: Sequence[str] | None = None,
            alpha: float = 0.05, correction: str = "holm",
            direction_of=None, pool: Sequence[str] = ()) -> pd.DataFrame:
    """Tidy comparison of selection ``a`` against ``b`` in ``df`` (``load_results`` of one
    suite). ``columns``: the axes compared separately (default: none, i.e. one column);
    ``metrics``: default every ranked metric with values. ``finding`` is "A better",
    "B better" (by the metric's direction, at ``alpha`` after the correction), "no
    difference shown", or "untested" (fewer than 2 values on a side). ``pool``: settings
    a side may mix (its seeds then come from several configurations)."""
    stats.check_alpha(alpha)
    a = parse_selection(a) if isinstance(a, str) else dict(a)
    b = parse_selection(b) if isinstance(b, str) else dict(b)
    columns = list(columns or [])
    for c in columns:
        if c not in df.columns:
            raise CompareError(unknown_message("column axis", c, _labels(df)))
    for c in pool:
        if c not in _labels(df):
            raise CompareError(unknown_message("--pool key", c, _labels(df)))
    if direction_of is None:
        from ganbench.metrics.registry import direction as direction_of
    available = [c[len("metric:"):] for c in df.columns if c.startswith("metric:")]
    if metrics is None:
        metrics = [m for m in available if direction_of(m) and df[f"metric:{m}"].notna().any()]
    for m in metrics:
        if m not in available:
            raise CompareError(unknown_message("metric", m, available))
    side_a, side_b = _pick(df, a, columns, "A", pool), _pick(df, b, columns, "B", pool)
    if any(side_a.get(k) is not None and side_a[k].index.equals(part.index)
           for k, part in side_b.items()):
        raise CompareError(f"selections A ({_show(a)}) and B ({_show(b)}) pick the same runs")
    rows: list[dict[str, Any]] = []
    for ck in dict.fromkeys([*side_a, *side_b]):
        for m in metrics:
            va, Na = _values(side_a.get(ck), m)
            vb, Nb = _values(side_b.get(ck), m)
            c = stats.compare(va, vb)
            rows.append({**dict(zip(columns, ck)), "metric": m,
                         "direction": direction_of(m), "n_a": c.n_a, "N_a": Na, "n_b": c.n_b,
                         "N_b": Nb, "mean_a": c.mean_a, "mean_b": c.mean_b, "diff": c.diff,
                         "ci_lo": c.ci[0], "ci_hi": c.ci[1], "p_value": c.p_value,
                         "hedges_g": c.hedges_g})
    tested = [i for i, r in enumerate(rows) if math.isfinite(r["p_value"])]
    adjusted = stats.adjust([rows[i]["p_value"] for i in tested], correction)
    for r in rows:
        r["p_adjusted"], r["finding"] = math.nan, "untested"
    for i, p in zip(tested, adjusted):
        r = rows[i]
        r["p_adjusted"] = p
        if p > alpha:
            r["finding"] = "no difference shown"
        elif r["direction"] in ("max", "min"):
            a_up = r["diff"] > 0
            r["finding"] = "A better" if a_up == (r["direction"] == "max") else "B better"
        else:
            r["finding"] = "A higher" if r["diff"] > 0 else "A lower"
    return pd.DataFrame(rows, columns=[*columns, *COLUMNS])


def render(frame: pd.DataFrame, a: str, b: str, columns: Sequence[str], alpha: float,
           correction: str, digits: int = 3, pool: Sequence[str] = ()) -> str:
    """The comparison as a text table with its legend."""
    from ganbench.util import textfmt

    def num(x: float, signed: bool = False) -> str:
        if x is None or not math.isfinite(x):
            return "—" if x is None or math.isnan(x) else ("+inf" if x > 0 else "-inf")
        return f"{x:+.{digits}g}" if signed else f"{x:.{digits}g}"

    head = [*columns, "metric", "A (n/N)", "B (n/N)", "A − B [95% CI]", "p (adj.)",
            "Hedges' g", "finding"]
    body = []
    for r in frame.to_dict("records"):
        body.append([*(str(r[c]) for c in columns), r["metric"],
                     f"{num(r['mean_a'])} ({r['n_a']}/{r['N_a']})",
                     f"{num(r['mean_b'])} ({r['n_b']}/{r['N_b']})",
                     f"{num(r['diff'], True)} [{num(r['ci_lo'], True)}, {num(r['ci_hi'], True)}]",
                     f"{num(r['p_value'])} ({num(r['p_adjusted'])})",
                     num(r["hedges_g"], True), r["finding"]])
    legend = [f"A = {a}; B = {b}",
              "A − B: difference of the means over seeds, with Welch's 95% interval",
              f"p: two-sided Welch test; adj.: {correction} over the {len(frame)} comparisons; "
              f"a finding needs adj. p ≤ {alpha:g}",
              "Hedges' g: the difference in pooled seed standard deviations (small-sample "
              "corrected)",
              "untested: fewer than 2 values on a side"]
    if pool:
        from ganbench.results.pooling import pooled_note

        legend.append(pooled_note(pool).replace("each cell averages", "each side averages"))
    return "\n".join([textfmt.render(head, body), "", *legend]) + "\n"


def compare_results(results_dir, a: dict[str, str] | str, b: dict[str, str] | str,
                    metrics: Sequence[str] | None = None,
                    columns: Sequence[str] | None = None, alpha: float = 0.05,
                    correction: str = "holm", pool: Sequence[str] = ()) -> pd.DataFrame:
    """``compare`` on a suite's results folder: its recorded runs only, and by default the
    columns of its table (``ganbench.compare``)."""
    from ganbench.results import ordered_results, read_suite_record, recorded_runs

    stats.check_alpha(alpha)
    record = read_suite_record(results_dir)
    df, _ = recorded_runs(ordered_results(results_dir), record.get("runs") or None)
    table = record.get("table") or {}
    if columns is None:
        columns = [c for c in table.get("columns") or ["dataset"] if c in df.columns]
    if metrics is None and table.get("metrics"):
        from ganbench.metrics.registry import direction

        metrics = [m for m in table["metrics"] if direction(m)
                   and f"metric:{m}" in df.columns]
    return compare(df, a, b, metrics=metrics, columns=columns, alpha=alpha,
                   correction=correction, pool=pool)


# --- two result sets of one suite (e.g. bf16 against fp32) -----------------------------------

AGREE_COLUMNS = ["metric", "n_a", "n_b", "mean_a", "mean_b", "diff", "ci_lo", "ci_hi",
                 "margin", "p_tost", "p_differ", "verdict"]


def _cells(results_dir, rows: list[str] | None, columns: list[str] | None, metrics: list[str]):
    from ganbench.results import ordered_results, read_suite_record, recorded_runs
    from ganbench.results.claims import table_cells

    record = read_suite_record(results_dir)
    df, _ = recorded_runs(ordered_results(results_dir), record.get("runs") or None)
    if df.empty:
        raise CompareError(f"{results_dir}: no finished runs to compare")
    table = record.get("table") or {}
    rows = [c for c in rows or table.get("rows") or ["objective", "scheme"] if c in df.columns]
    columns = [c for c in columns or table.get("columns") or ["dataset"] if c in df.columns]
    missing = [m for m in metrics if f"metric:{m}" not in df.columns]
    if missing:
        have = [c[len("metric:"):] for c in df.columns if c.startswith("metric:")]
        raise CompareError(f"{results_dir}: " + unknown_message("metric", missing[0], have))
    return table_cells(df, rows, columns, metrics, None), rows, columns


def agreement_results(dir_a, dir_b, margins: dict[str, float], alpha: float = 0.05,
                      correction: str = "holm", rows: Sequence[str] | None = None,
                      columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Per table row, column and metric (those with a margin): do the results in ``dir_a``
    agree with those in ``dir_b`` (``results.claims.agreement``: TOST within the margin)?
    The two folders hold the same suite run two ways (e.g. ``--set
    training.precision=bf16 --results results_bf16`` against the fp32 results)."""
    stats.check_alpha(alpha)
    if not margins:
        raise CompareError("--margin: give each metric's equivalence margin, e.g. modes=1")
    bad = {m: v for m, v in margins.items() if isinstance(v, bool)
           or not isinstance(v, (int, float)) or not 0 < v < math.inf}
    if bad:
        raise CompareError(f"--margin: expected a finite number > 0, got {bad}")
    margins = {m: float(v) for m, v in margins.items()}
    from ganbench.results.claims import agreement

    metrics = list(margins)
    ta, rows_a, cols_a = _cells(dir_a, rows, columns, metrics)
    tb, rows_b, cols_b = _cells(dir_b, rows_a, cols_a, metrics)
    if (rows_a, cols_a) != (rows_b, cols_b):
        raise CompareError(f"{dir_a} and {dir_b} have different table axes: rows {rows_a} / "
                           f"{rows_b}, columns {cols_a} / {cols_b}")
    res = agreement(ta.cells, tb.cells, margins, alpha, correction)
    if not res:
        raise CompareError(f"{dir_a} and {dir_b} share no cell (row, column) to compare")
    out = []
    for (rk, ck, m), g in res.items():
        a, b = ta.cells[(rk, ck, m)], tb.cells[(rk, ck, m)]
        out.append({**dict(zip(rows_a, rk)), **dict(zip(cols_a, ck)), "metric": m,
                    "n_a": f"{len(a.values)}/{a.N}", "n_b": f"{len(b.values)}/{b.N}",
                    "mean_a": float(np.mean(a.values)) if len(a.values) else math.nan,
                    "mean_b": float(np.mean(b.values)) if len(b.values) else math.nan,
                    "diff": g.diff, "ci_lo": g.ci[0], "ci_hi": g.ci[1], "margin": g.margin,
                    "p_tost": g.p_tost, "p_differ": g.p_differ, "verdict": g.verdict})
    return pd.DataFrame(out, columns=[*rows_a, *cols_a, *AGREE_COLUMNS])


def render_agreement(frame: pd.DataFrame, a: str, b: str, alpha: float, correction: str,
                     digits: int = 3) -> str:
    from ganbench.util import textfmt

    def num(x: float, signed: bool = False) -> str:
        if x is None or not math.isfinite(x):
            return "—"
        return f"{x:+.{digits}g}" if signed else f"{x:.{digits}g}"

    keys = [c for c in frame.columns if c not in AGREE_COLUMNS]
    head = [*keys, "metric", "A (n/N)", "B (n/N)", f"A − B [{1 - 2 * alpha:.0%} CI]",
            "margin", "verdict"]
    body = [[*(str(r[c]) for c in keys), r["metric"], f"{num(r['mean_a'])} ({r['n_a']})",
             f"{num(r['mean_b'])} ({r['n_b']})",
             f"{num(r['diff'], True)} [{num(r['ci_lo'], True)}, {num(r['ci_hi'], True)}]",
             num(r["margin"]), r["verdict"]] for r in frame.to_dict("records")]
    counts = frame["verdict"].value_counts().to_dict()
    legend = [f"A = {a}; B = {b}",
              f"agrees: TOST (two one-sided Welch tests) rejects |A − B| ≥ margin at "
              f"{alpha:g} (the interval lies inside ±margin); every cell agreeing is an "
              f"intersection-union test at {alpha:g}",
              f"differs: two-sided Welch, {correction} over the {len(frame) - counts.get('agrees', 0)} "
              f"cells that do not agree; inconclusive: neither; untested: < 2 values a side",
              "verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))]
    return "\n".join([textfmt.render(head, body), "", *legend]) + "\n"
