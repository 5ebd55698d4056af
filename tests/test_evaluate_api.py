"""ganbench.evaluate as a notebook sees it: its help, what it returns, its progress."""

import inspect
import io
import pydoc
import time

import pytest
import torch

import ganbench
from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import evaluate as module
from ganbench.metrics.evaluate import MetricProgress


def ring_samples(n=1000, seed=0):
    return DATASETS.create("ring").sample(n, torch.Generator().manual_seed(seed))


def test_help_shows_the_real_signature_and_its_parameters():
    params = list(inspect.signature(ganbench.evaluate).parameters)
    assert params == ["real", "fake", "dataset", "metrics", "seed", "device", "cache_dir",
                      "progress"]
    text = pydoc.render_doc(ganbench.evaluate, renderer=pydoc.plaintext)
    assert "evaluate(real, fake, dataset=None, metrics=None" in text
    for words in ("metrics : str, list of str or None", "dataset : str, dict", "Example"):
        assert words in text


def test_returns_what_was_asked_and_its_helpers_only():
    real, fake = ring_samples(), ring_samples(seed=1)
    out = ganbench.evaluate(real, fake, dataset="ring", metrics=["modes", "hq_fraction"])
    assert set(out) == {"modes", "hq_fraction"}  # not modes_thresholded, which modes computes
    both = ganbench.evaluate(real, fake, dataset="ring", metrics=["modes", "modes_thresholded"])
    assert set(both) == {"modes", "modes_thresholded"}
    # an entry of the metric itself stays, whether declared or named after it
    assert module._asked("jsd_classifier_ci_low", "jsd_classifier", {"jsd_classifier": 0})
    assert module._asked("jsd_classifier_n", "jsd_classifier", {"jsd_classifier": 0})
    assert not module._asked("modes_thresholded", "modes", {"modes": 0})


def test_a_slow_metric_is_shown_by_name_and_a_quick_one_is_not():
    stream = io.StringIO()
    shown = MetricProgress(["modes", "jsd_classifier"], True, delay=0.05, stream=stream)
    shown.start("modes")
    shown.done()  # quicker than the delay: nothing drawn
    assert stream.getvalue() == ""
    shown.start("jsd_classifier")
    time.sleep(0.3)
    assert "jsd_classifier" in stream.getvalue() and "1/2" in stream.getvalue()
    shown.done()
    shown.close()
    quiet = io.StringIO()
    off = MetricProgress(["jsd_classifier"], False, delay=0.0, stream=quiet)
    off.start("jsd_classifier")
    off.close()
    assert quiet.getvalue() == ""


def test_evaluate_draws_its_bar_on_stderr(monkeypatch, capsys):
    monkeypatch.setattr(module, "SLOW_METRIC_S", 0.0)  # every metric counts as slow
    ganbench.evaluate(ring_samples(), ring_samples(seed=1), dataset="ring",
                      metrics=["modes", "hq_fraction"])
    err = capsys.readouterr().err
    assert "evaluate" in err and "hq_fraction" in err
    ganbench.evaluate(ring_samples(), ring_samples(seed=1), dataset="ring", metrics="modes",
                      progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("bad", [["modes", "no_such_metric"]])
def test_unknown_metric_still_names_it(bad):
    with pytest.raises(Exception, match="no_such_metric"):
        ganbench.evaluate(ring_samples(), ring_samples(seed=1), dataset="ring", metrics=bad)
