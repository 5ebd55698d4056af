"""What a table claims, decided once: the top group of each column and metric, the verdict
of each published value, and which cells are still undecided (what adaptive seeds add to).

Tables print these decisions; adaptive seeds act on them; neither decides anything itself.
Inputs are cells keyed (row key, column key, metric), each with the finite values of its
finished runs and N, the runs the suite plans there.

Sequential looks: when seeds are added until the claims are decided, every look tests
again, and testing until significant inflates the error rate. An adaptive suite therefore
tests at ``alpha / looks`` (Bonferroni over the planned looks), which keeps each claim's
error at most ``alpha`` whenever it stops (``look_alpha``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganbench.util import stats

Key = tuple[tuple, tuple, str]   # (row key, column key, metric)


@dataclass
class CellSample:
    values: np.ndarray            # finite values of the finished (done) runs
    N: int                        # runs planned at this cell
    diverged: int = 0
    failed: int = 0

    @property
    def complete(self) -> bool:
        return self.N > 0 and len(self.values) == self.N

    @property
    def stuck(self) -> bool:
        """Incomplete for good: a seed diverged or failed (more seeds cannot complete it)."""
        return self.diverged + self.failed > 0


@dataclass(frozen=True)
class PublishedCheck:
    """One published value on a cell, with what its block says about it."""

    block: int
    value: stats.PublishedValue
    margin: float | None
    shown: object = None          # the block's own form of the value (for printing)


@dataclass
class Claims:
    membership: dict[Key, stats.Membership] = field(default_factory=dict)
    verdicts: dict[Key, list[tuple[PublishedCheck, stats.Verdict]]] = field(default_factory=dict)
    alpha: float = 0.05           # the level each test ran at (after any look split)


def look_alpha(alpha: float, looks: int = 1) -> float:
    """The per-look level that keeps a claim's error at most ``alpha`` over ``looks``."""
    stats.check_alpha(alpha)
    return alpha / max(1, int(looks))


def planned_looks(minimum: int, maximum: int, step: int) -> int:
    """Looks of an adaptive suite: after the minimum, then after each round of ``step``."""
    return 1 + math.ceil(max(0, maximum - minimum) / max(1, step))


def decide(cells: Mapping[Key, CellSample], row_keys: Sequence[tuple],
           col_keys: Sequence[tuple], metrics: Sequence[str],
           direction_of: Callable[[str], str | None],
           published: Mapping[Key, list[PublishedCheck]] | None = None,
           alpha: float = 0.05, correction: str = "holm") -> Claims:
    """Top groups and verdicts of a table's cells at level ``alpha``."""
    out = Claims(alpha=stats.check_alpha(alpha))
    for ck in col_keys:
        for m in metrics:
            direction = direction_of(m)
            keys = [(rk, ck, m) for rk in row_keys if (rk, ck, m) in cells]
            if direction not in ("max", "min") or len(keys) < 2:
                continue
            samples = [cells[k].values if cells[k].complete else None for k in keys]
            for k, mem in zip(keys, stats.top_group(samples, direction, alpha, correction)):
                out.membership[k] = mem
    for k, checks in (published or {}).items():
        c = cells.get(k)
        res = []
        for pc in checks:
            if c is None or not c.complete:
                v = stats.Verdict("inconclusive", math.nan, (math.nan, math.nan), math.nan,
                                  None, "seeds missing, diverged or failed")
            else:
                v = stats.verdict(c.values, pc.value, pc.margin, alpha)
            res.append((pc, v))
        out.verdicts[k] = res
    return out


def undecided(cells: Mapping[Key, CellSample], claims: Claims) -> dict[tuple, list[str]]:
    """The (row key, column key) points whose claims more seeds could still decide, with
    why. A cell is decided when it is the best of its column, tied with the best (equal
    values), shown worse than the best, or stuck (a seed diverged or failed); a verdict is
    decided unless inconclusive with a finite number of seeds that would resolve it."""
    out: dict[tuple, list[str]] = {}
    for (rk, ck, m), mem in claims.membership.items():
        c = cells[(rk, ck, m)]
        if c.stuck:
            continue
        if mem.top is None and c.N > 0:
            if len(c.values) < 2 and c.N == len(c.values):
                out.setdefault((rk, ck), []).append(f"{m}: fewer than 2 values")
            continue
        if mem.top and not mem.decided:
            out.setdefault((rk, ck), []).append(f"{m}: in the top group, not separated "
                                                f"(p={mem.p:.2g})")
    for (rk, ck, m), res in claims.verdicts.items():
        c = cells.get((rk, ck, m))
        if c is None or c.stuck:
            continue
        for pc, v in res:
            if v.verdict == "inconclusive" and v.seeds_needed:
                out.setdefault((rk, ck), []).append(
                    f"{m} vs published [{pc.block + 1}]: inconclusive (~{v.seeds_needed} seeds)")
    return out


# --- from results on disk ----------------------------------------------------------------------


@dataclass
class TableCells:
    """A table's cells as the aggregation over seeds gives them."""

    row_keys: list[tuple]
    col_keys: list[tuple]
    cells: dict[Key, CellSample]
    counts: dict[Key, Any]            # aggregate.CellCounts per cell
    aggregates: dict[Key, Any]        # aggregate.Aggregate per cell
    points: list[dict[str, str]]      # each expected run's labels over rows + columns
    runs: dict[tuple, Any] = field(default_factory=dict)  # (row key, column key) -> its runs


def table_cells(df, rows: list[str], columns: list[str], metrics: list[str],
                expected: list[dict[str, Any]] | None) -> TableCells:
    """Cells (row key, column key, metric) of ``df`` (``load_results``; its label columns
    are compared as text). ``expected``: the suite's runs ({run_id, labels}) so that N counts unfinished
    ones; without it N counts the runs found."""
    from ganbench.results.aggregate import cell, cell_runs

    axes = [*rows, *columns]
    df = df.astype({a: str for a in axes})  # labels as the suite writes them: "0.001", "none"
    if expected is not None:
        points = [{a: str((e.get("labels") or {}).get(a, "")) for a in axes} for e in expected]
    else:
        points = df[axes].to_dict("records")
    row_keys = list(dict.fromkeys(tuple(p[a] for a in rows) for p in points))
    col_keys = list(dict.fromkeys(tuple(p[a] for a in columns) for p in points))
    n_expected: dict[tuple, int] = {}
    for p in points:
        key = (tuple(p[a] for a in rows), tuple(p[a] for a in columns))
        n_expected[key] = n_expected.get(key, 0) + 1
    by_cell = cell_runs(df, rows, columns)
    empty = df.iloc[0:0]
    cells, counts, aggs = {}, {}, {}
    for rk in row_keys:
        for ck in col_keys:
            N = n_expected.get((rk, ck), 0)
            if not N:
                continue
            runs = by_cell.get((rk, ck), empty)
            for m in metrics:
                agg, cnt = cell(runs, N, f"metric:{m}")
                k = (rk, ck, m)
                aggs[k], counts[k] = agg, cnt
                cells[k] = CellSample(np.asarray(agg.values, dtype=float), N, cnt.diverged,
                                      cnt.failed)
    return TableCells(row_keys, col_keys, cells, counts, aggs, points, by_cell)


def published_checks(refs: list[dict[str, Any]], rows: list[str], columns: list[str],
                     tc: TableCells) -> tuple[dict[Key, list[PublishedCheck]], int]:
    """The published values of ``refs`` (``reference.normalise`` form) on the table's
    cells, with each block's spread, runs and margins; and how many are not shown (their
    cell or metric is not in this table)."""
    from ganbench.suite.reference import place

    keys = [(rk, ck) for rk in tc.row_keys for ck in tc.col_keys]
    placed, _, hidden = place(refs, rows, columns,
                              [(dict(zip(rows, rk)), dict(zip(columns, ck))) for rk, ck in keys])
    metrics = {m for (_, _, m) in tc.cells}
    out: dict[Key, list[PublishedCheck]] = {}
    for (i, m), values in placed.items():
        if m not in metrics:
            hidden += len(values)
            continue
        rk, ck = keys[i]
        for b, p in values:
            block = refs[b]
            value = stats.published_value(p.mean, p.pm, block["spread"], block.get("runs"),
                                          p.below, p.above, p.tol)
            out.setdefault((rk, ck, m), []).append(
                PublishedCheck(b, value, (block.get("margins") or {}).get(m), p))
    return out, hidden


def table_alpha(spec: dict[str, Any] | None, alpha: float) -> tuple[float, int]:
    """The level each test runs at for a suite (its recorded spec), and the looks it is
    split over: adaptive seeds split ``alpha`` over their planned looks."""
    seeds = (spec or {}).get("seeds")
    if not isinstance(seeds, dict):
        return stats.check_alpha(alpha), 1
    looks = planned_looks(int(seeds.get("min", 3)), int(seeds.get("max", 10)),
                          int(seeds.get("step", 2)))
    return look_alpha(alpha, looks), looks


# --- two result sets of one suite (e.g. bf16 against fp32) -----------------------------------


@dataclass(frozen=True)
class Agreement:
    """Whether two result sets agree on one cell: TOST within ``margin`` (agrees), else a
    two-sided Welch test corrected over the cells that do not agree (differs), else
    inconclusive; untested with fewer than 2 values on a side."""

    verdict: str
    diff: float                   # mean of A - mean of B
    ci: tuple[float, float]       # 1 - 2 alpha interval of diff (TOST's)
    p_tost: float
    p_differ: float               # after the correction
    margin: float


def agreement(cells_a: Mapping[Key, CellSample], cells_b: Mapping[Key, CellSample],
              margins: Mapping[str, float], alpha: float = 0.05, correction: str = "holm"
              ) -> dict[Key, Agreement]:
    """Each cell both sets hold, for the metrics with a margin: B's values stand as the
    reference (its mean with its standard error and n - 1 degrees of freedom), so the
    verdict is a two-sample Welch TOST (``stats.verdict``). "Every cell agrees" is an
    intersection-union test and needs no correction at ``alpha``; "differs" claims are
    corrected over the cells tested for it."""
    stats.check_alpha(alpha)
    tested: dict[Key, tuple[stats.Verdict, stats.Welch] | None] = {}
    for k in cells_a:
        if k not in cells_b or k[2] not in margins:
            continue
        a, b = cells_a[k].values, cells_b[k].values
        if len(a) < 2 or len(b) < 2:
            tested[k] = None
            continue
        ref = stats.PublishedValue(mean=float(np.mean(b)),
                                   se=float(np.std(b, ddof=1) / math.sqrt(len(b))),
                                   df=float(len(b) - 1))
        tested[k] = (stats.verdict(a, ref, margins[k[2]], alpha, resolve=False),
                     stats.welch(a, b))
    rest = [k for k, t in tested.items() if t is not None and t[0].verdict != "agrees"]
    adjusted = dict(zip(rest, stats.adjust([tested[k][1].p("two-sided") for k in rest],
                                           correction)))
    out: dict[Key, Agreement] = {}
    for k, t in tested.items():
        m = float(margins[k[2]])
        if t is None:
            out[k] = Agreement("untested", math.nan, (math.nan, math.nan), math.nan, math.nan, m)
            continue
        v, w = t
        p_differ = adjusted.get(k, math.nan)
        verdict = "agrees" if v.verdict == "agrees" else \
            "differs" if p_differ <= alpha else "inconclusive"
        out[k] = Agreement(verdict, w.diff, w.interval(1 - 2 * alpha),
                           v.p_value if v.verdict == "agrees" else math.nan, p_differ, m)
    return out
