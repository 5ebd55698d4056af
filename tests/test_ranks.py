"""The rank table: mean ranks, Friedman, Nemenyi cliques, and the CD diagram."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ganbench.report.ranks import cd_diagram, rank_table


def test_ranks_follow_the_direction_of_each_block():
    rows = ["a", "b", "c"]
    blocks = ["ring / modes", "ring / jsd", "grid / modes", "grid / jsd"]
    means = np.array([[8, 0.1, 25, 0.2],     # best everywhere
                      [6, 0.2, 20, 0.3],
                      [2, 0.4, 10, 0.5]], dtype=float)
    t = rank_table(rows, blocks, means, ["max", "min", "max", "min"])
    assert t.mean_rank == [1.0, 2.0, 3.0]
    assert t.result.statistic == pytest.approx(8.0)
    assert t.result.p_value == pytest.approx(sps.chi2.sf(8.0, 2))


def test_incomplete_rows_and_blocks_are_left_out():
    nan = math.nan
    means = np.array([[1, 2, 3], [2, 3, nan], [3, 1, 2], [nan, nan, nan]], dtype=float)
    t = rank_table(["a", "b", "c", "d"], ["x", "y", "z"], means, ["max"] * 3)
    assert t.dropped == ["d"] and t.blocks == ["x", "y"]
    assert "left out" in "\n".join(t.lines())


def test_friedman_rejection_rate_under_the_null_is_at_most_alpha():
    rng = np.random.default_rng(3)
    reps, hits = 1000, 0
    for _ in range(reps):
        t = rank_table([f"r{i}" for i in range(4)], [f"b{j}" for j in range(12)],
                       rng.normal(size=(4, 12)), ["max"] * 12)
        hits += t.result.p_value <= 0.05
    assert hits / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


def test_cliques_join_rows_within_the_critical_difference(tmp_path):
    rng = np.random.default_rng(0)
    base = np.array([0.0, 0.05, 3.0, 3.05, 6.0])[:, None]
    means = base + rng.normal(0, 0.2, (5, 30))
    t = rank_table(list("abcde"), [f"b{j}" for j in range(30)], means, ["max"] * 30)
    assert t.result.p_value < 0.05
    order = sorted(range(5), key=lambda i: t.mean_rank[i])
    assert [t.rows[i] for i in order][0] == "e"
    groups = [{t.rows[order[i]] for i in range(a, b + 1)} for a, b in t.cliques()]
    assert {"a", "b"} in groups or any({"a", "b"} <= g for g in groups)
    assert not any({"a", "e"} <= g for g in groups)
    import matplotlib

    matplotlib.use("Agg")
    ax = cd_diagram(t)
    ax.figure.savefig(tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 1000
