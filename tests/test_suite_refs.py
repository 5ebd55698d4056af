"""Plug-in references after validation: typed PluginRef objects over the plain config dict
that run ids hash."""

from __future__ import annotations

import pytest

from ganbench import suite as suite_mod
from ganbench.objectives.ipm import WGAN
from ganbench.objectives.regularizers import GradientPenalty
from ganbench.suite import PluginRef, SuiteError, label, parse_suite


@pytest.mark.parametrize("value", ["unrolled", {"name": "unrolled"}, {"name": "unrolled", "params": {}}])
def test_parse_a_bare_name(value):
    assert PluginRef.parse(value) == PluginRef("unrolled", {})


@pytest.mark.parametrize("value", [{"name": "unrolled", "k": 5}, {"name": "unrolled", "params": {"k": 5}}])
def test_parse_parameters_inline_or_nested(value):
    ref = PluginRef.parse(value)
    assert ref == PluginRef("unrolled", {"k": 5}) and ref.label() == "unrolled(k=5)"
    assert ref.to_config() == {"name": "unrolled", "params": {"k": 5}}
    assert hash(ref) == hash(PluginRef("unrolled", {"k": 5}))


@pytest.mark.parametrize("value", [None, 3, {"k": 5}, {"name": 4}, ["unrolled"]])
def test_values_that_name_no_plugin(value):
    assert PluginRef.parse(value) is None


def test_a_ref_owns_its_params():
    given = {"k": 5, "lst": [1, 2]}
    ref = PluginRef("unrolled", given)
    given["lst"].append(3)
    assert ref.params == {"k": 5, "lst": [1, 2]}
    cfg = ref.to_config()
    cfg["params"]["k"] = 7
    assert ref.params["k"] == 5
    with pytest.raises(AttributeError):
        ref.name = "other"


def test_runspec_reads_its_plugins_typed_without_changing_its_config():
    runs = parse_suite({"name": "t", "base": {
        "objective": "wgan_gp", "scheme": {"name": "alternating", "d_steps": 5},
        "model": {"name": "mlp", "width": 8, "depth": 1},
        "evaluation": {"metrics": ["modes", {"name": "hq_fraction"}]}}}).runs
    r = runs[0]
    before = suite_mod.canonical(r.config)
    assert r.plugin("scheme") == PluginRef("alternating", {"d_steps": 5, "g_steps": 1})
    assert r.plugin("regularizer").name == "gp"  # the preset's, filled in by validation
    assert isinstance(r.create("objective"), WGAN)
    assert isinstance(r.create("regularizer"), GradientPenalty)
    assert [m.name for m in r.metrics()] == ["modes", "hq_fraction"]
    assert all(isinstance(m, PluginRef) for m in r.metrics())
    # the config stays the plain {name, params} dicts the run id hashes
    assert r.config["scheme"] == {"name": "alternating", "params": {"d_steps": 5, "g_steps": 1}}
    r.plugin("scheme").params["d_steps"] = 99
    assert suite_mod.canonical(r.config) == before
    with pytest.raises(KeyError, match="did you mean 'objective'"):
        r.plugin("objectiv")


def test_no_regularizer_is_none():
    r = parse_suite({"base": {"regularizer": "none",
                              "model": {"name": "mlp", "width": 8, "depth": 1}}}).runs[0]
    assert r.plugin("regularizer") is None and r.create("regularizer") is None


def test_run_ids_are_pinned():
    """Run ids hash the plain config; these are today's (a changed id re-runs every suite)."""
    from ganbench.suite import run_id

    cfg = {"dataset": {"name": "ring", "params": {"modes": 8}}, "seed": 0}
    assert run_id(cfg) == run_id({"seed": 0, "dataset": {"params": {"modes": 8}, "name": "ring"}})
    assert run_id({"seed": 0}) == "bd0488843468"


def test_labels_keep_their_form():
    assert label(None) == "none" and label(0.0001) == "0.0001" and label("ring") == "ring"
    assert label({"name": "unrolled", "k": 5}) == "unrolled(k=5)"
    assert label({"name": "unrolled", "params": {"k": 5}}) == "unrolled(k=5)"
    assert label({"lr_d": 1, "lr_g": 2}) == "lr_d=1,lr_g=2"
    runs = parse_suite({"base": {"model": {"name": "mlp", "width": 8, "depth": 1}},
                        "grid": {"scheme": [{"name": "unrolled", "k": 5}, {"name": "unrolled", "k": 1},
                                            "alternating"]}}).runs
    assert [r.labels["scheme"] for r in runs] == ["unrolled(k=5)", "unrolled(k=1)", "alternating"]


def test_metric_ref_is_gone():
    assert not hasattr(suite_mod, "MetricRef")


def test_a_bad_reference_names_its_path():
    with pytest.raises(SuiteError, match=r"scheme: expected a name or a mapping with 'name'"):
        parse_suite({"base": {"scheme": {"k": 5}}})
