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


def _folder(tmp_path):
    from ganbench.results import RunDir, write_suite_record
    from ganbench.suite import parse_suite

    raw = {"name": "rk",
           "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
                    "training": {"iterations": 20, "batch_size": 32},
                    "evaluation": {"every": 20, "samples": 200,
                                   "metrics": ["modes", "hq_fraction"]}},
           "grid": {"dataset": ["ring", "grid"],
                    "objective": ["hinge", "nonsaturating", "minimax"], "seed": [0, 1]},
           "table": {"rows": ["objective"], "columns": ["dataset"],
                     "metrics": ["modes", "hq_fraction"]}}
    s = parse_suite(raw)
    write_suite_record(s, tmp_path)
    level = {"hinge": 2.0, "nonsaturating": 1.0, "minimax": 0.0}
    for r in s.runs:
        d = RunDir(tmp_path, r.suite, r.run_id)
        d.write_spec(r.to_dict())
        x = level[r.labels["objective"]] + 0.01 * r.seed
        d.write_summary({"status": "done", "metrics": {"modes": 4 + x, "hq_fraction": 0.2 * x}})
    return tmp_path / "rk"


def test_table_ranks_and_the_report_diagram(tmp_path, capsys):
    from ganbench.cli.main import main
    from ganbench.report.page.content import collect

    folder = _folder(tmp_path)
    assert main(["table", str(folder), "--ranks"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "mean rank over 4 ranked cells (1 = best):"
    assert [x.split()[0] for x in lines[1:4]] == ["hinge", "nonsaturating", "minimax"]
    assert "Friedman chi2 = 8" in out and "Nemenyi critical difference" in out
    keys = [f.key for f in collect(folder).figures]
    assert "ranks" in keys
