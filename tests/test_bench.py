"""The bench verb: what it measures and how it reports it (no timing assertions)."""

import json

import pytest

from ganbench.ci import bench
from ganbench.cli import main

TINY = "{name: mlp, latent_dim: 4, width: 8, depth: 1}"


def test_bench_measures_loop_and_ensemble_per_members(capsys):
    assert main(["bench", "--model", TINY, "--members", "1", "3", "--steps", "2",
                 "--warmup", "1", "--batch-size", "16", "--device", "cpu", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["device"] == "cpu" and d["device_name"].startswith("cpu")
    assert d["setup"] == {"dataset": "ring", "model": "mlp(latent_dim=4, width=8, depth=1)",
                          "objective": "nonsaturating", "scheme": "alternating"}
    assert d["batch_size"] == 16 and d["steps"] == 2
    assert [r["members"] for r in d["rows"]] == [1, 3]
    for r in d["rows"]:
        e = r["members"]
        assert r["loop_s"] > 0 and r["ensemble_s"] > 0
        assert r["loop_run_steps_per_s"] == pytest.approx(e * 2 / r["loop_s"])
        assert r["ensemble_run_steps_per_s"] == pytest.approx(e * 2 / r["ensemble_s"])
        assert r["ensemble_steps_per_s"] == pytest.approx(2 / r["ensemble_s"])
        assert r["ensemble_samples_per_s"] == pytest.approx(r["ensemble_run_steps_per_s"] * 16)
        assert r["speedup"] == pytest.approx(r["loop_s"] / r["ensemble_s"])
        assert r["peak_memory_bytes"] is None  # CPU


def test_bench_text_table(capsys):
    assert main(["bench", "--model", TINY, "--scheme", "{name: alternating, d_steps: 2}",
                 "--members", "2", "--steps", "1", "--warmup", "0", "--batch-size", "8",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("device: cpu")
    assert "alternating(d_steps=2)" in out[1] and "batch 8" in out[1]
    assert out[2].split()[:2] == ["members", "loop"]
    assert out[4].split()[0] == "2" and out[4].split()[-1].endswith("x")


def test_bench_default_setup_is_the_headline_suite(monkeypatch, tmp_path):
    model, batch = bench.headline_setup()
    assert bench.HEADLINE_SUITE.name == "mode_collapse.yaml"  # the shipped one
    assert isinstance(model, dict) and model["name"] == "mlp"
    runs = bench.bench_runs(members=3, batch_size=8)
    assert [r.seed for r in runs] == [0, 1, 2]
    assert runs[0].config["model"]["params"]["latent_dim"] == model["latent_dim"]
    assert "suite mode_collapse (" in bench.setup_source(None, None)
    # without the suite: an error that says so, never other settings in silence
    monkeypatch.setattr(bench, "HEADLINE_SUITE", tmp_path / "absent.yaml")
    with pytest.raises(FileNotFoundError, match="shipped suite 'mode_collapse'.*--model"):
        bench.headline_setup()
    runs = bench.bench_runs(model="mlp", members=2, batch_size=8)  # given: not needed
    assert bench.setup_source("mlp", 8) == "as given (--model, --batch-size)"
    assert runs[0].config["evaluation"]["metrics"] == []


@pytest.mark.parametrize("args, words", [
    (["--members", "0"], "--members: 0 is outside [1, 4096]"),
    (["--steps", "0"], "--steps: 0 is outside [1, 1e+06]"),
    (["--scheme", "alternate"], "unknown scheme 'alternate'"),
    (["--model", "{name: mlp, width: [}"], "not a YAML mapping"),
    (["--threads", "0"], "--threads: 0 is outside"),
])
def test_bench_bad_input_exits_2(capsys, args, words):
    try:  # argparse's bounds exit through SystemExit, the verb's own checks return
        code = main(["bench", "--device", "cpu", *args])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert words in capsys.readouterr().err


def test_bench_threads_sets_and_reports_torch_threads(capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["bench", "--model", TINY, "--members", "1", "--steps", "1", "--warmup",
                     "0", "--batch-size", "8", "--device", "cpu", "--threads", "1",
                     "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["threads"] == 1
    finally:
        torch.set_num_threads(before)
