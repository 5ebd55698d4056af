"""The conventions the docstrings state against common peer code, checked on values:
R1's weight against GAN_stability's reg_param, LSGAN's two codings, RaGAN against code that
averages its two terms, and the f-GAN generator's alternative form against the saddle form.
The peer formulas are transcribed here, independently of ganbench's code."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganbench import objectives
from ganbench.objectives import least_squares
from ganbench.objectives.regularizers import REGISTRY as REGULARIZERS

G = torch.Generator().manual_seed(11)


def outputs(n: int = 64, scale: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    r = scale * torch.randn(n, generator=G, dtype=torch.float64)
    f = scale * torch.randn(n, generator=G, dtype=torch.float64) - 1.0
    return r, f


def test_r1_weight_is_twice_gan_stabilitys_reg_param():
    w = torch.randn(3, generator=G, dtype=torch.float64)

    def critic(x):  # [E, N, 3] -> [E, N], a smooth non-linear critic
        return torch.tanh(x @ w) + (x**2).sum(-1)

    x = torch.randn(1, 32, 3, generator=G, dtype=torch.float64)
    reg_param = 10.0
    # GAN_stability: reg = reg_param * compute_grad2(d_real, x_real).mean(), compute_grad2
    # being the per-sample sum of squared input gradients
    xr = x[0].clone().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(xr[None])[0].sum(), xr)
    theirs = reg_param * g.pow(2).view(32, -1).sum(1).mean()
    ours = REGULARIZERS.create("r1", weight=2 * reg_param)
    torch.testing.assert_close(ours.weight * ours.penalty(critic, x, x, None)[0].detach(), theirs)


def test_lsgan_codings():
    r, f = outputs()
    paper = objectives.get("lsgan")  # (a, b, c) = (-1, 1, 0)
    zero_one = objectives.get("lsgan", a=0.0, b=1.0, c=1.0)
    # critic losses agree under D' = (D + 1) / 2, up to a factor 1/4 ...
    torch.testing.assert_close(zero_one.d_loss((r + 1) / 2, (f + 1) / 2), paper.d_loss(r, f) / 4)
    # ... the generators do not: c = 1 pulls fakes to the real target, c = 0 to the middle
    g_paper, g_01 = paper.g_loss(f), zero_one.g_loss((f + 1) / 2)
    torch.testing.assert_close(g_paper, 0.5 * (f**2).mean())
    torch.testing.assert_close(g_01, 0.5 * (((f + 1) / 2 - 1) ** 2).mean())
    assert not torch.isclose(g_01, g_paper / 4)
    # and their optimal critics reach Delta/2 - 1 and Delta/8 - 1/4 (the docstring's values)
    p = torch.tensor([0.1, 0.4, 0.2, 0.3], dtype=torch.float64)
    q = torch.tensor([0.3, 0.1, 0.4, 0.2], dtype=torch.float64)
    delta = float(((p - q) ** 2 / (p + q)).sum())
    for obj, want in [(paper, delta / 2 - 1), (zero_one, delta / 8 - 0.25)]:
        c = obj.optimal_critic(p, q)
        value = -(0.5 * (p * (c - obj.b) ** 2).sum() + 0.5 * (q * (c - obj.a) ** 2).sum())
        assert abs(float(value) - want) < 1e-12
        assert abs(obj.target(p, q) - want) < 1e-12
    assert least_squares.LSGAN.__doc__ and "(0, 1, 1)" in least_squares.LSGAN.__doc__


def averaged_ragan(r: torch.Tensor, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RaGAN as the author's code writes it: the mean of the two BCE-with-logits terms."""
    bce = F.binary_cross_entropy_with_logits
    one, zero = torch.ones_like(r), torch.zeros_like(r)
    d = (bce(r - f.mean(), one) + bce(f - r.mean(), zero)) / 2
    g = (bce(r - f.mean(), zero) + bce(f - r.mean(), one)) / 2
    return d, g


def test_ragan_is_twice_code_that_averages_its_terms():
    r, f = outputs()
    r.requires_grad_(True)
    obj = objectives.get("ragan")
    d, g = obj.d_loss(r, f), obj.g_loss(f, r)
    d_avg, g_avg = averaged_ragan(r, f)
    torch.testing.assert_close(d, 2 * d_avg)
    torch.testing.assert_close(g, 2 * g_avg)
    (gr,) = torch.autograd.grad(d, r)
    (gr_avg,) = torch.autograd.grad(d_avg, r)
    torch.testing.assert_close(gr, 2 * gr_avg)


def test_fgan_pearson_generator_gradient_signs_differ_from_the_saddle_form_below_minus_two():
    obj = objectives.get("fgan_pearson")
    v = torch.linspace(-5, 3, 81, dtype=torch.float64).requires_grad_(True)
    (alt,) = torch.autograd.grad(obj.g_loss(v), v)
    # the saddle form: the generator minimises V, whose fake term is -E_Q[f*(g_f(v))],
    # with g_f(v) = v and f*(t) = t^2/4 + t for Pearson chi^2 (Nowozin et al., Table 2)
    saddle_loss = -(v**2 / 4 + v).mean()
    (saddle,) = torch.autograd.grad(saddle_loss, v)
    n = v.numel()
    torch.testing.assert_close(alt, torch.full_like(v, -1.0 / n))
    torch.testing.assert_close(saddle, -(v.detach() / 2 + 1) / n)
    differ = torch.sign(alt) != torch.sign(saddle)
    away = (v.detach() + 2).abs() > 1e-9  # at v = -2 the saddle gradient is 0
    assert torch.equal(differ[away], (v.detach() < -2)[away])
    # the saddle form is -d_loss's fake term: the same as the objective's critic loss part
    torch.testing.assert_close(saddle_loss, -obj.conjugate_of_output(v).mean())


def test_listing_descriptions_state_the_conventions():
    reg, obj = REGULARIZERS, objectives.REGISTRY
    assert "gamma/2" in reg.entry("r1").description and "gamma/2" in reg.entry("r2").description
    assert "a=0, b=1, c=1" in obj.entry("lsgan").description
    assert "averages" in obj.entry("ragan").description
    for name in obj.names():
        if name.startswith("fgan_"):
            text = obj.entry(name).description  # which generator loss it trains, and the other
            assert "alternative form" in text and "generator: saddle" in text
