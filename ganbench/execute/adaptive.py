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
from dataclasses import asdict, dataclass, field
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
