"""MMD and Wasserstein-1 against closed forms."""

import math

import numpy as np
import pytest
import torch

from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics.distances import mmd2_unbiased, wasserstein1


def gauss(n, mean, std, d, seed):
    g = torch.Generator().manual_seed(seed)
    return mean + std * torch.randn(n, d, generator=g, dtype=torch.float64)


def mmd2_gauss(mu, s1, s2, d, bandwidths):
    """Population MMD^2 between N(0, s1^2 I) and N(mu, s2^2 I), RBF kernels averaged."""
    def ek(a2, shift2, l2):  # E exp(-|X - Y|^2 / 2l^2) with X - Y ~ N(shift, a2 I)
        return (l2 / (l2 + a2)) ** (d / 2) * math.exp(-shift2 / (2 * (l2 + a2)))
    out = 0.0
    for b in bandwidths:
        l2 = b * b
        out += ek(2 * s1**2, 0, l2) + ek(2 * s2**2, 0, l2) - 2 * ek(s1**2 + s2**2, mu**2 * d, l2)
    return out / len(bandwidths)


def test_mmd_matches_the_population_value():
    d, mu, s1, s2, bw = 2, 0.5, 1.0, 1.5, [0.5, 1.0, 2.0]
    truth = mmd2_gauss(mu, s1, s2, d, bw)
    est = [mmd2_unbiased(gauss(2000, 0, s1, d, 2 * i), gauss(2000, mu, s2, d, 2 * i + 1), bw)
           for i in range(4)]
    assert np.mean(est) == pytest.approx(truth, rel=0.05)


def test_mmd_is_unbiased_under_the_null():
    # the biased (V-statistic) estimate would be ~2 (1 - E k(x, x')) / n = 0.004 here
    est = np.array([mmd2_unbiased(gauss(200, 0, 1, 2, 2 * i), gauss(200, 0, 1, 2, 2 * i + 1), [1.0])
                    for i in range(40)])
    se = est.std(ddof=1) / math.sqrt(len(est))
    assert abs(est.mean()) < 4 * se
    assert abs(est.mean()) < 0.001
    assert (est < 0).any()  # unbiased: negative values happen


def test_mmd_metric_uses_the_median_heuristic():
    real, fake = gauss(500, 0, 1, 2, 0), gauss(500, 3.0, 1, 2, 1)
    out = REGISTRY.create("mmd")(fake.float(), EvalContext(real=real.float()))
    pooled = torch.cat([real, fake])
    med = float(torch.pdist(pooled).median())
    assert out["mmd_bandwidth"] == pytest.approx(med, rel=0.05)
    same = REGISTRY.create("mmd")(gauss(500, 0, 1, 2, 2).float(), EvalContext(real=real.float()))
    assert out["mmd"] > 0.1 > abs(same["mmd"])


def test_wasserstein_of_a_translation_is_its_length():
    real = gauss(300, 0, 1, 2, 0)
    shift = torch.tensor([0.3, -0.4], dtype=torch.float64)
    assert wasserstein1(real, real + shift) == pytest.approx(0.5, abs=1e-9)


def test_wasserstein_in_one_dimension_matches_sorted_matching():
    x, y = gauss(400, 0, 1, 1, 0), gauss(400, 1, 2, 1, 1)
    sorted_cost = float((x.sort(0).values - y.sort(0).values).abs().mean())
    assert wasserstein1(x, y) == pytest.approx(sorted_cost, rel=1e-9)


def test_wasserstein_metric_subsamples_deterministically():
    real, fake = gauss(700, 0, 1, 3, 0).float(), gauss(600, 1, 1, 3, 1).float()
    m = REGISTRY.create("wasserstein", max_samples=250)
    a = m(fake, EvalContext(real=real, seed=3))
    assert a == m(fake, EvalContext(real=real, seed=3))
    assert a["wasserstein_n"] == 250
    assert a != m(fake, EvalContext(real=real, seed=4))
    assert REGISTRY.create("wasserstein")(fake, EvalContext(real=real))["wasserstein_n"] == 600


@pytest.mark.parametrize("name", ["mmd", "wasserstein"])
def test_bad_samples_are_metric_errors(name):
    real = torch.zeros(10, 2)
    with pytest.raises(MetricError, match="NaN"):
        REGISTRY.create(name)(torch.full((10, 2), float("nan")), EvalContext(real=real))
    with pytest.raises(MetricError, match="real samples are"):
        REGISTRY.create(name)(torch.zeros(10, 3), EvalContext(real=real))
