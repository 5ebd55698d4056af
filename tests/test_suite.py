import copy

import pytest

from ganbench.suite import SuiteError, load_suite, parse_suite, run_id


def test_grid_expands_as_a_product(tiny_suite_dict):
    s = parse_suite(tiny_suite_dict, "t.yaml")
    assert len(s.runs) == 4
    assert {(r.labels["objective"], r.labels["seed"]) for r in s.runs} == {
        ("minimax", "0"), ("minimax", "1"), ("nonsaturating", "0"), ("nonsaturating", "1")}
    assert len({r.run_id for r in s.runs}) == 4


def test_defaults_are_resolved_into_the_config(tiny_suite_dict):
    r = parse_suite(tiny_suite_dict).runs[0]
    cfg = r.config
    assert cfg["dataset"] == {"name": "ring", "params": {"modes": 8, "radius": 2.0, "std": 0.02}}
    assert cfg["scheme"]["name"] == "alternating" and cfg["scheme"]["params"]["d_steps"] == 1
    assert cfg["optimizer"]["beta1"] == 0.5 and cfg["training"]["iterations"] == 20
    assert [m["name"] for m in cfg["evaluation"]["metrics"]] == ["modes", "hq_fraction"]


def test_run_id_is_stable_and_depends_only_on_the_config(tiny_suite_dict):
    a = parse_suite(tiny_suite_dict).runs
    d2 = copy.deepcopy(tiny_suite_dict)
    d2["name"] = "other"
    d2["table"] = {"rows": ["seed"]}
    b = parse_suite(d2).runs
    assert [r.run_id for r in a] == [r.run_id for r in b]
    # writing a default explicitly (or 2 for 2.0) changes nothing
    d3 = copy.deepcopy(tiny_suite_dict)
    d3["base"]["dataset"] = {"name": "ring", "radius": 2}
    assert [r.run_id for r in parse_suite(d3).runs] == [r.run_id for r in a]
    # a real change changes the id
    d4 = copy.deepcopy(tiny_suite_dict)
    d4["base"]["dataset"] = {"name": "ring", "radius": 3}
    assert not {r.run_id for r in parse_suite(d4).runs} & {r.run_id for r in a}
    assert run_id({"a": 1, "b": 2}) == run_id({"b": 2, "a": 1})


def test_run_id_is_pinned():
    # a change to this hash silently orphans every user's results: change it on purpose only
    assert run_id({"seed": 0}) == "bd0488843468"


def test_cases_override_and_cross_the_open_axes(tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["cases"] = [{"objective": "minimax", "scheme": {"name": "alternating", "d_steps": 2}}]
    s = parse_suite(d)
    extra = [r for r in s.runs if r.config["scheme"]["params"]["d_steps"] == 2]
    assert len(s.runs) == 6 and len(extra) == 2  # crossed with seed [0, 1]
    assert {r.labels["scheme"] for r in extra} == {"alternating(d_steps=2)"}


def test_dotted_axes(tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["grid"]["optimizer.lr_d"] = [1e-3, 2e-3]
    d["grid"]["dataset.std"] = [0.02, 0.1]
    s = parse_suite(d)
    assert len(s.runs) == 16
    assert {r.config["dataset"]["params"]["std"] for r in s.runs} == {0.02, 0.1}
    assert {r.labels["optimizer.lr_d"] for r in s.runs} == {"0.001", "0.002"}


def problems_of(d):
    with pytest.raises(SuiteError) as exc:
        parse_suite(d, "bad.yaml")
    return exc.value.problems, str(exc.value)


@pytest.mark.parametrize("mutate, path, words", [
    (lambda d: d.update(colour="red"), "colour", "unknown key 'colour'"),
    (lambda d: d["grid"].update(objective=["minimax", "minmax"]), "grid.objective[1]",
     "did you mean 'minimax'"),
    (lambda d: d["base"]["training"].update(iterations="many"), "base.training.iterations",
     "integer"),
    (lambda d: d["base"]["training"].update(batch_size=1), "base.training.batch_size",
     "greater than or equal to 2"),
    (lambda d: d["base"].update(dataset={"name": "ring", "radius": "big"}), "base.dataset.radius",
     "expected a number"),
    (lambda d: d["base"].update(dataset={"name": "ring", "colour": 1}), "base.dataset.colour",
     "unknown parameter"),
    (lambda d: d["base"].update(dataset={"name": "ring", "std": -1.0}), "base.dataset",
     "std must be >= 0"),
    (lambda d: d["base"]["evaluation"].update(metrics=["modes", "nope"]),
     "base.evaluation.metrics[1]", "unknown metric 'nope'"),
    (lambda d: d["base"].update(optimiser={}), "base.optimiser", "did you mean 'optimizer'"),
    (lambda d: d["grid"].update(seed=[]), "grid.seed", "non-empty"),
    (lambda d: d.update(table={"rows": ["objective"], "metrics": ["fid_nope"]}),
     "table.metrics[0]", "unknown evaluated metric"),
    (lambda d: d["grid"].update(seed=[0, -3]), "grid.seed[1]", "integer >= 0"),
])
def test_bad_input_names_the_key_path(tiny_suite_dict, mutate, path, words):
    d = copy.deepcopy(tiny_suite_dict)
    mutate(d)
    problems, text = problems_of(d)
    assert any(p == path for p, _ in problems), problems
    assert words in text
    assert text.count("bad.yaml") >= 1


def test_load_suite_reports_the_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: [1, 2\n")
    with pytest.raises(SuiteError, match="s.yaml.*not valid YAML"):
        load_suite(p)
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "missing.yaml")
    p.write_text("- a list\n")
    with pytest.raises(SuiteError, match="expected a mapping"):
        load_suite(p)


def test_explicit_none_regularizer(tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["regularizer"] = "none"
    assert all(r.config["regularizer"] is None for r in parse_suite(d).runs)


# the shipped suites (suites/ and suites/papers/) are validated in tests/test_shipped_suites.py


def test_batch_must_split_into_packs(tiny_suite_dict):
    import copy

    import pytest

    from ganbench.suite import SuiteError, parse_suite

    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["model"]["pack"] = 3
    d["base"]["training"]["batch_size"] = 32
    with pytest.raises(SuiteError, match=r"training.batch_size.*multiple of the model's pack size 3"):
        parse_suite(d)
    d["base"]["training"]["batch_size"] = 33
    assert parse_suite(d).runs
