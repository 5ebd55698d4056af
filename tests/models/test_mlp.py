"""The mlp model's options: packing (PacGAN), maxout, generator batch norm, Gaussian init.
With every option at its default the networks are the plain MLP, bit for bit."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from ganbench.models import REGISTRY
from ganbench.models.conv import DCGAN
from ganbench.models.layers import EnsembleBatchNorm1d, Maxout, member_uniform
from ganbench.models.mlp import MLP
from ganbench.objectives.regularizers import GradientPenalty
from ganbench.seeding import generator
from ganbench.suite import SuiteError, parse_suite
from ganbench.train import train_group

CPU = torch.device("cpu")


def gens(seeds):
    return [generator(s, "init") for s in seeds]


# --- pack: 1 is the plain MLP ----------------------------------------------------------


class PlainMLP(torch.nn.Module):
    """The MLP as it was before the options, written out: per layer a uniform
    +-1/sqrt(fan_in) weight then bias from each member's generator, ReLU between."""

    def __init__(self, g, sizes, out_shape):
        super().__init__()
        self.wb = torch.nn.ParameterList()  # w0, b0, w1, b1, ...
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / math.sqrt(a)
            self.wb.append(torch.nn.Parameter(member_uniform(g, (a, b), bound)))
            self.wb.append(torch.nn.Parameter(member_uniform(g, (1, b), bound)))
        self.out_shape = out_shape

    def forward(self, x):
        h = x.flatten(2)
        layers = len(self.wb) // 2
        for i in range(layers):
            h = torch.baddbmm(self.wb[2 * i + 1], h, self.wb[2 * i])
            if i < layers - 1:
                h = torch.relu(h)
        return h.reshape(*h.shape[:2], *self.out_shape)


def nonsaturating_steps(G, D, steps, latent, seed=0):
    """A few Adam steps of the non-saturating GAN on fixed random batches."""
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2)
    rng = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        real = torch.randn(2, 16, 2, generator=rng) * 0.1 + 1.0
        z = torch.randn(2, 16, latent, generator=rng)
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(G(z).detach())).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(G(z))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    return [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]


def test_pack_1_is_the_plain_mlp_bit_for_bit():
    m = MLP(latent_dim=3, width=8, depth=2, pack=1)
    assert m.samples_per_score == 1
    g = gens([0, 1])  # as the trainer builds: the generator's draws, then the critic's
    G, D = m.generator((2,), g), m.critic((2,), g)
    g = gens([0, 1])
    Gp, Dp = PlainMLP(g, [3, 8, 8, 2], (2,)), PlainMLP(g, [2, 8, 8, 1], ())
    # same initialisation
    for a, b in zip([*G.parameters(), *D.parameters()], [*Gp.parameters(), *Dp.parameters()]):
        assert torch.equal(a, b)
    # same outputs
    z, x = torch.randn(2, 10, 3), torch.randn(2, 10, 2)
    assert torch.equal(G(z), Gp(z)) and torch.equal(D(x), Dp(x))
    assert D(x).shape == (2, 10)
    # same training trajectory
    g0 = G.net[0].weight.detach().clone()
    after, after_plain = nonsaturating_steps(G, D, 5, 3), nonsaturating_steps(Gp, Dp, 5, 3)
    assert all(torch.equal(a, b) for a, b in zip(after, after_plain))
    assert not torch.equal(after[0], G.net[0].weight.new_zeros(1))
    assert not torch.equal(after[0], g0)  # training moved the weights
    # and a suite that writes pack: 1 resolves to the same run as one that does not
    suite = {"base": {"model": {"name": "mlp", "width": 8}}, "grid": {"seed": [0]}}
    packed = copy.deepcopy(suite)
    packed["base"]["model"]["pack"] = 1
    assert parse_suite(suite).runs[0].run_id == parse_suite(packed).runs[0].run_id


# --- pack: m ------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [2, 3])
def test_packed_critic_scores_m_samples_concatenated(m):
    packed = MLP(latent_dim=2, width=8, depth=2, pack=m)
    assert packed.samples_per_score == m
    D = packed.critic((2,), gens([0, 1]))
    # a plain critic on 2m-dimensional inputs draws the same initial weights
    Dplain = MLP(latent_dim=2, width=8, depth=2).critic((2 * m,), gens([0, 1]))
    x = torch.randn(2, 6 * m, 2)
    out = D(x)
    assert out.shape == (2, 6)
    # pack j = samples j*m .. j*m + m - 1, concatenated in sample order
    concat = torch.stack([torch.cat([x[:, j * m + i] for i in range(m)], -1) for j in range(6)], 1)
    assert torch.equal(out, Dplain(concat))
    # scores depend on how the samples are grouped, not only on the batch
    assert not torch.allclose(out, D(x.flip(1)).flip(1))


def test_packed_critic_refuses_a_batch_that_does_not_split_into_packs():
    D = MLP(latent_dim=2, width=8, depth=1, pack=4).critic((2,), gens([0]))
    with pytest.raises(ValueError, match="not a multiple of 4"):
        D(torch.randn(1, 10, 2))


def test_packed_member_in_ensemble_equals_member_alone():
    kw = dict(latent_dim=2, width=16, depth=2, critic_width=8, critic_depth=2,
              critic_activation="maxout", pieces=3, generator_norm="batch", init_std=0.02,
              pack=2)
    m = MLP(**kw)
    G3, D3 = m.generator((2,), gens([0, 1, 2])), m.critic((2,), gens([0, 1, 2]))
    G1, D1 = m.generator((2,), gens([1])), m.critic((2,), gens([1]))
    z = torch.randn(3, 8, 2)
    x3, x1 = G3(z), G1(z[1:2])
    assert torch.allclose(x3[1], x1[0], atol=1e-6)
    assert not torch.allclose(x3[0], x3[1], atol=1e-4)
    assert torch.allclose(D3(x3)[1], D1(x1)[0], atol=1e-6)


def test_gradient_penalty_on_a_packed_critic():
    D = MLP(latent_dim=2, width=16, depth=2, pack=2).critic((2,), gens([0, 1]))
    real, fake = torch.randn(2, 8, 2), torch.randn(2, 8, 2)
    rng = torch.Generator().manual_seed(0)
    pen = GradientPenalty().penalty(D, real, fake, lambda *s: torch.rand(2, *s, generator=rng))
    assert pen.shape == (2,) and torch.isfinite(pen).all() and (pen > 0).all()
    pen.sum().backward()
    first = next(D.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0


@pytest.fixture
def pac_suite():
    return {
        "base": {
            "model": {"name": "mlp", "latent_dim": 2, "width": 16, "depth": 2, "pack": 2,
                      "critic_activation": "maxout", "pieces": 3, "generator_norm": "batch",
                      "init_std": 0.02},
            "training": {"iterations": 6, "batch_size": 16},
            "evaluation": {"every": 3, "samples": 100, "metrics": ["modes", "hq_fraction"]},
        },
        "grid": {"objective": ["nonsaturating", "wgan_gp"], "seed": [0]},
    }


def test_a_packed_run_trains_with_and_without_a_gradient_penalty(tmp_path, pac_suite):
    runs = parse_suite(pac_suite).runs
    assert {r.config["regularizer"] and r.config["regularizer"]["name"] for r in runs} == {None, "gp"}
    for r in runs:  # different objectives: one group each
        (summary,) = train_group([r], tmp_path, CPU)
        assert summary["status"] == "done", summary
        assert 0 <= summary["metrics"]["hq_fraction"] <= 1


# --- maxout, batch norm, init -----------------------------------------------------------------


def test_maxout_is_the_max_over_each_units_pieces():
    x = torch.tensor([[[1.0, 5.0, -2.0, 0.0, 3.0, 3.5]]])  # 2 units x 3 pieces
    assert torch.equal(Maxout(3)(x), torch.tensor([[[5.0, 3.5]]]))


def test_maxout_critic_layers():
    m = MLP(latent_dim=2, width=8, depth=1, critic_width=4, critic_depth=2,
            critic_activation="maxout", pieces=3)
    D = m.critic((2,), gens([0]))
    lin = [p for n, p in D.named_parameters() if n.endswith("weight")]
    assert [tuple(w.shape) for w in lin] == [(1, 2, 12), (1, 4, 12), (1, 4, 1)]
    x = torch.randn(1, 5, 2)
    w1, b1, w2, b2, w3, b3 = D.parameters()
    h = (torch.baddbmm(b1, x, w1)).unflatten(-1, (4, 3)).amax(-1)
    h = (torch.baddbmm(b2, h, w2)).unflatten(-1, (4, 3)).amax(-1)
    assert torch.allclose(D(x), torch.baddbmm(b3, h, w3).squeeze(-1), atol=1e-6)
    # the generator keeps its own activation
    assert not any(isinstance(mod, Maxout) for mod in m.generator((2,), gens([0])).modules())


def test_generator_batch_norm():
    m = MLP(latent_dim=2, width=8, depth=2, generator_norm="batch")
    G = m.generator((2,), gens([0, 1]))
    bns = [mod for mod in G.modules() if isinstance(mod, EnsembleBatchNorm1d)]
    assert len(bns) == 2
    # the linear layer before a batch norm has no bias (the norm's shift replaces it)
    names = [n for n, _ in G.named_parameters()]
    assert names == ["net.0.weight", "net.1.weight", "net.1.bias", "net.3.weight",
                     "net.4.weight", "net.4.bias", "net.6.weight", "net.6.bias"]
    seen = {}
    bns[0].register_forward_hook(lambda mod, i, o: seen.update(out=o))
    G(torch.randn(2, 64, 2) * 5 + 3)
    mean, var = seen["out"].mean(1), seen["out"].var(1, unbiased=False)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)  # per member and unit
    assert torch.allclose(var, torch.ones_like(var), atol=1e-3)
    assert not torch.equal(bns[0].running_mean, torch.zeros_like(bns[0].running_mean))
    # eval mode uses the running statistics: one sample is generated on its own
    G.eval()
    assert torch.isfinite(G(torch.randn(2, 1, 2))).all()


def test_gaussian_init():
    m = MLP(latent_dim=2, width=256, depth=2, init_std=0.02)
    G = m.generator((2,), gens([0]))
    w = G.net[2].weight.detach()
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002
    assert all(float(p.detach().abs().max()) == 0 for n, p in G.named_parameters() if n.endswith("bias"))


@pytest.mark.parametrize("params, words", [
    ({"pack": 0}, "pack"),
    ({"pieces": 1}, "pieces"),
    ({"generator_norm": "layer"}, "generator_norm"),
    ({"init_std": -0.1}, "init_std"),
    ({"critic_activation": "maxoutt"}, "unknown activation"),
])
def test_bad_options_fail_validation(params, words):
    suite = {"base": {"model": {"name": "mlp", **params}}, "grid": {"seed": [0]}}
    with pytest.raises(SuiteError, match=words):
        parse_suite(suite)


def test_conditional_models_refuse_packing_and_maxout():
    with pytest.raises(ValueError, match="unconditional"):
        REGISTRY.create("dcgan_conditional", pack=2)
    with pytest.raises(ValueError, match="maxout"):
        REGISTRY.create("mlp_conditional", critic_activation="maxout")


# --- dcgan -----------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_dcgan_pack_stacks_images_along_channels(norm):
    D = DCGAN(latent_dim=4, width=4, critic_norm=norm, pack=2).critic((1, 8, 8), gens([0, 1]))
    Dplain = DCGAN(latent_dim=4, width=4, critic_norm=norm).critic((2, 8, 8), gens([0, 1]))
    x = torch.rand(2, 6, 1, 8, 8)
    out = D(x)
    assert out.shape == (2, 3)
    assert torch.allclose(out, Dplain(x.reshape(2, 3, 2, 8, 8)), atol=1e-6)
    assert DCGAN(pack=3).samples_per_score == 3
    # pack 1 builds the plain critic
    a = DCGAN(latent_dim=4, width=4, pack=1).critic((1, 8, 8), gens([0]))
    b = DCGAN(latent_dim=4, width=4).critic((1, 8, 8), gens([0]))
    assert type(a) is type(b)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
