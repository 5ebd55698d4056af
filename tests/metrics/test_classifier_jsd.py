"""The classifier JSD estimate against known truth (Monte Carlo with exact densities)."""

import math

import pytest
import torch

from ganbench.data.synthetic import GaussianMixture, grid_centres, ring_centres
from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics.classifier_jsd import LOG2, estimate_jsd, monte_carlo_jsd

RING = GaussianMixture(ring_centres(8, 2.0), 0.02)
GRID = GaussianMixture(grid_centres(5, 2.0), 0.05)
_C10 = torch.randn(8, 10, generator=torch.Generator().manual_seed(7)) * 3

# (real, fake): each a failure a generator can show
CASES = {
    "identical": (RING, GaussianMixture(ring_centres(8, 2.0), 0.02)),
    "dropped_modes": (RING, GaussianMixture(ring_centres(8, 2.0)[::2], 0.02)),
    "blurred": (RING, GaussianMixture(ring_centres(8, 2.0), 0.05)),
    "shifted": (RING, GaussianMixture(ring_centres(8, 2.0) + torch.tensor([0.02, 0.0]), 0.02)),
    "one_broad_gaussian": (RING, GaussianMixture(torch.zeros(1, 2), 1.5)),
    "reweighted_grid": (GRID, GaussianMixture(grid_centres(5, 2.0), 0.05,
                                              weights=torch.arange(1.0, 26.0))),
    "ten_dims": (GaussianMixture(_C10, 1.0), GaussianMixture(_C10[:5] + 0.3, 1.0)),
}


@pytest.fixture(scope="module")
def truths():
    return {k: monte_carlo_jsd(p, q, n=200_000) for k, (p, q) in CASES.items()}


def test_monte_carlo_truth_matches_closed_forms(truths):
    assert abs(truths["identical"][0]) < 1e-12
    # 8 equal modes vs 4 of them, disjoint: JSD = 3/4 log(4/3)
    value, se = truths["dropped_modes"]
    assert abs(value - 0.75 * math.log(4 / 3)) < 4 * se + 1e-4
    # disjoint supports: log 2
    far = GaussianMixture(torch.tensor([[100.0, 0.0]]), 0.1)
    assert monte_carlo_jsd(RING, far, n=20_000)[0] == pytest.approx(LOG2, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_estimate_within_tolerance_of_truth(case, truths):
    p, q = CASES[case]
    g = torch.Generator().manual_seed(11)
    est = estimate_jsd(p.sample(10_000, g), q.sample(10_000, g), seed=0)
    truth = truths[case][0]
    assert abs(est.jsd - truth) <= max(0.02, 0.05 * truth), (est.jsd, truth)
    assert 0 <= est.ci_low <= est.jsd <= est.ci_high <= LOG2
    assert est.ci_high - est.ci_low < 0.05
    assert est.n == 10_000 and est.n_test == 2_000


def small_pair(n=600, seed=0):
    g = torch.Generator().manual_seed(seed)
    return CASES["blurred"][0].sample(n, g), CASES["blurred"][1].sample(n, g)


def test_metric_keys_units_and_determinism():
    real, fake = small_pair()
    m = REGISTRY.create("jsd_classifier", max_steps=200)
    out = m(fake, EvalContext(real=real, seed=3))
    assert out["jsd_classifier_bits"] == pytest.approx(out["jsd_classifier"] / LOG2)
    assert out["jsd_classifier_bits_ci_low"] == pytest.approx(out["jsd_classifier_ci_low"] / LOG2)
    assert out["jsd_classifier_ci_low"] <= out["jsd_classifier"] <= out["jsd_classifier_ci_high"]
    assert out["jsd_classifier_n"] == 600 and out["jsd_classifier_steps"] > 0
    assert out["jsd_classifier_seconds"] > 0
    # a function of (samples, seed) only: not of the global RNG
    a = estimate_jsd(real, fake, seed=3, max_steps=200)
    torch.manual_seed(99)
    torch.rand(10)
    b = estimate_jsd(real, fake, seed=3, max_steps=200)
    assert (a.jsd, a.ci_low, a.ci_high, a.steps) == (b.jsd, b.ci_low, b.ci_high, b.steps)
    assert estimate_jsd(real, fake, seed=4, max_steps=200).jsd != a.jsd


def test_unequal_counts_use_balanced_classes():
    real, fake = small_pair()
    e = estimate_jsd(real, fake[:400], seed=0, max_steps=50)
    assert e.n == 400 and e.test_real.shape[0] == e.test_fake.shape[0] == e.n_test


def test_bad_inputs_are_metric_errors():
    real, fake = small_pair(100)
    with pytest.raises(MetricError, match="NaN"):
        estimate_jsd(real, torch.full_like(fake, float("nan")))
    with pytest.raises(MetricError, match="fake ones"):
        estimate_jsd(real, torch.zeros(100, 3))
    with pytest.raises(MetricError, match="at least"):
        estimate_jsd(real[:30], fake[:30])


def test_images_use_a_cnn():
    g = torch.Generator().manual_seed(0)
    blobs = torch.randn(900, 1, 8, 8, generator=g).mul(0.3).clamp(-1, 1)
    real, same, other = blobs[:300], blobs[300:600], blobs[600:].clone()
    other[:, :, 2:6, 2:6] += 0.5  # a bright square: separable
    e_same = estimate_jsd(real, same, seed=0, max_steps=150, patience=50)
    e_other = estimate_jsd(real, other, seed=0, max_steps=150, patience=50)
    assert e_same.model == "cnn"
    assert e_same.jsd < 0.05
    assert e_other.jsd > 0.6
