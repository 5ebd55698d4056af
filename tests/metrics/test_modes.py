import math

import pytest
import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY, EvalContext


def ctx(ds):
    return EvalContext(real=torch.zeros(1, 2), dataset=ds)


def run(name, fake, ds, **kw):
    return REGISTRY.create(name, **kw)(fake, ctx(ds))


def test_planted_samples_have_exact_answers():
    ds = DATASETS.create("ring")  # std 0.02: high quality within 0.06 of a centre
    c = ds.mode_centres()
    fake = torch.cat([
        c[0].repeat(30, 1),                       # 30 exactly on mode 0
        c[1].repeat(10, 1) + torch.tensor([0.05, 0.0]),  # 10 within 3 std of mode 1
        c[2].repeat(10, 1) + torch.tensor([0.07, 0.0]),  # 10 just outside 3 std of mode 2
        torch.zeros(50, 2),                       # 50 at the centre: far from every mode
    ])
    assert run("modes", fake, ds)["modes"] == 2
    assert run("hq_fraction", fake, ds)["hq_fraction"] == pytest.approx(0.4)
    # histogram over modes (30, 10): KL to uniform over 8 modes
    p = torch.tensor([0.75, 0.25])
    assert run("mode_kl", fake, ds)["mode_kl"] == pytest.approx(float((p * (p * 8).log()).sum()))


def test_thresholded_modes_ignore_stray_samples():
    ds = DATASETS.create("ring")
    c = ds.mode_centres()
    fake = torch.cat([c[0].repeat(999, 1), c[1].repeat(1, 1)])
    out = run("modes", fake, ds, min_fraction=0.05)  # needs >= 0.05*1000/8 = 6.25 samples
    assert out["modes"] == 2 and out["modes_thresholded"] == 1


def test_perfect_generator_covers_everything_with_zero_kl():
    ds = DATASETS.create("grid")
    fake = ds.mode_centres().repeat(40, 1)
    assert run("modes", fake, ds)["modes"] == 25
    assert run("hq_fraction", fake, ds)["hq_fraction"] == 1.0
    assert run("mode_kl", fake, ds)["mode_kl"] == pytest.approx(0.0, abs=1e-12)


def test_real_samples_cover_all_modes():
    ds = DATASETS.create("ring")
    x = ds.sample(5000, torch.Generator().manual_seed(0))
    assert run("modes", x, ds)["modes"] == 8
    # within 3 std in 2-D: P(chi2_2 <= 9) = 1 - exp(-4.5)
    assert run("hq_fraction", x, ds)["hq_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert run("mode_kl", x, ds)["mode_kl"] < 0.01


def test_no_high_quality_sample_gives_the_maximum_kl_and_nan_is_not_high_quality():
    ds = DATASETS.create("ring")
    fake = torch.full((10, 2), float("nan"))
    assert run("mode_kl", fake, ds)["mode_kl"] == pytest.approx(math.log(8))
    assert run("modes", fake, ds)["modes"] == 0
    assert run("hq_fraction", fake, ds)["hq_fraction"] == 0.0


def test_mode_metrics_need_modes():
    class NoModes:
        def mode_centres(self):
            return None

    assert REGISTRY.create("modes").applies(NoModes()) is not None
    assert REGISTRY.create("modes").applies(DATASETS.create("ring")) is None
