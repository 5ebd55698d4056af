"""The metric contract's declarations: every metric declares what it reports (entries with
a direction or none) and what it needs; suites reject needs a run cannot meet before
anything runs; modes_thresholded is a metric of its own."""

import copy
import re

import pytest
import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY, EvalContext, Metric
from ganbench.metrics.base import NEEDS, ResultEntry, declaration_problems, declared_entries
from ganbench.metrics.registry import direction, entries_of, find_entry, owner
from ganbench.registry import Registry, RegistryError
from ganbench.suite import SuiteError, parse_suite


def test_every_metric_declares_its_entries_and_needs():
    for name in REGISTRY.names():
        cls = REGISTRY.get(name)
        assert declaration_problems(name, cls) == [], name
        entries = entries_of(name)
        assert entries[0].name == name and all(e.about for e in entries), name
        assert set(cls.needs) <= set(NEEDS), name


def test_directions_are_declared_not_guessed_from_names():
    assert direction("modes") == "max" and direction("mode_kl") == "min"
    assert direction("jsd_classifier") == "min"
    # bounds, counts, unit conversions and coordinates are not scores
    for key in ("jsd_classifier_bits", "jsd_classifier_ci_low", "jsd_classifier_n",
                "mmd_bandwidth", "kid_std", "dirac_theta", "critic_gap_logit_critic"):
        assert direction(key) is None, key
    assert direction("not_a_metric") is None
    # an entry two metrics report belongs to the one named like it
    assert find_entry("modes_thresholded")[0] == "modes_thresholded"
    assert find_entry("modes_thresholded", evaluated=["modes"])[0] == "modes"
    # keys of older results that no metric declares now still find their metric
    assert owner("jsd_classifier_old_entry") == "jsd_classifier" and owner("nothing") is None


def test_a_metric_that_declares_nothing_has_one_undirected_entry():
    class Plain(Metric):
        def __call__(self, fake, ctx):
            return {"plain": 0.0}

    (e,) = declared_entries("plain", Plain)
    assert e == ResultEntry("plain", None)


def test_broken_declarations_are_refused_at_registration():
    reg = Registry("metrics_test", base=Metric, required=("__call__",),
                   validate=declaration_problems)

    class WrongFirst(Metric):
        entries = (ResultEntry("other", "max"),)
        def __call__(self, fake, ctx): return {}  # noqa: E301, E704

    class BadDirection(Metric):
        entries = (ResultEntry("bad", "up"),)
        def __call__(self, fake, ctx): return {}  # noqa: E301, E704

    class UnknownNeed(Metric):
        needs = frozenset({"gpu"})
        def __call__(self, fake, ctx): return {}  # noqa: E301, E704

    for name, cls, words in [("wrong", WrongFirst, "first entry must be named 'wrong'"),
                             ("bad", BadDirection, "expected 'max', 'min' or None"),
                             ("unknown", UnknownNeed, "unknown needs ['gpu']")]:
        with pytest.raises(RegistryError, match=re.escape(words)):
            reg.add(name, cls, description="x")


# --- what metrics return matches what they declare ------------------------------------------


def _ring_ctx(extras=None):
    ds = DATASETS.create("ring")
    real = ds.sample(200, torch.Generator().manual_seed(0))
    return ds, EvalContext(real=real, dataset=ds, extras=extras or {})


@pytest.mark.parametrize("name", ["modes", "modes_thresholded", "hq_fraction", "mode_kl", "mmd",
                                  "wasserstein", "conditional_accuracy", "code_alignment"])
def test_reported_keys_are_the_declared_entries(name):
    ds, ctx = _ring_ctx({"labels": torch.arange(200) % 8})
    fake = ds.sample(200, torch.Generator().manual_seed(1))
    out = REGISTRY.create(name)(fake, ctx)
    assert set(out) == {e.name for e in entries_of(name)}


def test_dirac_metrics_report_their_entries_with_a_critic():
    ds = DATASETS.create("dirac")
    ctx = EvalContext(real=torch.zeros(10, 1), dataset=ds,
                      extras={"critic": lambda x: 0.5 * x.reshape(-1)})
    for name in ("dirac_theta", "dirac_psi", "dirac_distance", "dirac_converged"):
        assert set(REGISTRY.create(name)(torch.full((10, 1), 0.3), ctx)) == \
            {e.name for e in entries_of(name)}


# --- modes_thresholded ----------------------------------------------------------------------


def test_modes_thresholded_is_its_own_metric_and_agrees_with_modes():
    ds, ctx = _ring_ctx()
    c = ds.mode_centres()
    # 1000 samples, K = 8: a perfect generator puts 125 on each mode
    fake = torch.cat([c[0].repeat(900, 1), c[1].repeat(90, 1), c[2].repeat(10, 1)])
    default = REGISTRY.create("modes_thresholded")(fake, ctx)  # >= 1% of 125: 1.25 samples
    strict = REGISTRY.create("modes_thresholded", min_fraction=0.1)(fake, ctx)  # >= 12.5
    assert default == {"modes_thresholded": 3.0} and strict == {"modes_thresholded": 2.0}
    legacy = REGISTRY.create("modes", min_fraction=0.1)(fake, ctx)
    assert legacy == {"modes": 3.0, "modes_thresholded": 2.0}
    assert not REGISTRY.get("modes_thresholded").default  # default metric sets keep their ids
    with pytest.raises(ValueError, match="min_fraction"):
        REGISTRY.create("modes_thresholded", min_fraction=1.5)


# --- suites: needs and shared entries, before anything runs ----------------------------------


def _suite(metrics, model="mlp", objective="nonsaturating"):
    return {"base": {"model": model, "objective": objective,
                     "training": {"iterations": 10, "batch_size": 32},
                     "evaluation": {"every": 10, "samples": 100, "metrics": metrics}},
            "grid": {"seed": [0]}}


def _problems(raw):
    with pytest.raises(SuiteError) as exc:
        parse_suite(raw, "s.yaml")
    return exc.value.problems


def test_needs_the_run_cannot_meet_are_rejected():
    found = _problems(_suite(["modes", "info_mi"]))
    assert found[0][0] == "base.evaluation.metrics[1]"
    assert "metric 'info_mi' needs InfoGAN's packed samples" in found[0][1]
    assert "packs no codes" in found[0][1]
    # a conditional model supplies class labels but no Q head; InfoGAN the reverse
    found = _problems(_suite(["conditional_accuracy", "code_alignment", "info_mi"],
                             model="mlp_conditional"))
    assert [p for p, _ in found] == ["base.evaluation.metrics[2]"]
    found = _problems(_suite(["conditional_accuracy", "code_alignment", "info_mi"],
                             model="mlp_infogan", objective="infogan"))
    assert [p for p, _ in found] == ["base.evaluation.metrics[0]"]
    assert "class labels" in found[0][1]
    # met needs pass
    parse_suite(_suite(["code_alignment", "info_mi"], model="mlp_infogan", objective="infogan"))


def test_metrics_reporting_one_entry_must_agree_on_its_settings():
    parse_suite(_suite(["modes", "modes_thresholded"]))  # the same defaults: one value
    found = _problems(_suite(["modes", {"name": "modes_thresholded", "min_fraction": 0.05}]))
    assert found[0][0] == "base.evaluation.metrics[1]"
    assert "min_fraction=0.01 vs 0.05" in found[0][1]
    found = _problems(_suite(["mode_kl", {"name": "mode_kl", "n_std": 2.0}]))
    assert "n_std=3.0 vs 2.0" in found[0][1]


def test_table_metrics_are_entries_the_evaluated_metrics_declare():
    raw = _suite(["modes", "hq_fraction"])
    raw["table"] = {"metrics": ["modes_thresholded", "hq_fraction"]}  # modes reports it
    parse_suite(raw)
    raw["table"] = {"metrics": ["mode_kl"]}
    found = _problems(raw)
    assert found[0][0] == "table.metrics[0]" and "unknown evaluated metric 'mode_kl'" in found[0][1]


@pytest.mark.parametrize("mutate, path, words", [
    (lambda d: d["base"]["training"].update(iteration=5), "base.training.iteration",
     "valid: batch_size, checkpoint_every_s, compile, ema, iterations, precision (did you mean 'iterations'?)"),
    (lambda d: d["base"]["evaluation"].update(evry=5), "base.evaluation.evry",
     "did you mean 'every'"),
    (lambda d: d.update(table={"colums": ["dataset"]}), "table.colums", "did you mean 'columns'"),
    (lambda d: d.update(check={"modes": {"ab": 1.0}}), "check.modes.ab",
     "valid: abs, rel (did you mean 'abs'?)"),
    (lambda d: d["grid"].update({"optimizer.lr_q": [1e-3]}), "grid.optimizer.lr_q[0]",
     "unknown key 'lr_q'; valid: beta1, beta2, lr_d, lr_g"),
])
def test_typos_in_fixed_sections_list_the_valid_keys(mutate, path, words):
    raw = copy.deepcopy(_suite(["modes"]))
    mutate(raw)
    found = _problems(raw)
    assert any(p == path and words in m for p, m in found), found
