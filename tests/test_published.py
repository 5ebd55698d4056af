"""Published numbers beside ours: the reference block's validation (paths, valid labels,
did-you-mean), the agreement rule on hand-made cases, and rendering in every format, from
a results folder as `ganbench table` reads it."""

import copy
import io
import json

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


# --- the agreement rule --------------------------------------------------------------------


@pytest.mark.parametrize("value, mean, std, complete, verdict", [
    (Published(6.3, 0.5), 6.3, 0.0, True, True),
    (Published(6.3, 0.5), 6.9, 0.1, True, True),     # |0.6| <= 0.5 + 0.1: on the edge
    (Published(6.3, 0.5), 6.95, 0.1, True, False),
    (Published(6.3, 0.5), 5.7, 0.1, True, True),     # symmetric
    (Published(6.3, 0.5), 9.0, 3.0, True, True),     # a wide seed spread widens the interval
    (Published(0.982), 0.975, 0.01, True, True),     # no ±: our spread alone
    (Published(0.982), 0.975, 0.0, True, False),
    (Published(6.3, 0.5), 6.3, 0.0, False, None),    # incomplete: no verdict
    (Published(below=0.1), 0.05, 0.2, True, True),
    (Published(below=0.1), 0.1, 0.0, True, False),   # below means strictly below
    (Published(above=0.5), 0.6, 0.0, True, True),
    (Published(above=0.5), 0.4, 0.5, True, False),   # a bound is not widened
    (Published(above=0.5), float("nan"), 0.0, True, None),
])
def test_agreement_rule(value, mean, std, complete, verdict):
    assert value.agrees(mean, std, complete) is verdict


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
def test_published_values_and_marks_in_every_format(tmp_path, capsys, fmt):
    write_results(tmp_path, suite(reference=REF), values)
    assert main(["table", str(tmp_path / "pub"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(out), comment="#")
        ns = frame[(frame.objective == "nonsaturating") & (frame.dataset == "ring")]
        got = ns.set_index("metric")[["published_mean", "published_pm", "agree"]]
        assert got.loc["modes"].tolist() == [6.3, 0.5, 1]  # 6.55 +- 0.07 vs 6.3 +- 0.5
        assert got.loc["hq_fraction", "agree"] == 0  # 0.98 vs 0.982, no spread either side
        mm = frame[(frame.objective == "minimax") & (frame.dataset == "grid")].set_index("metric")
        assert mm.loc["modes", "agree"] == 0 and mm.loc["mode_kl", "published_below"] == 1.0
        assert mm.loc["mode_kl", "agree"] == 1
        assert "PacGAN" in out.splitlines()[0:12].__str__()
        return
    agree, disagree = ("\\checkmark{}", "$\\times$") if fmt == "latex" else ("✓", "✗")
    pm = "$\\pm$" if fmt == "latex" else "±"
    assert f"6.3 {pm} 0.5 {agree}" in out
    assert f"0.982 {disagree}" in out and f"17.3 {pm} 0.8 {disagree}" in out
    assert f"{'$<$' if fmt == 'latex' else '<'} 1 {agree}" in out
    # the legend: paper, table, page, what ± means, runs, what was compared, the note
    for words in ("PacGAN", "Table 1", "p. 7", "standard error of the mean over 10 runs",
                  "hq", "fewer iterations than the paper"):
        assert words in out.replace("\\_", "_"), words
    if fmt == "latex":
        assert "amssymb" in out.splitlines()[0]


def test_no_mark_when_our_cell_is_incomplete(tmp_path, capsys):
    s = parse_suite(suite(reference=REF))
    skip = {i for i, r in enumerate(s.runs) if r.labels["objective"] == "nonsaturating"
            and r.labels["dataset"] == "ring" and r.seed == 1}
    write_results(tmp_path, suite(reference=REF), values, skip=skip)
    assert main(["table", str(tmp_path / "pub")]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("nonsaturating"))
    assert "(1/2: 1 missing)" in line
    assert "6.3 ± 0.5" in line and "✓" not in line and "✗" not in line


def test_values_outside_a_repivoted_table_are_counted_not_shown(tmp_path, capsys):
    write_results(tmp_path, suite(references=[REF, {**REF, "paper": "Other 2019"}]), values)
    assert main(["table", str(tmp_path / "pub"), "--rows", "objective"]) == 0
    out = capsys.readouterr().out
    # the second cell names the scheme, no longer an axis: its values are left out, counted
    assert "4 published values are not shown" in out
    assert "[1] 6.3 ± 0.5 ✓; [2] 6.3 ± 0.5 ✓" in out
    assert "[1] published: Lin" in out and "[2] published: Other 2019" in out


def test_record_keeps_the_block(tmp_path):
    write_results(tmp_path, suite(reference=REF), values)
    record = json.loads((tmp_path / "pub" / "suite.json").read_text())
    assert record["spec"]["reference"]["table"] == "Table 1"
