"""Everyday traps (issue 24, items 8 and 9): dry runs without the data files, --set KEY
VALUE, and a misspelled objective reported once."""

import pytest
import yaml

from ganbench.cli import main

IMAGE_SUITE = {
    "name": "needs_mnist",
    "base": {"dataset": {"name": "stacked_mnist", "size": 28},
             "model": {"name": "dcgan", "latent_dim": 8, "width": 8},
             "training": {"iterations": 10, "batch_size": 8},
             "evaluation": {"every": 10, "samples": 64, "metrics": ["fid"]}},
    "grid": {"objective": ["nonsaturating"], "seed": [0, 1]},
}


def test_a_dry_run_plans_without_the_data_and_says_what_to_fetch(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "data"))  # an empty data folder
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))  # FID's
    path = tmp_path / "needs_mnist.yaml"
    path.write_text(yaml.safe_dump(IMAGE_SUITE))
    res = tmp_path / "res"
    assert main(["run", str(path), "--dry-run", "--results", str(res)]) == 0
    out = capsys.readouterr().out
    assert "2 runs (0 finished)" in out
    assert "missing files:" in out and "train-images-idx3-ubyte.gz" in out
    assert f"Inception-v3 weights: Inception-v3 weights file {tmp_path / 'absent.pth'}" in out
    assert str(tmp_path / "data" / "mnist") in out
    assert "fetch with: ganbench data download mnist" in out
    assert not res.exists()
    # a real run still refuses before anything is written, naming the same command
    assert main(["run", str(path), "--results", str(res), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ganbench data download mnist" in err and not res.exists()


def test_set_key_space_value_gets_a_hint(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "suites/smoke.yaml", "--set", "training.iterations", "100"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: ganbench run" in err  # the verb's usage, not the top-level one
    assert "argument --set: 'training.iterations' has no '='" in err
    assert "--set training.iterations=100 (not --set KEY VALUE)" in err


def test_a_misspelled_objective_is_one_error(tmp_path, capsys):
    assert main(["run", "suites/smoke.yaml", "--dry-run", "--results", str(tmp_path),
                 "--set", "grid.objective=[minimaxx]"]) == 2
    err = capsys.readouterr().err
    assert "unknown objective 'minimaxx'" in err and "did you mean 'minimax'" in err
    assert "model" not in err.split("did you mean")[1]  # no follow-up about the model
    assert len([ln for ln in err.splitlines() if ln.startswith("  ")]) == 1
