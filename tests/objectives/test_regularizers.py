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


def interpolates(real, fake, draws):
    u = draws[0]
    return u * real + (1 - u) * fake


def dragan_points(real, fake, draws):
    """The authors' points: x + alpha * 0.5 * std(x) * u, alpha per sample (drawn first)."""
    alpha, u = draws
    assert alpha.shape == (E, N, 1) and u.shape == (E, N, D)
    std = torch.tensor(np.array([np.std(r.numpy(), ddof=1) for r in real]))[:, None, None]
    return real + alpha * (0.5 * std * u)


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
    norms = fd_norms(critic, points_fn(real, fake, rand.draws))
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


def authors_dragan(critic_one, x: torch.Tensor, alpha: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A transcription of the DRAGAN authors' penalty (StudioGAN's cal_dra_penalty) for one
    member's batch x [N, D], with its uniforms alpha [N, 1] and u [N, D] given."""
    differences = 0.5 * x.std() * u
    interpolates = (x + alpha * differences).detach().requires_grad_(True)
    out = critic_one(interpolates)
    (grads,) = torch.autograd.grad(out.sum(), interpolates, create_graph=True)
    return ((grads.view(grads.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def test_dragan_matches_the_authors_formula_with_per_sample_alpha():
    mlp, critic = make_critic()
    real, fake = batches()
    rand = RecordingRand()
    got = REGISTRY.create("dragan").penalty(critic, real, fake, rand)
    alpha, u = rand.draws
    for e in range(E):
        def critic_one(x, e=e):  # member e alone: the ensemble critic on a batch placed at e
            xs = torch.zeros(E, *x.shape, dtype=x.dtype).index_copy(0, torch.tensor([e]), x[None])
            return critic(xs)[e]

        want = authors_dragan(critic_one, real[e], alpha[e], u[e])
        torch.testing.assert_close(got[e], want, atol=1e-12, rtol=1e-10)
        w = mlp.net[0].weight  # parameter gradients agree too (they reach the critic's loss)
        (g_got,) = torch.autograd.grad(got[e], w, retain_graph=True)
        (g_want,) = torch.autograd.grad(want, w)
        torch.testing.assert_close(g_got, g_want, atol=1e-12, rtol=1e-10)
    # alpha is one number per sample, not 1: the points are not x + delta
    assert alpha.shape == (E, N, 1) and 0 < float(alpha.min()) and float(alpha.max()) < 1
    at_delta = dragan_points(real, fake, [torch.ones_like(alpha), u])
    assert not torch.allclose(dragan_points(real, fake, [alpha, u]), at_delta)


def test_dragan_draws_per_member():
    """A member's perturbation comes from its own stream: the same alone as in a group."""
    real, fake = batches()
    seen = {}

    def critic(x):
        seen["x"] = x.detach()
        return x.sum(-1)

    REGISTRY.create("dragan").penalty(critic, real, fake, MemberRandom([0, 1], "reg", "cpu").rand)
    group = seen["x"]
    REGISTRY.create("dragan").penalty(critic, real[1:], fake[1:], MemberRandom([1], "reg", "cpu").rand)
    torch.testing.assert_close(seen["x"][0], group[1], atol=0, rtol=0)
    d = group - real
    std = real.flatten(1).std(dim=1)
    assert (d >= 0).all() and (d < 0.5 * std[:, None, None]).all()
    # on a large batch the mean perturbation is 0.5 std E[alpha] E[u] = std / 8 (the
    # alpha-free x + delta would give std / 4); alpha * u has sd 0.22, so 4 sd of the mean
    big = torch.randn(2, 5000, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    REGISTRY.create("dragan").penalty(critic, big, big, MemberRandom([0, 1], "reg", "cpu").rand)
    ratio = (seen["x"] - big).mean(dim=(1, 2)) / big.flatten(1).std(dim=1)
    torch.testing.assert_close(ratio, torch.full((2,), 1 / 8, dtype=ratio.dtype), atol=0.5 * 0.22 * 4 / 100, rtol=0)


def test_weight_clip_clamps_the_initial_critic():
    reg = REGISTRY.create("weight_clip", clip=0.05)
    p = torch.nn.Parameter(torch.tensor([[-0.2, 0.01], [0.049, 0.3]]))
    q = torch.nn.Parameter(torch.tensor([0.7, -0.03]))
    reg.on_critic_init([p, q])
    assert torch.equal(p.detach(), torch.tensor([[-0.05, 0.01], [0.049, 0.05]]))
    assert torch.equal(q.detach(), torch.tensor([0.05, -0.03]))


@pytest.mark.parametrize("name", [n for n in REGISTRY.names() if n != "weight_clip"])
def test_on_critic_init_is_a_no_op_elsewhere(name):
    p = torch.nn.Parameter(torch.tensor([-3.0, 0.5, 7.0]))
    REGISTRY.create(name).on_critic_init([p])
    assert torch.equal(p.detach(), torch.tensor([-3.0, 0.5, 7.0]))


def test_weight_clip_hooks_follow_the_papers_order():
    """Arjovsky et al.'s Algorithm 1 clamps before every critic step; on_critic_init plus
    after_critic_step evaluate every gradient at the same (clamped) points."""
    clip, lr = 0.1, 0.3
    target = torch.tensor([0.5, -0.02, -0.4])

    def grad(w):  # of 1/2 ||w - target||^2
        return w - target

    w0 = torch.tensor([0.8, 0.05, -0.3])
    paper, w = [], w0.clone()
    for _ in range(4):
        w = w.clamp(-clip, clip)
        paper.append(w.clone())
        w = w - lr * grad(w)
    reg = REGISTRY.create("weight_clip", clip=clip)
    ours, p = [], torch.nn.Parameter(w0.clone())
    reg.on_critic_init([p])
    for _ in range(4):
        ours.append(p.detach().clone())
        with torch.no_grad():
            p -= lr * grad(p)
        reg.after_critic_step([p])
    for a, b in zip(paper, ours):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    # without the initial clamp the first step starts outside the range
    assert not torch.equal(w0, paper[0])


def test_the_trainer_clamps_the_built_critic():
    """build() calls on_critic_init: the first critic step already starts in range."""
    from ganbench.suite import parse_suite
    from ganbench.train import build

    runs = parse_suite({"base": {"objective": "wgan", "model": {"name": "mlp", "width": 8, "depth": 1},
                                 "regularizer": {"name": "weight_clip", "clip": 0.01}}}).runs
    params = list(build(runs, torch.device("cpu")).game.D.parameters())
    assert max(float(p.detach().abs().max()) for p in params) == pytest.approx(0.01)
    unclipped = parse_suite({"base": {"objective": "wgan", "regularizer": "none",
                                      "model": {"name": "mlp", "width": 8, "depth": 1}}}).runs
    d = build(unclipped, torch.device("cpu")).game.D
    assert max(float(p.detach().abs().max()) for p in d.parameters()) > 0.1
