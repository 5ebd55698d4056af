"""Regularizers against independent computations: gradient penalties against finite
differences of the critic, R1 on a critic flat on the data, weight clipping, instance noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kstest

from ganbench.models.mlp import EnsembleMLP
from ganbench.objectives.regularizers import REGISTRY, Regularizer
from ganbench.seeding import MemberRandom, generator

E, N, D = 2, 12, 3


class RecordingRand:
    """A member-stacked uniform source (like MemberRandom.rand) that remembers its draws."""

    def __init__(self, seed: int = 0):
        self.g = torch.Generator().manual_seed(seed)
        self.draws: list[torch.Tensor] = []

    def __call__(self, *shape: int) -> torch.Tensor:
        u = torch.rand((E, *shape), generator=self.g, dtype=torch.float64)
        self.draws.append(u)
        return u


def make_critic(scale: float = 4.0):
    gens = [generator(s, "init") for s in range(E)]
    mlp = EnsembleMLP(gens, [D, 16, 16, 1], "tanh", ()).double()
    return mlp, (lambda x: scale * mlp(x))


def batches(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(E, N, D, generator=g, dtype=torch.float64)
    fake = 0.5 * torch.randn(E, N, D, generator=g, dtype=torch.float64) + 1.0
    return real, fake


def fd_norms(critic, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """||grad_x critic|| per sample by central differences (the critic acts per sample)."""
    cols = []
    with torch.no_grad():
        for d in range(x.shape[-1]):
            e = torch.zeros_like(x)
            e[..., d] = h
            cols.append((critic(x + e) - critic(x - e)) / (2 * h))
    return torch.stack(cols, -1).norm(dim=-1)


def interpolates(real, fake, u):
    return u * real + (1 - u) * fake


def dragan_points(real, fake, u):
    std = torch.tensor(np.array([np.std(r.numpy(), ddof=1) for r in real]))[:, None, None]
    return real + 0.5 * std * u


# name -> (points from (real, fake, the uniforms drawn), penalty from per-sample grad norms)
EXPECTED = {
    "gp": (interpolates, lambda n: ((n - 1) ** 2).mean(-1)),
    "gp_one_sided": (interpolates, lambda n: (torch.clamp(n - 1, min=0) ** 2).mean(-1)),
    "r1": (lambda r, f, u: r, lambda n: 0.5 * (n**2).mean(-1)),
    "r2": (lambda r, f, u: f, lambda n: 0.5 * (n**2).mean(-1)),
    "dragan": (dragan_points, lambda n: ((n - 1) ** 2).mean(-1)),
}


def has_penalty(name: str) -> bool:
    real, fake = batches()
    return REGISTRY.create(name).penalty(make_critic()[1], real, fake, RecordingRand()) is not None


PENALTIES = [n for n in REGISTRY.names() if has_penalty(n)]


@pytest.mark.parametrize("name", REGISTRY.names())
def test_every_regularizer_is_checked(name):
    reg = REGISTRY.create(name)
    entry = REGISTRY.entry(name)
    assert entry.description and entry.reference
    assert isinstance(reg.weight, float) and "weight" in entry.params()
    if name in PENALTIES:
        assert name in EXPECTED, f"{name}: add its independent formula to EXPECTED"
        assert reg.weight > 0  # a penalty that is on by default
    else:  # it must act some other way
        acts = (type(reg).after_critic_step is not Regularizer.after_critic_step
                or type(reg).perturb is not Regularizer.perturb)
        assert acts, f"{name} has no penalty, no after_critic_step and no perturb"
    with pytest.raises(ValueError, match="weight"):
        REGISTRY.create(name, weight=-1.0)


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_matches_finite_differences(name):
    _, critic = make_critic()
    real, fake = batches()
    rand = RecordingRand()
    got = REGISTRY.create(name).penalty(critic, real, fake, rand)
    assert got.shape == (E,)
    points_fn, formula = EXPECTED[name]
    u = rand.draws[0] if rand.draws else None
    norms = fd_norms(critic, points_fn(real, fake, u))
    torch.testing.assert_close(got.detach(), formula(norms), atol=1e-7, rtol=1e-6)
    if name.startswith("gp"):  # the one-sided and two-sided forms really differ here
        assert (norms < 1).any() and (norms > 1).any()


@pytest.mark.parametrize("name", ["gp", "r1"])
def test_penalty_gradient_reaches_the_critic_parameters(name):
    """Double backprop: d penalty / d weights agrees with finite differences in the weights."""
    mlp, critic = make_critic()
    real, fake = batches()
    reg = REGISTRY.create(name)
    pen = reg.penalty(critic, real, fake, RecordingRand())
    w = mlp.net[0].weight
    (grad,) = torch.autograd.grad(pen.sum(), w)
    h = 1e-6

    def at(idx, delta):  # the penalty needs autograd (input gradients) to evaluate
        with torch.no_grad():
            w[idx] += delta
        out = float(reg.penalty(critic, real, fake, RecordingRand()).sum().detach())
        with torch.no_grad():
            w[idx] -= delta
        return out

    for idx in [(0, 0, 0), (1, 2, 5), (0, 1, 7)]:
        up, down = at(idx, h), at(idx, -h)
        assert float(grad[idx]) == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
    assert float(grad.abs().max()) > 0


def test_r1_vanishes_for_a_critic_flat_on_the_data():
    def critic(x):  # zero inside the ball of radius 3, growing outside it
        return torch.relu(x.norm(dim=-1) - 3) ** 2

    real, _ = batches()
    real = 2 * real / real.norm(dim=-1, keepdim=True)  # on the sphere of radius 2
    fake = 2 * real  # radius 4, where the critic slopes
    r1, r2 = REGISTRY.create("r1"), REGISTRY.create("r2")
    assert torch.equal(r1.penalty(critic, real, fake, RecordingRand()), torch.zeros(E, dtype=real.dtype))
    # R2 sees the slope: |grad| = 2 (|x| - 3) = 2 at radius 4, so 1/2 |grad|^2 = 2
    torch.testing.assert_close(r2.penalty(critic, real, fake, RecordingRand()),
                               torch.full((E,), 2.0, dtype=real.dtype))


def test_weight_clip_clamps_in_place():
    reg = REGISTRY.create("weight_clip", clip=0.05)
    p = torch.nn.Parameter(torch.tensor([[-0.2, 0.01], [0.049, 0.3]]))
    before = p.data_ptr()
    reg.after_critic_step([p])
    assert p.data_ptr() == before
    assert torch.equal(p.detach(), torch.tensor([[-0.05, 0.01], [0.049, 0.05]]))
    assert reg.penalty(None, None, None, None) is None
    with pytest.raises(ValueError, match="clip"):
        REGISTRY.create("weight_clip", clip=0.0)


def test_instance_noise_is_gaussian_per_member():
    std, n = 0.3, 20000
    x = torch.zeros(2, n, 2)
    y = REGISTRY.create("instance_noise", std=std).perturb(x, MemberRandom([0, 1], "reg", "cpu").rand)
    assert y.shape == x.shape and y.dtype == x.dtype
    for member in y:
        z = member.flatten().double().numpy()
        assert abs(z.mean()) < 4 * std / np.sqrt(z.size)
        assert z.std() == pytest.approx(std, rel=0.02)
        assert kstest(z / std, "norm").pvalue > 1e-3
    assert not torch.equal(y[0], y[1])
    # a member's noise comes from its own stream only: the same alone as in a group
    alone = REGISTRY.create("instance_noise", std=std).perturb(x[1:], MemberRandom([1], "reg", "cpu").rand)
    assert torch.equal(alone[0], y[1])
    assert torch.equal(REGISTRY.create("instance_noise", std=0.0).perturb(x, None), x)
    assert REGISTRY.create("instance_noise").penalty(None, x, x, None) is None
    with pytest.raises(ValueError, match="std"):
        REGISTRY.create("instance_noise", std=-1.0)
