import math

import pytest
import torch

from ganbench.data import REGISTRY
from ganbench.data.synthetic import ring_centres


def test_ring_has_k_distinct_modes_on_the_circle():
    c = ring_centres(8, 2.0)
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    # all pairwise distinct: neighbours are 2*r*sin(pi/8) apart
    d = torch.cdist(c, c) + torch.eye(8) * 100
    assert d.min() == pytest.approx(2 * 2.0 * math.sin(math.pi / 8), rel=1e-5)
    assert c[0].tolist() == pytest.approx([2.0, 0.0])


def test_defaults_match_the_literature():
    ring = REGISTRY.create("ring")
    grid = REGISTRY.create("grid")
    assert ring.mode_std() == 0.02 and ring.mode_centres().shape == (8, 2)
    assert grid.mode_std() == 0.05 and grid.mode_centres().shape == (25, 2)
    xs = sorted(set(grid.mode_centres()[:, 0].tolist()))
    assert xs == pytest.approx([-4, -2, 0, 2, 4])


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_samples_are_seeded_and_near_their_modes(name):
    ds = REGISTRY.create(name)
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    x1, y1 = ds.sample_labeled(4000, g1)
    x2, _ = ds.sample_labeled(4000, g2)
    assert torch.equal(x1, x2)
    dist = (x1 - ds.mode_centres()[y1]).norm(dim=1)
    assert dist.max() < 6 * ds.mode_std()
    counts = torch.bincount(y1, minlength=ds.num_classes).float()
    expected = 4000 / ds.num_classes
    assert (counts - expected).abs().max() < 5 * math.sqrt(expected)  # uniform over modes
    # per-axis std of the offsets equals the declared std
    assert (x1 - ds.mode_centres()[y1]).std().item() == pytest.approx(ds.mode_std(), rel=0.05)


def test_log_density_integrates_to_one():
    ds = REGISTRY.create("ring", std=0.3)
    ax = torch.linspace(-4, 4, 401, dtype=torch.float64)
    gx, gy = torch.meshgrid(ax, ax, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).float()
    mass = ds.log_density(pts).double().exp().sum() * (ax[1] - ax[0]) ** 2
    assert mass.item() == pytest.approx(1.0, abs=1e-3)


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError):
        REGISTRY.create("ring", std=-1.0)
    with pytest.raises(ValueError):
        REGISTRY.create("grid", size=0)
