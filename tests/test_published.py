"""Published numbers beside ours: the reference block's validation (paths, valid labels,
did-you-mean), the margins, the verdicts on hand-made results, and rendering in every
format, from a results folder as `ganbench table` reads it (the tests themselves are
tested as theory in test_stats.py)."""

import copy
import io
import json
import re

import pandas as pd
import pytest

from ganbench.cli import main
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import SuiteError, parse_suite
from ganbench.suite import reference as published
from ganbench.suite.reference import Published

REF = {
    "paper": "Lin, Khetan, Fanti & Oh 2018, PacGAN (NeurIPS)",
    "table": "Table 1",
    "where": "p. 7",
    "spread": "sem",
    "runs": 10,
    "margins": {"modes": 1.5, "hq_fraction": 0.01},
    "note": "fewer iterations than the paper",
    "cells": [
        {"row": {"objective": "nonsaturating"}, "column": {"dataset": "ring"},
         "values": {"modes": [6.3, 0.5], "hq_fraction": 0.982}},
        {"row": {"objective": "minimax", "scheme": "alternating"}, "column": {"dataset": "grid"},
         "values": {"modes": {"mean": 17.3, "pm": 0.8}, "mode_kl": {"below": 1.0}}},
    ],
}


def suite(**extra):
    return {
        "name": "pub",
        "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
                 "training": {"iterations": 20, "batch_size": 32},
                 "evaluation": {"every": 10, "samples": 200,
                                "metrics": ["modes", "hq_fraction", "mode_kl"]}},
        "grid": {"dataset": ["ring", "grid"], "objective": ["minimax", "nonsaturating"],
                 "seed": [0, 1]},
        "table": {"rows": ["objective", "scheme"], "columns": ["dataset"],
                  "metrics": ["modes", "hq_fraction", "mode_kl"]},
        **extra,
    }


def problems(raw):
    with pytest.raises(SuiteError) as exc:
        parse_suite(raw, "bad.yaml")
    return exc.value.problems


def test_a_valid_block_is_accepted_in_both_spellings():
    s = parse_suite(suite(reference=REF))
    assert s.spec.reference.cells[0].values["modes"] == [6.3, 0.5]
    s = parse_suite(suite(references=[REF, {**REF, "table": "Table 2"}]))
    assert [r.table for r in s.spec.references] == ["Table 1", "Table 2"]
    norm = published.normalise(s.spec.references[0])
    assert norm["cells"][1]["values"] == {"modes": {"mean": 17.3, "pm": 0.8},
                                          "mode_kl": {"below": 1.0}}


def _with(path_fn):
    ref = copy.deepcopy(REF)
    path_fn(ref)
    return ref


@pytest.mark.parametrize("mutate, path, words", [
    (lambda r: r.update(tabel="Table 1"), "reference.tabel", "did you mean 'table'"),
    (lambda r: r.pop("paper"), "reference.paper", "Field required"),
    (lambda r: r.update(spread="stderr"), "reference.spread", "'std', 'sem', 'ci95' or 'none'"),
    (lambda r: r.update(runs="ten"), "reference.runs", "integer"),
    (lambda r: r["cells"][1].update(vals={}), "reference.cells[1].vals", "did you mean 'values'"),
    (lambda r: r["cells"][0]["row"].update(model="mlp"), "reference.cells[0].row.model",
     "unknown row axis 'model'; valid: objective, scheme"),
    (lambda r: r["cells"][0].update(row={"objective": "nonsaturatin"}), "reference.cells[0].row",
     "did you mean 'nonsaturating'"),
    (lambda r: r["cells"][0].update(column={"dataset": "rings"}), "reference.cells[0].column",
     "unknown column label 'rings'; valid: grid, ring"),
    (lambda r: r["cells"][0].update(row={"scheme": "alternating"}), "reference.cells[0].row",
     "matches 2 rows"),
    (lambda r: r["cells"][0]["values"].update(mdoes=1), "reference.cells[0].values.mdoes",
     "unknown table metric 'mdoes'; valid: hq_fraction, mode_kl, modes (did you mean 'modes'?)"),
    (lambda r: r["cells"][0]["values"].update(modes=[1, 2, 3]), "reference.cells[0].values.modes",
     "expected a number, [mean, ±]"),
    (lambda r: r["cells"][0]["values"].update(modes=[6.3, -0.5]), "reference.cells[0].values.modes",
     "must be >= 0"),
    (lambda r: r["cells"][0]["values"].update(modes={"mean": 6, "std": 1}),
     "reference.cells[0].values.modes", "expected a number"),
    (lambda r: r["cells"][0]["row"].update(objective=["minimax"]), "reference.cells[0].row.objective",
     "expected a label"),
    (lambda r: r.update(spread="none"), "reference.cells[0].values.modes", "spread is none"),
    (lambda r: r["cells"].append(copy.deepcopy(r["cells"][0])), "reference.cells[2].values.modes",
     "published twice"),
    (lambda r: r["margins"].update(modes=-1), "reference.margins.modes",
     "greater than or equal to 0"),
    (lambda r: r["margins"].update(modes="one"), "reference.margins.modes", "valid number"),
    (lambda r: r["margins"].update(modes=float("nan")), "reference.margins.modes", "finite"),
    (lambda r: r["margins"].update(mdoes=1.0), "reference.margins.mdoes",
     "unknown metric with a published value 'mdoes'"),
])
def test_bad_blocks_name_the_key_path(mutate, path, words):
    found = problems(suite(reference=_with(mutate)))
    assert any(p == path and words in m for p, m in found), found


def test_references_list_paths_and_not_both():
    bad = _with(lambda r: r["cells"][0].update(column={"dataset": "grdi"}))
    found = problems(suite(references=[REF, bad]))
    assert any(p == "references[1].cells[0].column" and "did you mean 'grid'" in m
               for p, m in found), found
    found = problems(suite(reference=REF, references=[REF]))
    assert found[0][0] == "references" and "not both" in found[0][1]


def test_a_metric_outside_the_table_is_an_error_even_when_evaluated():
    raw = suite(reference=REF)
    raw["table"]["metrics"] = ["modes", "hq_fraction"]
    found = problems(raw)
    assert ("reference.cells[1].values.mode_kl",) == tuple(p for p, _ in found)


def test_bad_reference_exits_2_and_writes_nothing(tmp_path, capsys):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(suite(reference=_with(
        lambda r: r["cells"][0].update(row={"objective": "minmax"})))))
    assert main(["run", str(path), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: reference.cells[0].row: unknown row label 'minmax'" in err
    assert not (tmp_path / "r").exists()


def test_published_text():
    assert Published(6.3, 0.5).text() == "6.3 ± 0.5"
    assert Published(0.982).text() == "0.982"
    assert Published(below=0.1).text() == "< 0.1" and Published(above=2).text() == "> 2"


# --- rendering from a results folder -------------------------------------------------------


def write_results(root, raw, values, skip=()):
    """Finished runs (without training) and the suite record, as `ganbench run` leaves them."""
    s = parse_suite(raw)
    write_suite_record(s, root)
    for i, r in enumerate(s.runs):
        if i in skip:
            continue  # never ran
        d = RunDir(root, r.suite, r.run_id)
        d.write_spec(r.to_dict())
        d.write_summary({"status": "done", "metrics": values(r)})
    return s


def values(r):
    ring = r.labels["dataset"] == "ring"
    return {"modes": (6.5 if ring else 10.0) + 0.1 * r.seed, "modes_thresholded": 6.0,
            "hq_fraction": 0.98 if ring else 0.5, "mode_kl": 0.3}


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "csv"])
def test_published_values_and_verdicts_in_every_format(tmp_path, capsys, fmt):
    write_results(tmp_path, suite(reference=REF), values)
    # CSV carries its legend when asked; text on one line per row (--wide) to read cells
    legend = {"csv": ["--legend"], "text": ["--wide"]}.get(fmt, [])
    assert main(["table", str(tmp_path / "pub"), "--format", fmt, *legend]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(out), comment="#")
        ns = frame[(frame.objective == "nonsaturating") & (frame.dataset == "ring")]
        got = ns.set_index("metric")
        # 6.55 +- 0.07 over 2 seeds vs 6.3 +- 0.5 (sem of 10 runs), margin 1.5: equivalent
        assert got.loc["modes", ["published_mean", "published_spread", "verdict"]].tolist() \
            == [6.3, 0.5, "agrees"]
        assert got.loc["modes", "published_spread_kind"] == "sem"
        assert got.loc["modes", "margin"] == 1.5 and got.loc["modes", "p_value"] < 0.05
        assert got.loc["modes", "diff"] == pytest.approx(0.25)
        # 0.98 in both seeds vs 0.982 with no spread: within the 0.01 margin for certain
        assert got.loc["hq_fraction", "verdict"] == "agrees"
        mm = frame[(frame.objective == "minimax") & (frame.dataset == "grid")].set_index("metric")
        assert mm.loc["modes", "verdict"] == "differs"  # 10.05 vs 17.3 +- 0.8
        assert mm.loc["mode_kl", "published_below"] == 1.0
        assert mm.loc["mode_kl", "verdict"] == "agrees"  # 0.3 < 1 in every seed
        assert "PacGAN" in out.splitlines()[0:12].__str__()
        return
    pm = "$\\pm$" if fmt == "latex" else "±"
    assert f"6.3 {pm} 0.5: agrees (p=" in out
    assert "0.982: agrees" in out and f"17.3 {pm} 0.8: differs (p=" in out
    assert f"{'$<$' if fmt == 'latex' else '<'} 1: agrees" in out
    # the legend: paper, table, page, what ± means, runs, what was compared, the note, the rule
    for words in ("PacGAN", "Table 1", "p. 7", "standard error of the mean over 10 runs",
                  "hq", "fewer iterations than the paper", "two one-sided Welch tests"):
        assert words in out.replace("\\_", "_"), words


def test_without_a_margin_a_value_can_differ_but_never_agree(tmp_path, capsys):
    ref = {k: v for k, v in REF.items() if k != "margins"}
    write_results(tmp_path, suite(reference=ref), values)
    assert main(["table", str(tmp_path / "pub"), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out), comment="#")
    verdicts = set(frame["verdict"].dropna())
    assert "agrees" in verdicts  # only the bound (mode_kl < 1), which needs no margin
    ns = frame[(frame.objective == "nonsaturating") & (frame.dataset == "ring")]
    assert ns.set_index("metric").loc["modes", "verdict"] == "inconclusive"


def test_no_verdict_when_our_cell_is_incomplete(tmp_path, capsys):
    s = parse_suite(suite(reference=REF))
    skip = {i for i, r in enumerate(s.runs) if r.labels["objective"] == "nonsaturating"
            and r.labels["dataset"] == "ring" and r.seed == 1}
    write_results(tmp_path, suite(reference=REF), values, skip=skip)
    assert main(["table", str(tmp_path / "pub"), "--wide"]) == 0  # one line per row
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("nonsaturating"))
    assert "(1/2: 1 missing)" in line
    assert "6.3 ± 0.5: inconclusive (untested)" in line and "agrees" not in line


def test_values_outside_a_repivoted_table_are_counted_not_shown(tmp_path, capsys):
    write_results(tmp_path, suite(references=[REF, {**REF, "paper": "Other 2019"}]), values)
    assert main(["table", str(tmp_path / "pub"), "--rows", "objective", "--wide"]) == 0
    out = capsys.readouterr().out
    # the second cell names the scheme, no longer an axis: its values are left out, counted
    assert "4 published values are not shown" in out
    assert re.search(r"\[1\] 6\.3 ± 0\.5: agrees \(p=[0-9.e-]+\); \[2\] 6\.3 ± 0\.5: agrees", out)
    assert "[1] published: Lin" in out and "[2] published: Other 2019" in out


def test_record_keeps_the_block(tmp_path):
    write_results(tmp_path, suite(reference=REF), values)
    record = json.loads((tmp_path / "pub" / "suite.json").read_text())
    assert record["spec"]["reference"]["table"] == "Table 1"
