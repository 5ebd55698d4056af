import math

import pytest
import torch
import torch.nn.functional as F

from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics import stacked as st


@pytest.fixture(scope="module")
def stacked():
    return DATASETS.create("stacked_digits")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    # one classifier per test session (the content-hash cache makes later calls loads)
    return tmp_path_factory.mktemp("classifiers")


def ctx_for(ds, cache_dir, n=10):
    return EvalContext(real=torch.zeros(n, *ds.shape), dataset=ds, cache_dir=cache_dir)


def metrics(fake, ctx):
    out = {}
    for name in ("stacked_modes", "stacked_kl"):
        out.update(REGISTRY.create(name)(fake, ctx))
    return out


def test_counts_and_kl_known_answers():
    digits = torch.tensor([[1, 2, 3], [1, 2, 3], [9, 0, 0], [0, 0, 0]])
    counts = st.triple_counts(digits)
    assert counts.shape == (1000,) and counts[123] == 2 and counts[900] == 1 and counts[0] == 1
    assert st.kl_from_uniform(torch.ones(1000)) == pytest.approx(0.0, abs=1e-12)
    one = torch.zeros(1000)
    one[7] = 5
    assert st.kl_from_uniform(one) == pytest.approx(math.log(1000))
    half = torch.zeros(1000)
    half[:500] = 1
    assert st.kl_from_uniform(half) == pytest.approx(math.log(2))


def test_channels_are_classified_in_order():
    # a "classifier" that reads the digit off the constant grey level of the image
    def clf(x):
        return F.one_hot((x.mean((1, 2, 3)) * 10).round().long(), 10).float()

    d = torch.tensor([[3, 1, 4], [1, 5, 9], [2, 6, 5]])
    x = (d.float() / 10)[:, :, None, None].expand(3, 3, 8, 8)
    assert torch.equal(st.classify_channels(x, clf, batch=2), d)


def test_applies_only_to_stacked_sets(stacked):
    m = REGISTRY.create("stacked_modes")
    assert m.applies(stacked) is None
    assert "stacked" in m.applies(DATASETS.create("digits"))
    assert "stacked" in m.applies(DATASETS.create("ring"))
    assert REGISTRY.get("stacked_modes").default and REGISTRY.get("stacked_kl").entries[0].direction == "min"


def test_bad_samples_are_metric_errors(stacked, cache):
    ctx = ctx_for(stacked, cache)
    with pytest.raises(MetricError, match=r"\[N, 3, 8, 8\]"):
        REGISTRY.create("stacked_modes")(torch.zeros(4, 1, 8, 8), ctx)
    bad = torch.zeros(4, 3, 8, 8)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(MetricError, match="NaN"):
        REGISTRY.create("stacked_kl")(bad, ctx)


def test_real_stacked_samples_cover_all_modes(stacked, cache):
    # the protocol's 26,000 samples of the real (held-out) distribution: every mode, and a
    # KL at the sampling-noise level (K - 1) / 2n = 0.019 plus classifier errors
    x = stacked.sample(26_000, torch.Generator().manual_seed(0), split="test")
    out = metrics(x, ctx_for(stacked, cache))
    assert out["stacked_modes"] >= 995
    assert out["stacked_kl"] < 0.06


def test_exactly_ten_triples(stacked, cache):
    ctx = ctx_for(stacked, cache)
    x, y = stacked.sample_labeled(400, torch.Generator().manual_seed(1), split="test")
    from ganbench.metrics.classifiers import dataset_classifier

    clf = dataset_classifier(stacked.channel_dataset, cache_dir=cache)
    digits = st.classify_channels(x, clf.eval())
    pred = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    keep, seen = [], set()
    for i in range(len(y)):  # ten distinct triples the classifier reads right
        if pred[i] == y[i] and int(y[i]) not in seen:
            keep.append(i)
            seen.add(int(y[i]))
        if len(keep) == 10:
            break
    fake = x[keep].repeat(100, 1, 1, 1)
    out = metrics(fake, ctx)
    assert out["stacked_modes"] == 10
    assert out["stacked_kl"] == pytest.approx(math.log(100), abs=1e-9)


def test_the_two_metrics_classify_once(stacked, cache, monkeypatch):
    calls = []
    real = st.classify_channels

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(st, "classify_channels", counting)
    ctx = ctx_for(stacked, cache)
    x = stacked.sample(50, torch.Generator().manual_seed(2))
    metrics(x, ctx)
    assert len(calls) == 1
    x.mul_(-1)  # changed in place: classified again
    metrics(x, ctx)
    assert len(calls) == 2
    metrics(x.clone(), ctx)
    assert len(calls) == 3
