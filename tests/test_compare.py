"""compare: two row selections of a results frame, per column and metric."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ganbench.report.compare import CompareError, compare, parse_selection, render

DIRECTIONS = {"modes": "max", "jsd": "min", "step": None}


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset in ("ring", "grid"):
        for objective, reg, shift in (("mine", "none", 2.0), ("nonsaturating", "none", 0.0),
                                      ("nonsaturating", "r1", 0.0)):
            for s in range(4):
                rows.append({"suite": "t", "run_id": f"{dataset}{objective}{reg}{s}",
                             "seed": s, "status": "done", "dataset": dataset,
                             "objective": objective, "regularizer": reg,
                             "metric:modes": 5 + shift + rng.normal(0, 0.3),
                             "metric:jsd": 0.3 - shift / 10 + rng.normal(0, 0.01)})
    return pd.DataFrame(rows)


def test_compare_finds_the_better_objective_per_column():
    df = _frame()
    out = compare(df, "objective=mine", "objective=nonsaturating,regularizer=none",
                  columns=["dataset"], direction_of=DIRECTIONS.get)
    assert list(out["dataset"]) == ["ring", "ring", "grid", "grid"]
    assert set(out["finding"]) == {"A better"}      # more modes and a lower JSD
    r = out.iloc[0]
    a = df[(df.objective == "mine") & (df.dataset == "ring")]["metric:modes"]
    b = df[(df.objective == "nonsaturating") & (df.regularizer == "none")
           & (df.dataset == "ring")]["metric:modes"]
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert r["diff"] == pytest.approx(a.mean() - b.mean())
    assert r["p_value"] == pytest.approx(ref.pvalue)
    assert r["ci_lo"] < r["diff"] < r["ci_hi"]
    # Holm over the four comparisons: the smallest p is multiplied by 4
    assert out["p_adjusted"].min() == pytest.approx(min(1.0, 4 * out["p_value"].min()))
    assert r["hedges_g"] > 2
    text = render(out, "objective=mine", "objective=nonsaturating", ["dataset"], 0.05, "holm")
    assert "A better" in text and "holm" in text


def test_equal_rows_show_no_difference_and_one_seed_is_untested():
    df = _frame()
    out = compare(df, "objective=nonsaturating,regularizer=r1",
                  "objective=nonsaturating,regularizer=none", columns=["dataset"],
                  direction_of=DIRECTIONS.get)
    assert "A better" not in set(out["finding"])
    few = df[~((df.objective == "mine") & (df.seed > 0))]
    out = compare(few, "objective=mine", "objective=nonsaturating,regularizer=none",
                  columns=["dataset"], direction_of=DIRECTIONS.get)
    assert set(out["finding"]) == {"untested"} and out["p_value"].isna().all()
    assert (out["n_a"] == 1).all() and (out["N_a"] == 1).all()


def test_diverged_runs_count_in_N_but_not_in_n():
    df = _frame()
    idx = df[(df.objective == "mine") & (df.dataset == "ring")].index[:2]
    df.loc[idx, "status"] = "diverged"
    df.loc[idx, "metric:modes"] = math.nan
    out = compare(df, "objective=mine", "objective=nonsaturating,regularizer=none",
                  columns=["dataset"], metrics=["modes"], direction_of=DIRECTIONS.get)
    ring = out[out.dataset == "ring"].iloc[0]
    assert (ring["n_a"], ring["N_a"]) == (2, 4)


@pytest.mark.parametrize("a,b,match", [
    ("objective=nobody", "objective=mine", "matches no run"),
    ("objective=nonsaturating", "objective=mine", "2 configurations"),
    ("objectve=mine", "objective=mine", "did you mean"),
    ("objective", "objective=mine", "key=value"),
    ("objective=mine", "objective=mine", "same runs"),
])
def test_bad_selections_are_refused_with_a_clear_message(a, b, match):
    with pytest.raises(CompareError, match=match):
        compare(_frame(), a, b, columns=["dataset"], direction_of=DIRECTIONS.get)


def test_parse_selection():
    assert parse_selection("a=1, b = x") == {"a": "1", "b": "x"}
    with pytest.raises(CompareError):
        parse_selection("a=")


def test_false_findings_stay_at_alpha_when_rows_are_equal():
    """Two truly equal rows over many columns: Holm keeps any false finding near alpha."""
    reps, hits = 400, 0
    for i in range(reps):
        rng = np.random.default_rng(1000 + i)
        rows = [{"run_id": f"{c}{o}{s}", "seed": s, "status": "done", "dataset": f"d{c}",
                 "objective": o, "metric:modes": rng.normal(0, 1)}
                for c in range(5) for o in ("x", "y") for s in range(3)]
        out = compare(pd.DataFrame(rows), "objective=x", "objective=y", columns=["dataset"],
                      direction_of=DIRECTIONS.get)
        hits += (out["finding"] != "no difference shown").any()
    assert hits / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


# --- the command line on a results folder ------------------------------------------------------


def _folder(tmp_path):
    from ganbench.results import RunDir, write_suite_record
    from ganbench.suite import parse_suite

    raw = {"name": "cmp",
           "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
                    "training": {"iterations": 20, "batch_size": 32},
                    "evaluation": {"every": 20, "samples": 200, "metrics": ["modes"]}},
           "grid": {"dataset": ["ring", "grid"], "objective": ["hinge", "nonsaturating"],
                    "seed": [0, 1, 2]},
           "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["modes"]}}
    s = parse_suite(raw)
    write_suite_record(s, tmp_path)
    for r in s.runs:
        d = RunDir(tmp_path, r.suite, r.run_id)
        d.write_spec(r.to_dict())
        up = 3.0 if r.labels["objective"] == "hinge" else 0.0
        d.write_summary({"status": "done", "metrics": {"modes": 4.0 + up + 0.1 * r.seed}})
    return tmp_path / "cmp"


def test_cli_compare_and_the_python_function_agree(tmp_path, capsys):
    import ganbench
    from ganbench.cli.main import main

    folder = _folder(tmp_path)
    assert main(["compare", str(folder), "--rows", "objective=hinge",
                 "objective=nonsaturating"]) == 0
    out = capsys.readouterr().out
    assert out.count("A better") == 2 and "holm over the 2 comparisons" in out
    frame = ganbench.compare(folder, "objective=hinge", "objective=nonsaturating")
    assert list(frame["dataset"]) == ["ring", "grid"]
    assert frame["diff"].tolist() == pytest.approx([3.0, 3.0])
    assert main(["compare", str(folder), "--rows", "objective=hinge", "objective=nonsaturating",
                 "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("dataset,metric,direction,")


@pytest.mark.parametrize("args, words", [
    (["--rows", "objective=minmax", "objective=hinge"], "matches no run"),
    # --alpha is bounded by the parser (argparse's usage error, exit 2)
    (["--rows", "objective=hinge", "objective=nonsaturating", "--alpha", "0"], "is outside (0, 1)"),
    (["--rows", "objective=hinge", "objective=nonsaturating", "--alpha", "1.5"], "is outside (0, 1)"),
    (["--rows", "objective=hinge", "objective=nonsaturating", "--metric", "mdoes"], "did you mean"),
    (["--rows", "dataset=ring", "objective=hinge", "--columns"], "configurations"),
])
def test_cli_compare_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args, words):
    from ganbench.cli.main import main

    folder = _folder(tmp_path)
    before = sorted(p.name for p in folder.rglob("*"))
    try:
        code = main(["compare", str(folder), *args])
    except SystemExit as exc:  # argparse refused an option
        code = exc.code
    assert code == 2
    assert words in capsys.readouterr().err
    assert sorted(p.name for p in folder.rglob("*")) == before


def test_pool_lets_a_side_mix_the_named_settings_and_the_legend_says_so():
    """--pool regularizer: the non-saturating side averages its plain and R1 runs (8 seeds
    per column); without it the side is refused, and an unknown key has a did-you-mean."""
    df = _frame()
    with pytest.raises(CompareError, match="--pool regularizer"):
        compare(df, "objective=mine", "objective=nonsaturating", columns=["dataset"],
                direction_of=DIRECTIONS.get)
    out = compare(df, "objective=mine", "objective=nonsaturating", columns=["dataset"],
                  metrics=["modes"], direction_of=DIRECTIONS.get, pool=["regularizer"])
    ring = out[out.dataset == "ring"].iloc[0]
    both = df[(df.dataset == "ring") & (df.objective == "nonsaturating")]["metric:modes"]
    assert ring["N_b"] == 8 and ring["mean_b"] == pytest.approx(both.mean())
    assert ring["finding"] == "A better"
    text = render(out, "objective=mine", "objective=nonsaturating", ["dataset"], 0.05,
                  "holm", pool=["regularizer"])
    assert "pooled (--pool regularizer): each side averages runs that differ in" in text
    with pytest.raises(CompareError, match="did you mean 'regularizer'"):
        compare(df, "objective=mine", "objective=nonsaturating", columns=["dataset"],
                direction_of=DIRECTIONS.get, pool=["regulariser"])
