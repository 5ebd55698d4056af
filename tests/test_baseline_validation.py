"""A malformed baseline is a usage error (exit 2, the file and key named), never exit 1,
which CI reads as a regression, and never a silent PASS. Results written without training."""

import copy
import json
from pathlib import Path

import pytest
from test_baseline import RAW, _vals, fake_results

from ganbench.ci import baseline
from ganbench.cli import main
from ganbench.results import SUITE_RECORD
from ganbench.suite import load_suite

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("bv")
    fake_results(root, RAW, _vals)
    good = root / "good.json"
    assert main(["baseline", str(root / "fake"), "-o", str(good)]) == 0
    return root / "fake", json.loads(good.read_text())


def _first(b):
    return next(iter(b["groups"].values()))


def _metric(b):
    return _first(b)["metrics"]["modes"]


MUTATIONS = {
    "top_level_list": (lambda b: [b], "not a ganbench baseline"),
    "format": (lambda b: b.update(format=2), "format"),
    "groups_list": (lambda b: b.update(groups=list(b["groups"])), "groups"),
    "groups_empty": (lambda b: b.update(groups={}), "groups"),
    "suite_missing": (lambda b: b.pop("suite"), "suite"),
    "other_suite": (lambda b: b.update(suite="mode_collapse"), "suite"),
    "direction_sideways": (lambda b: _metric(b).update(direction="sideways"), ".metrics.modes.direction"),
    "band_missing": (lambda b: _metric(b).pop("band"), ".metrics.modes.band"),
    "band_negative": (lambda b: _metric(b)["band"].update(abs=-1), ".metrics.modes.band.abs"),
    "band_string": (lambda b: _metric(b)["band"].update(rel="0.1"), ".metrics.modes.band.rel"),
    "values_string": (lambda b: _metric(b)["values"].update({"0": "8"}), ".metrics.modes.values.0"),
    "values_nan": (lambda b: _metric(b)["values"].update({"0": float("nan")}), ".metrics.modes.values.0"),
    "values_missing": (lambda b: _metric(b).pop("values"), ".metrics.modes.values"),
    "metrics_list": (lambda b: _first(b).update(metrics=["modes"]), ".metrics"),
    "runs_empty": (lambda b: _first(b).update(runs=[]), ".runs"),
    "run_seed_string": (lambda b: _first(b)["runs"][0].update(seed="0"), ".runs[0].seed"),
    "config_missing": (lambda b: _first(b).pop("config"), ".config"),
    "check_band_bool": (lambda b: b.update(check={"modes": {"abs": True}}), "check.modes.abs"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_check_against_a_malformed_baseline_exits_2_naming_file_and_key(
        name, recorded, tmp_path, capsys):
    results, good = recorded
    mutate, key = MUTATIONS[name]
    b = copy.deepcopy(good)
    replaced = mutate(b)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(replaced if isinstance(replaced, list) else b))
    code = main(["check", str(results), "--baseline", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == "" and "Traceback" not in err
    assert str(path) in err and key in err, err


def test_the_good_baseline_passes_and_round_trips(recorded, tmp_path, capsys):
    results, good = recorded
    assert baseline.validate(copy.deepcopy(good), "good.json") == good
    path = tmp_path / "b.json"
    path.write_text(json.dumps(good))
    assert main(["check", str(results), "--baseline", str(path)]) == 0
    assert "PASS" in capsys.readouterr().out


def test_baseline_refuses_bad_bands_in_the_suite_record(tmp_path, capsys):
    fake_results(tmp_path, RAW, _vals)
    record = tmp_path / "fake" / SUITE_RECORD
    meta = json.loads(record.read_text())
    meta["check"] = {"modes": {"abs": -2.0}}
    record.write_text(json.dumps(meta))
    out = tmp_path / "b.json"
    assert main(["baseline", str(tmp_path / "fake"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(record) in err and "check.modes.abs" in err, err
    assert not out.exists()


def test_the_committed_ci_baseline_is_valid_and_holds_the_suite_s_run_ids():
    base = baseline.load(ROOT / "results" / "baselines" / "ci.json")
    suite = load_suite(ROOT / "suites" / "ci.yaml")
    recorded_ids = {r["run_id"] for g in base["groups"].values() for r in g["runs"]}
    assert recorded_ids == {r.run_id for r in suite.runs}
