import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.execute import plan, run_suite
from ganbench.results import RunDir, load_results
from ganbench.suite import parse_suite
from ganbench.train import train_group

CPU = torch.device("cpu")


def samples(root, r):
    return np.load(RunDir(root, r.suite, r.run_id).path / "samples.npz")["fake"]


def test_member_of_an_ensemble_equals_the_run_alone(tmp_path, tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["grid"] = {"seed": [0, 1, 2], "optimizer.lr_d": [1e-3, 3e-3]}
    runs = parse_suite(d).runs
    assert len(plan(runs, tmp_path / "a").todo) == 1  # seeds and lrs share one ensemble
    train_group(runs, tmp_path / "group", CPU)
    for r in runs:
        train_group([r], tmp_path / "alone", CPU)
        a, b = samples(tmp_path / "group", r), samples(tmp_path / "alone", r)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # and the members really differ from each other
    assert not np.allclose(samples(tmp_path / "group", runs[0]), samples(tmp_path / "group", runs[1]))


def test_training_is_deterministic(tmp_path, tiny_suite_dict):
    r = parse_suite(tiny_suite_dict).runs[0]
    train_group([r], tmp_path / "a", CPU)
    train_group([r], tmp_path / "b", CPU)
    assert np.array_equal(samples(tmp_path / "a", r), samples(tmp_path / "b", r))


def test_a_diverging_member_is_recorded_and_the_others_go_on(tmp_path, tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["optimizer"] = {"name": "sgd", "lr_g": 1e-3, "lr_d": 1e-3}
    # 10 is the largest learning rate a suite accepts: SGD at that step blows up at once
    d["grid"] = {"objective": ["minimax"], "seed": [0], "optimizer": [
        {"name": "sgd", "lr_g": 1e-3, "lr_d": 1e-3}, {"name": "sgd", "lr_g": 10.0, "lr_d": 10.0}]}
    runs = parse_suite(d).runs
    out = train_group(runs, tmp_path / "group", CPU)
    by_lr = {r.config["optimizer"]["lr_d"]: s for r, s in zip(runs, out)}
    assert by_lr[10.0]["status"] == "diverged"
    assert 1 <= by_lr[10.0]["diverged_step"] <= 20
    assert by_lr[1e-3]["status"] == "done"
    assert by_lr[1e-3]["metrics"]["modes"] >= 0
    # the healthy member equals its run alone (the dead one did not disturb it)
    healthy = next(r for r in runs if r.config["optimizer"]["lr_d"] == 1e-3)
    train_group([healthy], tmp_path / "alone", CPU)
    np.testing.assert_allclose(samples(tmp_path / "group", healthy),
                               samples(tmp_path / "alone", healthy), rtol=1e-4, atol=1e-5)
    df = load_results(tmp_path / "group")
    assert sorted(df["status"]) == ["diverged", "done"]


def test_resume_from_checkpoint_gives_the_same_result(tmp_path, tiny_suite_dict):
    runs = parse_suite(tiny_suite_dict).runs[:2]
    train_group(runs, tmp_path / "full", CPU)
    # interrupted after the first evaluation: keep checkpoints, drop the summaries
    partial_root = tmp_path / "part"
    train_group(runs, partial_root, CPU, keep_checkpoint=True, checkpoint_every_s=0)
    for r in runs:
        rd = RunDir(partial_root, r.suite, r.run_id)
        # rewind: a checkpoint at step 10 exists from the evaluation at step 10
        assert rd.checkpoint_path.is_file()
        rd.summary_path.unlink()
        (rd.path / "samples.npz").unlink()
    out = train_group(runs, partial_root, CPU)
    assert all(s["resumed_from"] == 10 for s in out)
    for r in runs:
        np.testing.assert_array_equal(samples(tmp_path / "full", r), samples(partial_root, r))
        rows = RunDir(partial_root, r.suite, r.run_id).read_metrics()
        assert [row["step"] for row in rows] == [10, 20]


def test_run_suite_skips_finished_runs(tmp_path, tiny_suite_dict):
    s = parse_suite(tiny_suite_dict)
    first = run_suite(s, tmp_path, device="cpu", progress=False)
    assert first["done"] == 4 and first["skipped"] == 0 and first["groups"] == 1  # objectives mix
    summary = RunDir(tmp_path, s.name, s.runs[0].run_id).summary_path
    before = summary.stat().st_mtime_ns
    again = run_suite(s, tmp_path, device="cpu", progress=False)
    assert again["skipped"] == 4 and again["groups"] == 0
    assert summary.stat().st_mtime_ns == before


def test_vectorize_off_trains_runs_alone(tmp_path, tiny_suite_dict):
    s = parse_suite(tiny_suite_dict)
    out = run_suite(s, tmp_path, device="cpu", vectorize="off", progress=False)
    assert out["groups"] == 4
    sums = [json.loads(p.read_text()) for p in tmp_path.glob("**/summary.json")]
    assert {x["timings"]["group_size"] for x in sums} == {1}


def test_results_files_and_summary_contents(tmp_path, tiny_suite_dict):
    r = parse_suite(tiny_suite_dict).runs[0]
    train_group([r], tmp_path, CPU)
    rd = RunDir(tmp_path, r.suite, r.run_id)
    assert {p.name for p in rd.path.iterdir()} == {"spec.yaml", "metrics.jsonl", "summary.json",
                                                   "samples.npz"}
    s = rd.read_summary()
    assert s["status"] == "done" and s["iterations"] == 20
    for key in ("steps_per_s", "samples_per_s", "train_s", "eval_modes_s", "peak_memory_bytes"):
        assert s["timings"][key] > 0
    assert s["timings"]["evaluations"] == 2 and s["timings"]["peak_memory_kind"] == "cpu_rss"
    assert s["environment"]["torch"] == torch.__version__
    from importlib import metadata  # the versions beside torch's: ganbench and its metric stack

    import ganbench
    assert s["environment"]["ganbench"] == ganbench.__version__
    assert s["environment"]["torch_fidelity"] == metadata.version("torch-fidelity")
    assert s["environment"]["torchvision"] == metadata.version("torchvision")
    rows = rd.read_metrics()
    assert [row["step"] for row in rows] == [10, 20]
    assert {"d_loss", "g_loss", "modes", "hq_fraction", "wall_s"} <= set(rows[0])
    z = np.load(rd.path / "samples.npz")
    assert z["fake"].shape == (200, 2) and z["z"].shape == (200, 4)


def test_cuda_asked_without_cuda_fails_before_writing(tmp_path, tiny_suite_dict, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    s = parse_suite(tiny_suite_dict)
    with pytest.raises(ValueError, match="CUDA is not available"):
        run_suite(s, tmp_path, device="cuda", progress=False)
    assert not any(tmp_path.iterdir())


def test_process_executor_gives_the_same_results(tmp_path, tiny_suite_dict):
    s = parse_suite(tiny_suite_dict)
    out = run_suite(s, tmp_path / "p", device="cpu", executor="processes", jobs=2, progress=False)
    assert out["done"] == 4
    run_suite(s, tmp_path / "l", device="cpu", executor="local", progress=False)
    for r in s.runs:
        np.testing.assert_array_equal(samples(tmp_path / "p", r), samples(tmp_path / "l", r))


def test_auto_executor_stays_in_process_for_small_work(tiny_suite_dict):
    from ganbench.execute import choose_executor

    groups = plan(parse_suite(tiny_suite_dict).runs, Path("/nonexistent")).todo
    assert choose_executor("auto", "cpu", groups, jobs=2) == "local"
    assert choose_executor("auto", "cpu", groups * 10000, jobs=2) == "processes"
    assert choose_executor("auto", "cpu", groups * 10000, jobs=1) == "local"
