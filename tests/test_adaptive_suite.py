"""Adaptive seeds end to end: a suite with ``seeds:`` (or ``--until-resolved``) grows only
its undecided cells, records its rounds, resumes to the same seeds, keeps run ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganbench.cli.main import main
from ganbench.suite import load_suite

ROOT = Path(__file__).parents[1]

SUITE = """\
description: adaptive seeds on two objectives, a few dozen steps
base:
  model: {name: mlp, latent_dim: 4, width: 16, depth: 2}
  training: {iterations: 40, batch_size: 64}
  evaluation: {every: 40, samples: 300, metrics: [wasserstein, mmd]}
grid:
  objective: [minimax, nonsaturating, lsgan]
seeds: {min: 2, max: 6, step: 2}
table: {rows: [objective], columns: [dataset], metrics: [wasserstein, mmd]}
"""


def _write(tmp_path: Path, text: str = SUITE) -> Path:
    p = tmp_path / "adaptive.yaml"
    p.write_text(text)
    return p


def test_rounds_grow_only_undecided_cells_and_resume_to_the_same_seeds(tmp_path, capsys):
    suite, res = _write(tmp_path), tmp_path / "res"
    assert main(["run", str(suite), "--results", str(res), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "adaptive seeds:" in out and "stopped:" in out
    record = json.loads((res / "adaptive" / "suite.json").read_text())
    ad = record["adaptive"]
    assert ad["stop"] in ("every claim decided", "maximum seeds reached")
    seeds = ad["seeds"]
    assert all(2 <= n <= 6 for n in seeds.values())
    assert len(record["runs"]) == sum(seeds.values())
    # only points of undecided cells were given seeds, and each round says why
    for r in ad["rounds"]:
        if r["added"]:
            assert r["undecided"]
    if ad["stop"] == "every claim decided":
        assert ad["rounds"][-1]["undecided"] == {}
    folders = {p.name for p in (res / "adaptive").iterdir() if p.is_dir()}
    assert set(record["runs"]) <= folders

    # the same results give the same rounds: nothing is trained again
    assert main(["run", str(suite), "--results", str(res), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 done" in out
    again = json.loads((res / "adaptive" / "suite.json").read_text())
    assert again["adaptive"] == ad and again["runs"] == record["runs"]


def test_adaptive_run_ids_are_those_of_a_seed_axis(tmp_path):
    grid = _write(tmp_path, SUITE.replace("seeds: {min: 2, max: 6, step: 2}\n", "")
                  .replace("lsgan]", "lsgan]\n  seed: [0, 1]"))
    adaptive = load_suite(_write(tmp_path))
    plain = load_suite(grid)
    assert sorted(r.run_id for r in plain.runs) == sorted(r.run_id for r in adaptive.runs)
    assert len(adaptive.pool) == 3 * 6
    resolved = load_suite(grid, until_resolved=True, max_seeds=5)
    assert [r.run_id for r in resolved.runs] == [r.run_id for r in plain.runs]
    assert resolved.spec.seeds.max == 5 and len(resolved.pool) == 15


def test_dry_run_shows_the_cost_range(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path)), "--dry-run", "--results",
                 str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "adaptive seeds: 2 to 6 per cell" in out and "at least 6 runs, at most 18" in out
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("edit, args, words", [
    (("seeds: {min: 2, max: 6, step: 2}", "seeds: {min: 5, max: 3}"), [], "seeds.max"),
    (("seeds: {min: 2, max: 6, step: 2}", "seeds: {min: 1, max: 3}"), [], "seeds.min"),
    (("lsgan]", "lsgan]\n  seed: [0, 1]"), [], "grid.seed"),
    (("seeds: {min: 2, max: 6, step: 2}\n", ""), ["--until-resolved"], "grid.seed axis"),
    (("seeds: {min: 2, max: 6, step: 2}\n", ""), ["--max-seeds", "1"], "--max-seeds"),
])
def test_bad_adaptive_input_exits_2_and_writes_nothing(tmp_path, capsys, edit, args, words):
    suite = _write(tmp_path, SUITE.replace(*edit))
    res = tmp_path / "res"
    try:  # argparse's bounds exit through SystemExit, the suite's checks return
        code = main(["run", str(suite), "--results", str(res), *args])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert words in capsys.readouterr().err
    assert not res.exists()
