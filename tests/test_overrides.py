"""`ganbench run SUITE --set KEY=VALUE`: suite values changed without editing the file."""

from pathlib import Path

import pytest

from ganbench.cli import main
from ganbench.results import read_suite_record
from ganbench.suite import SuiteError, apply_overrides, load_suite

SMOKE = Path(__file__).parents[1] / "suites" / "smoke.yaml"


def test_paths_go_into_base_or_their_section():
    raw = {"base": {"model": "mlp", "training": {"iterations": 60}},
           "grid": {"seed": [0, 1]}, "cases": [{"scheme": "optimistic"}]}
    out, targets, problems = apply_overrides(raw, [
        "training.iterations=500", "grid.seed=[0]", "model.width=16",
        "grid.optimizer.lr_d=[1.0e-3, 2.0e-3]", "table.title=Mine", "cases.0.scheme.k=2",
        "objective={name: lsgan, a: 0}"])
    assert not problems
    assert out["base"]["training"]["iterations"] == 500
    assert out["base"]["model"] == {"name": "mlp", "width": 16}  # a name becomes a mapping
    assert out["grid"] == {"seed": [0], "optimizer.lr_d": [1e-3, 2e-3]}  # YAML values
    assert out["table"] == {"title": "Mine"} and out["cases"][0]["scheme"] == {"name": "optimistic", "k": 2}
    assert out["base"]["objective"] == {"name": "lsgan", "a": 0}
    assert raw["base"]["training"]["iterations"] == 60  # the original is left alone
    assert set(targets) >= {"base.training.iterations", "grid.seed", "cases[0].scheme.k"}


def test_overridden_runs_have_their_own_ids():
    plain = load_suite(SMOKE)
    over = load_suite(SMOKE, ["training.iterations=500", "grid.seed=[0]"])
    assert len(over.runs) == len(plain.runs) // 3  # one seed of three
    assert {r.config["training"]["iterations"] for r in over.runs} == {500}
    assert not {r.run_id for r in over.runs} & {r.run_id for r in plain.runs}
    assert over.overrides == ("training.iterations=500", "grid.seed=[0]")


@pytest.mark.parametrize("option, words", [
    ("training.iteration=5", "--set training.iteration: base.training.iteration: unknown key "
                             "'iteration'"),
    ("grid.objective=[minmax]", "--set grid.objective: grid.objective[0]: unknown objective "
                                "'minmax'"),
    ("grid.seed=3", "--set grid.seed: grid.seed: Input should be a valid list"),
    ("seed=4", "--set seed: base.seed: the grid axis 'seed' sets this in every run; change "
               "the axis instead: --set grid.seed=[...]"),
    ("training.iterations", "--set training.iterations: expected KEY=VALUE"),
    ("training.iterations.x=1", "--set training.iterations.x: base.training.iterations.x: "
                                "base.training.iterations is a value (3000), not a section"),
    ("cases.0.scheme=x", "--set cases.0.scheme: cases[0].scheme: cases is not there"),
])
def test_bad_overrides_name_the_option(option, words):
    with pytest.raises(SuiteError) as err:
        load_suite(SMOKE, [option])
    assert words in str(err.value)


def test_file_problems_still_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("colour: red\n")
    with pytest.raises(SuiteError) as err:
        load_suite(bad, ["training.iteration=5"])
    text = str(err.value)
    assert f"{bad}: colour: unknown key 'colour'" in text


def test_cli_dry_run_lists_overridden_runs_and_writes_nothing(tmp_path, capsys):
    res = tmp_path / "res"
    args = ["run", str(SMOKE), "--dry-run", "--results", str(res),
            "--set", "training.iterations=500", "--set", "grid.seed=[0]"]
    assert main(args) == 0
    out = capsys.readouterr().out
    ids = {r.run_id for r in load_suite(SMOKE, ["training.iterations=500", "grid.seed=[0]"]).runs}
    assert all(i in out for i in ids) and "2 runs (0 finished)" in out
    assert "with --set training.iterations=500 --set grid.seed=[0]" in out
    assert main(["run", str(SMOKE), "--results", str(res), "--set", "training.iteratons=5"]) == 2
    err = capsys.readouterr().err
    assert "--set training.iteratons: base.training.iteratons" in err and "did you mean" in err
    assert not res.exists()


def test_table_of_an_overridden_run(tmp_path, capsys):
    res = tmp_path / "res"
    over = ["--set", "training.iterations=20", "--set", "evaluation.every=20",
            "--set", "grid.seed=[0]"]
    assert main(["run", str(SMOKE), "--results", str(res), "--no-progress", *over]) == 0
    capsys.readouterr()
    opts = [o for o in over if o != "--set"]
    folder = res / load_suite(SMOKE, opts).name  # its own experiment: smoke+<hash>
    assert folder.name.startswith("smoke+") and not (res / "smoke").exists()
    assert main(["table", str(folder), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| minimax | alternating |" in out
    assert f"variant: {folder.name} (smoke with --set training.iterations=20" in out
    record = read_suite_record(folder)
    assert record["overrides"] == opts and record["variant_of"] == "smoke"
