"""End-to-end tests of the command line on the smoke suite, in a temporary folder."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from quick_smoke import quick_smoke

from ganbench.cli import main

ROOT = Path(__file__).parents[1]
SMOKE = ROOT / "suites" / "smoke.yaml"


def test_run_rerun_and_table(tmp_path, capsys):
    res = tmp_path / "results"
    smoke = quick_smoke(tmp_path / "suites")
    assert main(["run", str(smoke), "--results", str(res), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 already finished" in out and "minimax" in out and "wgan" in out
    runs = [p for p in (res / "smoke").iterdir() if p.is_dir()]
    assert runs and all((p / "summary.json").is_file() for p in runs)

    assert main(["run", str(smoke), "--results", str(res), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{len(runs)} already finished" in out and "0 done" in out

    assert main(["table", str(res / "smoke"), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.splitlines()[0] == "**smoke: mean [95% interval] over seeds**"  # the title, then the table
    assert md.splitlines()[2].startswith("| objective | scheme | ring / modes")
    assert main(["table", str(res / "smoke"), "--format", "csv"]) == 0
    csv = capsys.readouterr().out  # plain: pandas.read_csv reads it as it is
    assert csv.startswith("objective,scheme,dataset,metric,n,N,mean,std,ci_lo,")
    assert main(["table", str(res / "smoke"), "--format", "csv", "--legend"]) == 0
    csv = capsys.readouterr().out
    assert csv.startswith("# smoke") and "\nobjective,scheme,dataset,metric,n,N,mean,std,ci_lo," in csv
    assert main(["table", str(res / "smoke"), "--format", "latex"]) == 0
    assert "\\begin{tabular}" in capsys.readouterr().out


def test_dry_run_lists_runs_and_writes_nothing(tmp_path, capsys):
    res = tmp_path / "results"
    assert main(["run", str(SMOKE), "--dry-run", "--results", str(res)]) == 0
    out = capsys.readouterr().out
    assert "to run" in out and "runs (0 finished)" in out
    assert not res.exists()


BAD = [
    ("colour: red\n", "unknown key 'colour'"),
    ("grid: {objective: [minmax]}\n", "grid.objective[0]: unknown objective 'minmax'"),
    ("base: {training: {iterations: -1}}\n", "base.training.iterations"),
    ("base: {dataset: {name: ring, modes: 2.5}}\n", "base.dataset.modes: expected an integer"),
    ("grid: {objective: [minimax}\n", "not valid YAML"),
]


@pytest.mark.parametrize("text, words", BAD)
def test_bad_suites_exit_2_and_write_nothing(tmp_path, capsys, text, words):
    suite = tmp_path / "bad.yaml"
    suite.write_text(text)
    res = tmp_path / "results"
    assert main(["run", str(suite), "--results", str(res)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and words in err
    assert not res.exists()


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind in ("objectives:", "schemes:", "datasets:", "metrics:"):
        assert kind in out
    assert main(["list", "objectives", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {"minimax", "nonsaturating"} <= {i["name"] for i in items}
    assert all(i["reference"] and i["description"] for i in items)
    assert main(["list", "objectivs"]) == 2
    assert "did you mean 'objectives'" in capsys.readouterr().err


def test_table_of_missing_folder_exits_2(tmp_path, capsys):
    assert main(["table", str(tmp_path / "nothing")]) == 2
    assert "no results folder" in capsys.readouterr().err


def test_diverged_runs_are_counted_in_the_table(tmp_path, capsys):
    suite = yaml.safe_load(quick_smoke(tmp_path / "suites").read_text())
    suite["base"]["optimizer"] = {"name": "sgd", "lr_g": 10.0, "lr_d": 10.0}  # the largest allowed
    suite["grid"]["objective"] = ["minimax"]
    p = tmp_path / "div.yaml"
    p.write_text(yaml.safe_dump(suite))
    assert main(["run", str(p), "--results", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3 diverged" in out and "(0/3: 3 div)" in out


def test_console_script_is_installed(tmp_path):
    exe = shutil.which("ganbench") or str(Path(sys.executable).parent / "ganbench")
    r = subprocess.run([exe, "run", str(SMOKE), "--dry-run", "--results", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "runs (0 finished)" in r.stdout


def test_readme_objective_table_is_current(capsys):
    assert main(["list", "objectives", "--format", "markdown"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    readme = (ROOT / "README.md").read_text()
    missing = [r for r in rows if r not in readme]
    assert not missing, "README's objective table is stale; regenerate it:\n" + "\n".join(missing)


def test_samples_plot_from_results(tmp_path, capsys):
    res = tmp_path / "results"
    smoke = quick_smoke(tmp_path / "suites")
    assert main(["run", str(smoke), "--results", str(res), "--no-progress"]) == 0
    out = tmp_path / "samples.png"
    assert main(["plot", "samples", str(res / "smoke"), "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10_000
    assert main(["plot", "sample", str(res / "smoke"), "-o", str(out)]) == 2
    assert "did you mean 'samples'" in capsys.readouterr().err
    assert main(["list", "plots", "--json"]) == 0
    assert {"dirac", "samples"} <= {e["name"] for e in json.loads(capsys.readouterr().out)}
