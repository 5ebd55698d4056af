"""The one aggregation over seeds: the finite values of a cell's finished runs, their mean
and spread, and the counts that say how complete a cell is. Tables, baselines, the check
and reports all aggregate through here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Aggregate:
    """Finite values over seeds: ``n`` of them, their mean (None without any) and sample
    standard deviation (ddof 1; 0.0 for a single value, None without any)."""

    n: int
    mean: float | None
    std: float | None
    values: tuple[float, ...]


def aggregate(values: Iterable[float]) -> Aggregate:
    """Mean and spread of the finite ``values`` (NaN and infinities, which mean no value,
    are left out)."""
    vals = np.asarray(list(values), dtype=float)
    ok = vals[np.isfinite(vals)]
    n = len(ok)
    return Aggregate(n=n, mean=float(ok.mean()) if n else None,
                     std=(float(ok.std(ddof=1)) if n > 1 else 0.0) if n else None,
                     values=tuple(float(v) for v in ok))


@dataclass(frozen=True)
class CellCounts:
    """How complete one cell is: ``N`` runs expected, ``n`` with a finite value; the
    others diverged, failed, missing (not finished) or finished with no value."""

    n: int
    N: int
    diverged: int
    failed: int
    missing: int
    no_value: int


def cell_runs(df: pd.DataFrame, rows: list[str], columns: list[str]
              ) -> dict[tuple[tuple, tuple], pd.DataFrame]:
    """(row key, column key) -> the rows of ``df`` (runs) in that cell."""
    at: dict[tuple, list[int]] = {}
    for i, r in enumerate(df[[*rows, *columns]].itertuples(index=False)):
        at.setdefault((tuple(r[:len(rows)]), tuple(r[len(rows):])), []).append(i)
    return {key: df.iloc[positions] for key, positions in at.items()}


def cell(runs: pd.DataFrame, N: int, column: str) -> tuple[Aggregate, CellCounts]:
    """The aggregate of ``column`` over a cell's done runs, and the cell's counts."""
    done = runs[runs["status"] == "done"]
    agg = aggregate(done[column].to_numpy(dtype=float)) if column in done else aggregate([])
    counts = CellCounts(n=agg.n, N=N, diverged=int((runs["status"] == "diverged").sum()),
                        failed=int((runs["status"] == "failed").sum()),
                        missing=max(0, N - len(runs)), no_value=len(done) - agg.n)
    return agg, counts
