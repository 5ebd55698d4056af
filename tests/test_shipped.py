"""The wheel is the product (issue 24, item 4): shipped suites and baselines by bare name, a
path stays a path, `ganbench list suites` and one plug-in's parameters. (.ci/run builds
the wheel and runs it from an empty folder; here the checkout's own folders are read.)"""

from pathlib import Path

import pytest

from ganbench.cli import main
from ganbench.suite import SuiteError, load_suite
from ganbench.suite.shipped import baseline_path, shipped, suite_path

REPO = Path(__file__).resolve().parents[1]


def test_bare_names_are_shipped_suites_and_paths_stay_paths(tmp_path, monkeypatch):
    assert suite_path("mode_collapse") == REPO / "suites" / "mode_collapse.yaml"
    assert suite_path("papers/metz_unrolled") == REPO / "suites" / "papers" / "metz_unrolled.yaml"
    assert baseline_path("ci") == REPO / "results" / "baselines" / "ci.json"
    # a file of that name here wins: the user's own file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smoke").write_text("name: mine\n")
    assert suite_path("smoke") == Path("smoke")
    assert suite_path("other/smoke.yaml") == Path("other/smoke.yaml")  # a path: kept
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite("other/smoke.yaml")
    with pytest.raises(SuiteError, match=r"unknown shipped suite 'mode_colapse'.*did you mean "
                                         r"'mode_collapse'"):
        load_suite("mode_colapse")
    s = load_suite("ci")  # from any folder
    assert s.name == "ci" and s.source == str(REPO / "suites" / "ci.yaml")


def test_every_shipped_suite_and_baseline_is_listed():
    on_disk = {p.relative_to(REPO / "suites").with_suffix("").as_posix()
               for p in (REPO / "suites").rglob("*.yaml")}
    assert set(shipped("suites")) == on_disk and "mode_collapse" in on_disk
    assert set(shipped("baselines")) == {p.stem for p in (REPO / "results" / "baselines")
                                         .glob("*.json")}


def test_list_suites_and_one_plugin(capsys):
    assert main(["list", "suites"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.split()[:1] == ["mode_collapse"])
    assert "mode collapse on ring and grid" in line.lower()
    assert main(["list", "datasets", "ring"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("datasets ring: ") and "Metz et al. 2017" in out
    params = dict(ln.split() for ln in out.split("parameters (default):\n")[1].splitlines()
                  if ln.startswith("    "))
    assert params == {"modes": "8", "radius": "2.0", "std": "0.02"}
    assert main(["list", "datasets", "rnig"]) == 2
    assert "did you mean 'ring'" in capsys.readouterr().err


def test_check_names_the_shipped_baseline(tmp_path, capsys):
    assert main(["check", str(tmp_path), "--baseline", "cii"]) == 2
    assert "unknown shipped baseline 'cii'" in capsys.readouterr().err
