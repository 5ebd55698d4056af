"""The notebook API: ganbench.load_results, load_history, evaluate, and the README example."""

import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from quick_smoke import quick_smoke

import ganbench
from ganbench.execute import run_suite
from ganbench.results import RunDir
from ganbench.results.load import _keys
from ganbench.suite import load_suite

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """results/smoke of the smoke suite at a test's budget (6 runs), plus a failed run and
    one still training."""
    root = tmp_path_factory.mktemp("api") / "results"
    smoke = quick_smoke(root.parent / "suites")
    s = load_suite(smoke)
    run_suite(s, root, device="cpu", progress="off")
    failed = load_suite(smoke, ["grid.seed=[7]"]).runs[0]
    d = RunDir(root, "smoke", failed.run_id)
    d.write_spec(failed.to_dict())
    d.write_summary({"status": "failed", "error": "boom", "metrics": {}})
    going = load_suite(smoke, ["grid.seed=[8]"]).runs[0]
    d = RunDir(root, "smoke", going.run_id)
    d.write_spec(going.to_dict())
    d.write_metrics([{"step": 30, "wall_s": 0.5, "d_loss": 1.0, "modes": 3.0}])
    return root, s


def test_load_results_is_tidy(results):
    root, s = results
    df = ganbench.load_results(root / "smoke")
    assert list(df.columns[:2]) == ["suite", "run_id"]
    assert {"dataset", "objective", "seed", "scheme", "status", "metric", "value"} <= set(df.columns)
    assert df["seed"].dtype.kind == "i" and df["value"].dtype == float
    done = df[df.status == "done"]
    assert set(done.run_id) == {r.run_id for r in s.runs}
    # one row per run and metric entry
    entries = set(done.metric)
    assert {"modes", "hq_fraction", "mode_kl"} <= entries
    assert len(done) == len(s.runs) * len(entries)
    summary = RunDir(root, "smoke", s.runs[0].run_id).read_summary()["metrics"]
    row = done[(done.run_id == s.runs[0].run_id) & (done.metric == "modes")]
    assert row.value.item() == summary["modes"]
    # a failed run is one row without a metric; a run still training is not a result
    failed = df[df.status == "failed"]
    assert len(failed) == 1 and failed.metric.isna().all() and failed.seed.item() == 7
    assert 8 not in set(df.seed)


def test_kind_tells_scores_from_helpers_and_losses(results):
    from ganbench.metrics.registry import entry_kind

    root, _ = results
    df = ganbench.load_results(root / "smoke")
    done = df[df.status == "done"]
    assert list(df.columns[-3:]) == ["metric", "kind", "value"]
    assert set(done.kind) == {"score"}  # modes, modes_thresholded, hq_fraction, mode_kl
    assert df[df.status == "failed"].kind.isna().all()
    h = ganbench.load_history(root)
    assert set(h[h.metric.isin(["d_loss", "g_loss"])].kind) == {"other"}
    assert set(h[h.metric == "modes"].kind) == {"score"}
    # what the classifier JSD reports beside its estimate is not a score
    assert [entry_kind(k) for k in ("jsd_classifier", "jsd_classifier_n",
                                     "jsd_classifier_seconds", "jsd_classifier_ci_low")] == \
        ["score", "helper", "helper", "helper"]


def test_load_history_has_every_evaluation(results):
    root, s = results
    h = ganbench.load_history(root)
    mine = h[h.run_id == s.runs[0].run_id]
    assert sorted(set(mine.step)) == [30, 60]
    assert {"d_loss", "g_loss", "modes"} <= set(mine.metric)
    assert (mine.status == "done").all()
    going = h[h.seed == 8]
    assert set(going.status) == {"unfinished"} and set(going.metric) == {"d_loss", "modes"}


def test_grid_keys_keep_numbers():
    spec = {"suite": "s", "run_id": "x",
            "labels": {"optimizer.lr_d": "0.001", "objective": "lsgan(a=0)", "seed": "3"},
            "config": {"optimizer": {"lr_d": 0.001}, "objective": {"name": "lsgan"}, "seed": 3}}
    assert _keys(spec) == {"suite": "s", "run_id": "x", "optimizer.lr_d": 0.001,
                           "objective": "lsgan(a=0)", "seed": 3}


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results folder"):
        ganbench.load_results(tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="no finished runs"):
        ganbench.load_results(tmp_path)


def test_evaluate_takes_arrays_tensors_and_files(tmp_path):
    from ganbench.data import REGISTRY
    from ganbench.metrics.samples import load_samples

    assert callable(load_samples)  # the sample readers stay reachable
    real = REGISTRY.create("ring").sample(1000, torch.Generator().manual_seed(0))
    collapsed = real[:1] + 0.001 * torch.randn(1000, 2, generator=torch.Generator().manual_seed(1))
    out = ganbench.evaluate(real, collapsed, dataset="ring", metrics="modes")
    assert out["modes"] == 1  # every sample at one mode
    np.save(tmp_path / "real.npy", real.numpy())
    same = ganbench.evaluate(tmp_path / "real.npy", real.numpy(), dataset={"name": "ring"},
                             metrics=["modes", "hq_fraction"])
    assert same["modes"] == 8 and same["hq_fraction"] > 0.95


def test_readme_example_runs(results, tmp_path, monkeypatch):
    root, _ = results
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- notebook example[^\n]*-->\n```python\n(.*?)```", text, re.S)
    assert block, "README's notebook example is missing"
    matplotlib.use("Agg")
    monkeypatch.chdir(root.parent)  # the example reads results/smoke
    exec(compile(block.group(1), "README.md", "exec"), {})
    assert (root.parent / "hq_fraction.png").stat().st_size > 5000
    assert (root.parent / "modes_over_training.png").stat().st_size > 5000
    assert isinstance(ganbench.load_results(root), pd.DataFrame)
