"""Density and coverage (Naeem et al. 2020) tested as estimators: their expectations for
identical distributions (exact for finite N, M), and planted mode dropping and blurring."""

import math

import pytest
import torch

from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics.density_coverage import density_coverage, expected_coverage


def _mixture(n: int, gen: torch.Generator, modes: int = 8, std: float = 0.05,
             keep: int | None = None) -> torch.Tensor:
    """n points of a ring of ``modes`` Gaussians; only the first ``keep`` modes drawn."""
    idx = torch.randint(keep or modes, (n,), generator=gen)
    angle = 2 * math.pi * idx.double() / modes
    centres = torch.stack([angle.cos(), angle.sin()], 1)
    return centres + std * torch.randn(n, 2, generator=gen, dtype=torch.float64)


def _repeat(n_real: int, n_fake: int, k: int, reps: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    out = [density_coverage(torch.randn(n_real, 3, generator=gen, dtype=torch.float64),
                            torch.randn(n_fake, 3, generator=gen, dtype=torch.float64), k)
           for _ in range(reps)]
    return [torch.tensor([o[key] for o in out]) for key in ("density", "coverage")]


def _within(values: torch.Tensor, truth: float, z: float = 4.0) -> bool:
    se = values.std() / math.sqrt(len(values))
    return abs(float(values.mean()) - truth) < z * float(se)


@pytest.mark.parametrize("n_real,n_fake,k", [(400, 400, 5), (300, 100, 3)])
def test_identical_distributions_meet_the_analytic_expectations(n_real, n_fake, k):
    density, coverage = _repeat(n_real, n_fake, k, reps=60)
    assert _within(density, 1.0), (float(density.mean()), float(density.std()))
    truth = expected_coverage(n_real, n_fake, k)
    assert _within(coverage, truth), (float(coverage.mean()), truth)


def test_the_finite_sample_coverage_formula_is_not_its_limit():
    # with M = N / 3 the exact expectation and the paper's M = N -> infinity limit differ by
    # far more than the test's tolerance, so the test above tells them apart
    exact, limit = expected_coverage(300, 100, 3), 1 - 2.0 ** -3
    assert abs(exact - limit) > 0.25
    _, coverage = _repeat(300, 100, 3, reps=60)
    assert not _within(coverage, limit)
    assert expected_coverage(10**6, 10**6, 5) == pytest.approx(1 - 2.0 ** -5, abs=1e-5)


def test_dropping_modes_lowers_coverage_not_density_and_blurring_lowers_density():
    gen = torch.Generator().manual_seed(1)
    real = _mixture(2000, gen)
    same = density_coverage(real, _mixture(2000, gen))
    half = density_coverage(real, _mixture(2000, gen, keep=4))
    blurred = density_coverage(real, _mixture(2000, gen, std=0.2))
    assert same["coverage"] > 0.95 and abs(same["density"] - 1) < 0.1
    assert half["coverage"] == pytest.approx(0.5, abs=0.03)  # 4 of 8 modes covered
    assert abs(half["density"] - same["density"]) < 0.1
    assert blurred["density"] < 0.5 * same["density"]


def test_the_metrics_read_any_feature_space_and_k_is_settable():
    gen = torch.Generator().manual_seed(2)
    real, fake = _mixture(500, gen).float(), _mixture(500, gen).float()
    ctx = EvalContext(real=real)
    d3 = REGISTRY.create("density", k=3)(fake, ctx)["density"]
    c3 = REGISTRY.create("coverage", k=3)(fake, ctx)["coverage"]
    assert (d3, c3) == pytest.approx(tuple(density_coverage(real, fake, 3).values()))
    assert c3 != REGISTRY.create("coverage")(fake, ctx)["coverage"]  # k = 5 by default
    imgs = torch.rand(60, 1, 4, 4, generator=gen)  # images: flat pixel vectors
    assert REGISTRY.create("coverage")(imgs[:30], EvalContext(real=imgs[30:]))["coverage"] > 0


def test_k_must_be_below_the_number_of_samples():
    x = torch.randn(10, 2)
    with pytest.raises(MetricError, match="k < the number of real samples"):
        density_coverage(x, x, k=10)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        REGISTRY.create("density", k=0)
    assert REGISTRY.create("coverage", k=7).min_samples == 8
