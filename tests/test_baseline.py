"""Baselines: recorded per group without the seed, from results written as the trainer does."""

import json
import math

import numpy as np
import pytest

from ganbench.ci import baseline
from ganbench.cli import main
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import parse_suite

ENV = {"python": "3.11", "torch": "2.x", "numpy": "2.x", "device": "cpu",
       "device_name": "cpu (test)", "platform": "test"}


def fake_results(root, raw, values, status=None, name="fake"):
    """Write finished runs of a suite without training: ``values(spec) -> metrics``."""
    s = parse_suite({"name": name, **raw})
    write_suite_record(s, root)
    for r in s.runs:
        d = RunDir(root, r.suite, r.run_id)
        d.write_spec(r.to_dict())
        st = status(r) if status else "done"
        d.write_summary({"status": st, "metrics": values(r) if st == "done" else {},
                         "environment": ENV, "group": "ignored"})
    return s


RAW = {
    "base": {"evaluation": {"metrics": ["modes", "mode_kl"]}},
    "grid": {"objective": ["minimax", "nonsaturating"], "optimizer.lr_d": [1e-4, 1e-3],
             "seed": [0, 1, 2]},
    "check": {"modes": {"abs": 2.0}},
}


def _vals(r):
    lr = r.config["optimizer"]["lr_d"]
    return {"modes": 8.0 - r.seed, "modes_thresholded": 7.0, "mode_kl": 0.1 * r.seed + lr}


def test_groups_are_configs_without_the_seed(tmp_path):
    s = fake_results(tmp_path, RAW, _vals)
    base = baseline.summarise(tmp_path / "fake")
    # learning rates are not merged (the trainer's ensemble group would merge them)
    assert len(base["groups"]) == 4
    keys = {r.group_key(("seed",)) for r in s.runs}
    assert set(base["groups"]) == keys
    g = next(g for g in base["groups"].values() if g["labels"]["objective"] == "minimax"
             and g["config"]["optimizer"]["lr_d"] == 1e-3)
    assert "seed" not in g["labels"] and "seed" not in g["config"]
    assert [r["seed"] for r in g["runs"]] == [0, 1, 2]
    m = g["metrics"]["modes"]
    assert m["values"] == {"0": 8.0, "1": 7.0, "2": 6.0}
    assert m["mean"] == pytest.approx(7.0) and m["std"] == pytest.approx(1.0) and m["n"] == 3
    assert m["direction"] == "max" and g["metrics"]["mode_kl"]["direction"] == "min"
    # sub-keys inherit from the registered metric; the suite's check: section overrides
    assert g["metrics"]["modes_thresholded"]["direction"] == "max"
    assert m["band"] == {"abs": 2.0, "rel": 0.0}
    assert g["metrics"]["modes_thresholded"]["band"] == {"abs": 2.0, "rel": 0.0}
    assert g["metrics"]["mode_kl"]["band"] == {"abs": 0.05, "rel": 0.0}
    kl = g["metrics"]["mode_kl"]
    assert kl["mean"] == pytest.approx(np.mean([0.001, 0.101, 0.201]))
    assert base["environment"]["torch"] == "2.x" and base["suite"] == "fake"


def test_diverged_runs_and_metric_errors(tmp_path):
    raw = {"base": {"evaluation": {"metrics": ["modes", "hq_fraction"]}},
           "grid": {"seed": [0, 1, 2]}}

    def vals(r):  # seed 1 diverges; seed 2's hq_fraction failed (written as null)
        return {"modes": 8.0, "modes_thresholded": 8.0,
                "hq_fraction": math.nan if r.seed == 2 else 0.5}

    fake_results(tmp_path, raw, vals, status=lambda r: "diverged" if r.seed == 1 else "done")
    (g,) = baseline.summarise(tmp_path / "fake")["groups"].values()
    assert [r["status"] for r in g["runs"]] == ["done", "diverged", "done"]
    assert g["metrics"]["modes"]["values"] == {"0": 8.0, "2": 8.0}
    assert g["metrics"]["hq_fraction"]["values"] == {"0": 0.5}
    assert g["metrics"]["hq_fraction"]["missing"] == [2]
    assert "missing" not in g["metrics"]["modes"]


def test_record_writes_atomically_and_load_checks_the_shape(tmp_path, capsys):
    fake_results(tmp_path / "r", RAW, _vals)
    out = tmp_path / "baselines" / "b.json"
    assert main(["baseline", str(tmp_path / "r" / "fake"), "-o", str(out)]) == 0
    assert "4 groups" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["b.json"]  # no temporary left
    loaded = baseline.load(out)
    assert loaded["groups"] == json.loads(out.read_text())["groups"]
    assert loaded["source"].endswith("fake") and loaded["created"]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "groups": {"abc": {"labels": {}}}}))
    with pytest.raises(ValueError, match=r"bad.json: groups.abc.config: Field required"):
        baseline.load(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        baseline.load(bad)
    with pytest.raises(FileNotFoundError, match="ganbench baseline"):
        baseline.load(tmp_path / "absent.json")


def test_baseline_cli_errors_exit_2_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["baseline", str(tmp_path / "nothing"), "-o", str(out)]) == 2
    assert "no results folder" in capsys.readouterr().err
    # two suites in one folder: the user must pick one
    fake_results(tmp_path / "r", RAW, _vals, name="one")
    fake_results(tmp_path / "r", RAW, _vals, name="two")
    assert main(["baseline", str(tmp_path / "r"), "-o", str(out)]) == 2
    assert "expected the results of one suite, found one, two" in capsys.readouterr().err
    assert not out.exists()


def test_metric_band_and_tolerance():
    assert baseline.metric_band("modes_thresholded") == {"abs": 1.0, "rel": 0.0}
    assert baseline.metric_band("modes", {"modes": {"rel": 0.1}}) == {"abs": 1.0, "rel": 0.1}
    assert baseline.metric_band("not_a_metric") is None
    with pytest.raises(ValueError, match="check.modes.width"):
        baseline.metric_band("modes", {"modes": {"width": 1}})
    assert baseline.tolerance({"abs": 0.05, "rel": 0.1}, -2.0) == pytest.approx(0.2)
    assert baseline.tolerance({"abs": 0.05, "rel": 0.1}, 0.1) == pytest.approx(0.05)


def test_only_the_latest_runs_of_the_suite_count(tmp_path):
    # an earlier version of the suite left runs behind; suite.json lists the current ones
    fake_results(tmp_path, RAW, _vals)
    now = fake_results(tmp_path, {**RAW, "grid": {"objective": ["hinge"], "seed": [0, 1]}},
                       _vals)
    base = baseline.summarise(tmp_path / "fake")
    assert set(base["groups"]) == {now.runs[0].group_key(("seed",))}
    (g,) = base["groups"].values()
    assert g["labels"]["objective"] == "hinge" and len(g["runs"]) == 2
