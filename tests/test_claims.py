"""Claims decided once: top groups and verdicts of a table's cells, what adaptive seeds
would add to, and the per-look level that keeps sequential looks at alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.results.claims import (
    CellSample,
    PublishedCheck,
    decide,
    look_alpha,
    planned_looks,
    undecided,
)
from ganbench.util import stats

DIR = {"modes": "max", "jsd": "min", "step": None}.get


def _cells(values: dict, N: int | None = None):
    return {k: CellSample(np.asarray(v, float), len(v) if N is None else N)
            for k, v in values.items()}


def test_decide_marks_top_groups_and_verdicts():
    rows, cols = [("a",), ("b",), ("c",)], [("ring",)]
    cells = _cells({(("a",), ("ring",), "modes"): [8, 8, 7.9],
                    (("b",), ("ring",), "modes"): [2, 2.5, 1.5],
                    (("c",), ("ring",), "modes"): [7, 8, 6]})
    pub = {(("b",), ("ring",), "modes"): [PublishedCheck(0, stats.PublishedValue(2.0), 1.0)]}
    cl = decide(cells, rows, cols, ["modes", "step"], DIR, pub)
    top = {k[0][0]: m.top for k, m in cl.membership.items()}
    assert top == {"a": True, "b": False, "c": True}
    (pc, v), = cl.verdicts[(("b",), ("ring",), "modes")]
    assert v.verdict == "agrees"
    left = undecided(cells, cl)
    assert list(left) == [(("c",), ("ring",))]  # c: in the group, not separated


def test_incomplete_and_stuck_cells():
    k = (("a",), ("ring",), "modes")
    cells = {k: CellSample(np.array([1.0, 2.0]), 3, diverged=1),
             (("b",), ("ring",), "modes"): CellSample(np.array([5.0, 6.0, 5.5]), 3)}
    cl = decide(cells, [("a",), ("b",)], [("ring",)], ["modes"], DIR,
                {k: [PublishedCheck(0, stats.PublishedValue(1.0), 0.5)]})
    assert cl.membership[k].top is None
    assert cl.verdicts[k][0][1].verdict == "inconclusive"
    assert undecided(cells, cl) == {}   # a diverged seed: more seeds cannot complete it


def test_look_alpha_and_planned_looks():
    assert planned_looks(3, 10, 2) == 5       # after 3, 5, 7, 9 and 10 seeds
    assert planned_looks(3, 3, 2) == 1
    assert look_alpha(0.05, 5) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        look_alpha(1.5, 2)


def _adaptive_false_exclusion(level: float, reps: int, rng) -> float:
    """Simulate adaptive seeds on a column of three truly equal cells: look after 3, 5, 7,
    9, 10 seeds, stop once every cell is decided; count cell 0 ever shown worse."""
    hits = 0
    for _ in range(reps):
        data = rng.normal(0.0, 1.0, (3, 10))
        n = [3, 3, 3]
        excluded = False
        for _look in range(planned_looks(3, 10, 2)):
            cells = _cells({((f"r{i}",), ("c",), "modes"): data[i, :n[i]] for i in range(3)})
            cl = decide(cells, [(f"r{i}",) for i in range(3)], [("c",)], ["modes"], DIR,
                        alpha=level)
            if cl.membership[(("r0",), ("c",), "modes")].top is False:
                excluded = True
                break
            left = undecided(cells, cl)
            if not left:
                break
            for (rk, _ck) in left:
                i = int(rk[0][1:])
                n[i] = min(10, n[i] + 2)
        hits += excluded
    return hits / reps


def test_adaptive_seeds_keep_the_false_exclusion_rate_at_alpha():
    rng = np.random.default_rng(5)
    reps = 600
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    assert _adaptive_false_exclusion(look_alpha(0.05, planned_looks(3, 10, 2)), reps,
                                     rng) <= bound
    # testing every look at the nominal level inflates it
    assert _adaptive_false_exclusion(0.05, reps, np.random.default_rng(5)) > 0.05
