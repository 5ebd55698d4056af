"""A cell holds one configuration (issue 24, items 1 and 2): tables refuse cells whose runs
differ in a setting other than the rows, columns and seed (naming it and the fix), --pool
pools knowingly and says so, a folder of several suites is refused, load_results shows
every varying setting, and --set runs are their own experiment in their own folder."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ganbench import load_results
from ganbench.cli import main
from ganbench.report.tables import build_table
from ganbench.results import load_results as wide_results
from ganbench.results.pooling import PooledCellError, check_cells, config_items
from ganbench.suite import load_suite

SMOKE = Path(__file__).resolve().parents[1] / "suites" / "smoke.yaml"


def frame(regularizers):
    """Runs of one objective on one dataset, two seeds per regularizer."""
    return pd.DataFrame([{"suite": "t", "run_id": f"{r}{s}", "seed": s, "status": "done",
                          "objective": "ns", "dataset": "ring", "regularizer": r,
                          "metric:modes": 6.0 + i}
                         for i, r in enumerate(regularizers) for s in range(2)])


def test_a_cell_of_two_configurations_is_refused_with_the_fix():
    df = frame(["none", "r1"])
    with pytest.raises(PooledCellError) as e:
        build_table(df, ["objective"], ["dataset"], ["modes"])
    msg = str(e.value)
    assert "differ in regularizer" in msg and "objective=ns, dataset=ring holds 2" in msg
    assert "--rows objective regularizer" in msg and "--pool regularizer" in msg
    # with the key in the rows each cell is one configuration
    t = build_table(df, ["objective", "regularizer"], ["dataset"], ["modes"])
    assert {rk for rk, _, _ in t.cells} == {("ns", "none"), ("ns", "r1")}
    # pooled on purpose: one cell of four runs, said in the legend
    t = build_table(df, ["objective"], ["dataset"], ["modes"], pool=["regularizer"])
    (c,) = t.cells.values()
    assert c.n == 4 and c.mean == pytest.approx(6.5)
    assert any(line.startswith("pooled (--pool regularizer)") for line in t.legend)
    with pytest.raises(PooledCellError, match="did you mean 'regularizer'"):
        build_table(df, ["objective"], ["dataset"], ["modes"], pool=["regulariser"])


def test_one_configuration_and_seeds_alone_pass():
    check_cells(frame(["none"]), ["objective"], ["dataset"])  # differ only in the seed


def test_an_extra_metric_is_the_same_configuration_but_other_metric_params_are_not():
    base = {"objective": {"name": "ns", "params": {}}, "seed": 0,
            "evaluation": {"metrics": [{"name": "modes", "params": {"n_std": 3.0}}]}}
    more = {**base, "evaluation": {"metrics": [{"name": "modes", "params": {"n_std": 3.0}},
                                               {"name": "fid", "params": {}}]}}
    other = {**base, "evaluation": {"metrics": [{"name": "modes", "params": {"n_std": 2.0}}]}}
    assert config_items(more)["evaluation.metrics.modes"] == "modes(n_std=3.0)"
    assert "seed" not in config_items(base)

    def df(*configs):
        rows = [{"run_id": str(i), "seed": i, "objective": "ns", **config_items(c)}
                for i, c in enumerate(configs)]
        return pd.DataFrame(rows).drop(columns=["objective"]).assign(objective="ns")

    check_cells(df(base, more), ["objective"], [])
    with pytest.raises(PooledCellError, match="evaluation.metrics.modes"):
        check_cells(df(base, other), ["objective"], [])


def test_a_folder_of_several_suites_is_refused(tmp_path):
    a, b = frame(["none"]), frame(["none"]).assign(suite="u")
    with pytest.raises(ValueError, match="holds 2 suites"):
        build_table(pd.concat([a, b]), ["objective"], ["dataset"], ["modes"], where=tmp_path)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A suite whose case changes training.iterations (not a grid axis), trained."""
    root = tmp_path_factory.mktemp("mixed")
    suite = {"name": "mixed",
             "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
                      "training": {"iterations": 10, "batch_size": 32},
                      "evaluation": {"every": 10, "samples": 200, "metrics": ["modes"]}},
             "grid": {"objective": ["minimax", "nonsaturating"], "seed": [0, 1]},
             "cases": [{"objective": "nonsaturating", "training.iterations": 12}],
             "table": {"rows": ["objective", "training.iterations"], "columns": ["dataset"]}}
    path = root / "mixed.yaml"
    path.write_text(yaml.safe_dump(suite))
    assert main(["run", str(path), "--results", str(root / "res"), "--no-progress"]) == 0
    return root / "res" / "mixed", path


def test_load_results_has_a_column_for_every_setting_that_varies(mixed, tmp_path):
    folder, path = mixed
    tidy = load_results(folder)
    assert sorted(tidy["training.iterations"].unique()) == [10, 12]
    assert "training.batch_size" not in tidy.columns  # the same in every run
    # a setting that no label shows (not a grid axis, not in the table) gets a column too
    suite = yaml.safe_load(path.read_text())
    suite.update(name="apart", grid={"objective": ["minimax"], "seed": [0]},
                 table={"rows": ["objective"]})
    suite["cases"][0]["seed"] = 0
    (tmp_path / "apart.yaml").write_text(yaml.safe_dump(suite))
    assert main(["run", str(tmp_path / "apart.yaml"), "--results", str(tmp_path),
                 "--no-progress"]) == 0
    wide = wide_results(tmp_path / "apart")
    assert dict(zip(wide["objective"], wide["training.iterations"])) == {
        "minimax": 10, "nonsaturating": 12}
    assert {"training.batch_size", "model", "optimizer.lr_g"}.isdisjoint(wide.columns)
    assert set(load_results(tmp_path / "apart")["training.iterations"]) == {10, 12}


def test_table_refuses_the_pooled_cell_and_names_the_key(mixed, capsys):
    folder, path = mixed
    assert main(["table", str(folder), "--rows", "objective"]) == 2
    err = capsys.readouterr().err
    assert "differ in training.iterations" in err
    assert "--rows objective training.iterations" in err
    assert main(["table", str(folder)]) == 0  # the suite's own rows name it
    out = capsys.readouterr().out
    assert "(2/2)" in out and "nonsaturating  12" in out
    assert main(["table", str(folder), "--rows", "objective", "--pool",
                 "training.iterations"]) == 0
    out = capsys.readouterr().out
    assert "(4/4)" in out and "pooled (--pool training.iterations)" in out
    assert main(["report", str(folder), "-o", str(folder.parent / "r.md")]) == 0


def test_a_suite_whose_own_table_pools_is_refused_before_training(mixed, tmp_path, capsys):
    _, path = mixed
    suite = yaml.safe_load(path.read_text())
    suite["table"]["rows"] = ["objective"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(suite))
    assert main(["run", str(bad), "--results", str(tmp_path / "res"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: table:" in err and "rows: [objective, training.iterations]" in err
    assert not (tmp_path / "res").exists()


def test_set_runs_live_apart_and_the_table_names_the_variants(tmp_path, capsys):
    res = tmp_path / "res"
    quick = ["--set", "training.iterations=10", "--set", "evaluation.every=10"]
    plain_ids = {r.run_id for r in load_suite(SMOKE).runs}
    assert main(["run", str(SMOKE), "--results", str(res), "--no-progress", "--set",
                 "grid.seed=[0]", *quick]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    variant = load_suite(SMOKE, ["evaluation.every=10", "training.iterations=10",
                                 "grid.seed=[0]"])  # the order of the options is free
    assert first == (f"{variant.name}: smoke with --set grid.seed=[0] --set "
                     f"training.iterations=10 --set evaluation.every=10; results in "
                     f"{res / variant.name}")
    assert variant.name.startswith("smoke+") and len(variant.name) == len("smoke+") + 8
    assert main(["run", str(SMOKE), "--results", str(res), "--no-progress", *quick]) == 0
    other = load_suite(SMOKE, [q for q in quick if q != "--set"]).name
    assert sorted(p.name for p in res.iterdir()) == sorted([variant.name, other])
    assert not (res / "smoke").exists()  # the plain suite's folder is untouched
    capsys.readouterr()
    assert main(["table", str(res / variant.name)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # legend lines wrap at the width
    assert f"variant: {variant.name} (smoke with --set grid.seed=[0]" in out
    assert f"other variants beside it: {other} (smoke with --set training.iterations=10" in out
    assert main(["table", str(res)]) == 2  # two experiments are two tables
    assert "holds 2 suites" in capsys.readouterr().err
    # the plain suite keeps its name and run ids
    assert load_suite(SMOKE).name == "smoke" and {r.run_id for r in load_suite(SMOKE).runs} \
        == plain_ids
