"""Adaptive seeds: train the minimum, then add seeds in rounds only where a claim of the
table is still undecided, until every claim is decided or the maximum is reached.

The loop is deterministic: which points get seeds depends only on the results on disk, so
a run stopped mid-round and started again walks the same rounds (finished runs are
skipped) and adds the same seeds. Each round's new runs go to the executor together, so
new seeds of several rows train as one ensemble. The decisions themselves come from
``results.claims`` (through ``undecided``), at the per-look level that keeps sequential
looks at the suite's alpha.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

STOP_DECIDED = "every claim decided"
STOP_MAX = "maximum seeds reached"


@dataclass
class Round:
    look: int
    seeds: int                                # the most seeds any point has in this look
    runs: int                                 # runs in the suite at this look
    undecided: dict[str, list[str]] = field(default_factory=dict)  # cell -> why
    added: list[str] = field(default_factory=list)  # points given more seeds after it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AdaptiveResult:
    rounds: list[Round]
    stop: str
    seeds: dict[str, int]                     # point -> seeds at the end
    outputs: list[dict[str, Any]] = field(default_factory=list)  # each look's executor output

    def to_dict(self) -> dict[str, Any]:
        return {"rounds": [r.to_dict() for r in self.rounds], "stop": self.stop,
                "seeds": dict(self.seeds)}

    def total(self) -> dict[str, Any]:
        """The executor's counts summed over the looks (runs: those of the last look)."""
        out: dict[str, Any] = {}
        for o in self.outputs:
            for k, v in o.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out[k] = out.get(k, 0) + v
                elif isinstance(v, list):  # e.g. the errors runs failed with
                    out[k] = out.get(k, []) + v
        if self.outputs:
            last = self.outputs[-1]
            out["runs"] = last.get("runs", 0)
            # a look re-counts the runs earlier looks finished: only new work is summed
            out["skipped"] = last.get("runs", 0) - sum(
                o.get("done", 0) + o.get("diverged", 0) + o.get("failed", 0)
                for o in self.outputs)
        return out

    def lines(self) -> list[str]:
        out = []
        for r in self.rounds:
            left = len(r.undecided)
            out.append(f"look {r.look + 1}: up to {r.seeds} seeds, {r.runs} runs; "
                       f"{left} cell{'s' if left != 1 else ''} undecided"
                       + (f"; seeds added to {len(r.added)} point(s)" if r.added else ""))
        out.append(f"stopped: {self.stop}")
        return out


def run_adaptive(points: list[str], minimum: int, maximum: int, step: int,
                 train: Callable[[dict[str, int]], dict[str, Any]],
                 undecided: Callable[[dict[str, int]], dict[str, tuple[list[str], list[str]]]],
                 ) -> AdaptiveResult:
    """``points``: the suite's run points (configurations without the seed), in grid
    order. ``train(seeds)`` trains every point with its first ``seeds[point]`` seeds and
    returns the executor's output; ``undecided(seeds)`` reads the results and returns
    {cell label: (why, the points in that cell)} for the claims still undecided."""
    if not 2 <= minimum <= maximum or step < 1:
        raise ValueError(f"adaptive seeds: expected 2 <= min <= max and step >= 1, got "
                         f"min {minimum}, max {maximum}, step {step}")
    seeds = {p: minimum for p in points}
    rounds: list[Round] = []
    outputs = []
    look = 0
    while True:
        outputs.append(train(dict(seeds)))
        left = undecided(dict(seeds))
        r = Round(look, max(seeds.values(), default=0), sum(seeds.values()),
                  {cell: list(why) for cell, (why, _) in left.items()})
        rounds.append(r)
        if not left:
            return AdaptiveResult(rounds, STOP_DECIDED, seeds, outputs)
        grow = [p for p in points
                if any(p in pts for _, pts in left.values()) and seeds[p] < maximum]
        if not grow:
            return AdaptiveResult(rounds, STOP_MAX, seeds, outputs)
        for p in grow:
            seeds[p] = min(maximum, seeds[p] + step)
        r.added = grow
        look += 1


# --- a suite with adaptive seeds ---------------------------------------------------------------


def points_of(suite: Any) -> dict[str, list[Any]]:
    """The suite's run points (configurations without the seed) in grid order, each with
    its candidate runs in seed order (``suite.pool``)."""
    out: dict[str, list[Any]] = {}
    for r in suite.pool:
        out.setdefault(r.group_key(), []).append(r)
    for runs in out.values():
        runs.sort(key=lambda r: r.seed)
    return out


def undecided_cells(results_dir: Path, suite: Any, runs: list[Any]
                    ) -> dict[str, tuple[list[str], list[str]]]:
    """{cell label: (why, its points)} for the claims of the suite's table that are still
    undecided on the results of ``runs``, tested at the suite's per-look level."""
    from ganbench.metrics.registry import direction
    from ganbench.results import claims, load_results
    from ganbench.suite.reference import blocks, normalise

    try:
        df = load_results(results_dir)
    except FileNotFoundError:  # nothing finished (every run failed): nothing to decide
        return {}
    df = df[df["run_id"].isin({r.run_id for r in runs})]
    t = suite.table
    labels = set(runs[0].labels) if runs else set()
    rows = [a for a in t.rows if a in labels]
    columns = [a for a in t.columns if a in labels]
    metrics = list(t.metrics or [])
    if not metrics:
        metrics = [c[len("metric:"):] for c in df.columns
                   if c.startswith("metric:") and direction(c[len("metric:"):])]
    expected = [{"run_id": r.run_id, "labels": r.labels} for r in runs]
    tc = claims.table_cells(df, rows, columns, metrics, expected)
    refs = [normalise(b) for _, b in blocks(suite.spec.reference, suite.spec.references)]
    pubs, _ = claims.published_checks(refs, rows, columns, tc)
    alpha, _ = claims.table_alpha(suite.spec.model_dump(mode="json"), t.alpha)
    decided = claims.decide(tc.cells, tc.row_keys, tc.col_keys, metrics, direction, pubs,
                            alpha, t.correction)
    where: dict[tuple, list[str]] = {}
    for r in runs:
        key = (tuple(str(r.labels.get(a, "")) for a in rows),
               tuple(str(r.labels.get(a, "")) for a in columns))
        where.setdefault(key, [])
        if r.group_key() not in where[key]:
            where[key].append(r.group_key())
    out = {}
    for (rk, ck), why in claims.undecided(tc.cells, decided).items():
        label = " / ".join([*rk, *ck])
        out[label] = (why, where.get((rk, ck), []))
    return out


def run_adaptive_suite(suite: Any, root: Path, run: Callable[..., dict[str, Any]],
                       **run_kwargs: Any) -> AdaptiveResult:
    """Train ``suite`` (with ``seeds:``) look by look through ``run`` (``run_suite``),
    recording each round in its suite record."""
    from ganbench.results import write_suite_record

    cfg = suite.spec.seeds
    pts = points_of(suite)
    order = list(pts)

    def runs_of(seeds: dict[str, int]) -> list[Any]:
        return [r for p in order for r in pts[p][:seeds[p]]]

    def train(seeds: dict[str, int]) -> dict[str, Any]:
        # the record says the rounds are in progress until the last look is decided
        return run(replace(suite, runs=runs_of(seeds), adaptive={"stop": None}), root,
                   **run_kwargs)

    def undecided(seeds: dict[str, int]):
        return undecided_cells(Path(root) / suite.name, suite, runs_of(seeds))

    res = run_adaptive(order, cfg.min, cfg.max, cfg.step, train, undecided)
    write_suite_record(replace(suite, runs=runs_of(res.seeds), adaptive=res.to_dict()), root)
    return res
