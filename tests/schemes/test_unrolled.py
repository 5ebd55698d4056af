"""Unrolled GANs: k = 0 is alternating bit for bit; the generator's gradient through the
look-ahead matches finite differences and, on the Dirac-GAN, its closed form."""

import copy

import numpy as np
import pytest
import torch
from scheme_helpers import CPU, built, config, dirac_config, runs

from ganbench.results import RunDir
from ganbench.schemes.unrolled import lookahead_critic
from ganbench.train import train_group


def _train(base, root):
    (spec,) = runs(base)
    train_group([spec], root, CPU)
    d = RunDir(root, spec.suite, spec.run_id)
    return np.load(d.path / "samples.npz")["fake"], d.read_metrics()


@pytest.mark.parametrize("objective", ["nonsaturating", "rsgan"])  # rsgan: real data in G's loss
@pytest.mark.parametrize("variant", ["unrolled", "unrolled_first_order"])
def test_k0_is_alternating_bit_for_bit(tmp_path, objective, variant):
    base = config(objective=objective, training={"iterations": 12, "batch_size": 16},
                  evaluation={"every": 6, "samples": 50, "metrics": ["modes"]})
    alt = dict(base, scheme={"name": "alternating", "d_steps": 2})
    unr = dict(base, scheme={"name": variant, "k": 0, "d_steps": 2})
    fake_a, rows_a = _train(alt, tmp_path / "a")
    fake_u, rows_u = _train(unr, tmp_path / "u")
    assert np.array_equal(fake_a, fake_u)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(rows_a) == strip(rows_u)  # losses and metrics at every evaluation
    # and the look-ahead matters once it is on
    fake_1, _ = _train(dict(base, scheme={"name": variant, "k": 1, "d_steps": 2}), tmp_path / "k1")
    assert not np.array_equal(fake_a, fake_1)


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_generator_gradient_matches_finite_differences(float64):
    # Adam look-ahead from moments that are not zero, with R1 inside the critic's loss
    b = built(config(objective="minimax", regularizer={"name": "r1", "weight": 1.0},
                     model={"name": "mlp", "latent_dim": 2, "width": 4, "depth": 1},
                     optimizer={"lr_g": 0.05, "lr_d": 0.1}, scheme="alternating"))
    game = b.game
    for _ in range(3):
        b.scheme.step(game)
    z, real = game.noise(), game.real()
    k = 3

    def loss(differentiable=True, d_params=None):
        d = d_params or lookahead_critic(game, z, real, k, differentiable)
        return game.g_loss(z, None, d_params=d).sum()

    full = torch.autograd.grad(loss(), game.g_params)
    first = torch.autograd.grad(loss(False), game.g_params)
    fixed = {n: p.detach() for n, p in lookahead_critic(game, z, real, k, False).items()}

    def fd(fn):
        out, eps = [], 1e-6

        def nudge(x, i, value):
            with torch.no_grad():
                x[i] = value

        for p in game.g_params:
            g = torch.zeros_like(p)
            x = p.view(-1)
            for i in range(p.numel()):
                x0 = x[i].item()
                nudge(x, i, x0 + eps)
                up = fn().item()
                nudge(x, i, x0 - eps)
                down = fn().item()
                nudge(x, i, x0)
                g.view(-1)[i] = (up - down) / (2 * eps)
            out.append(g)
        return out

    fd_full = fd(loss)
    fd_fixed = fd(lambda: loss(d_params=fixed))
    for a, n in zip(full, fd_full):
        torch.testing.assert_close(a, n, rtol=1e-5, atol=1e-8)
    for a, n in zip(first, fd_fixed):
        torch.testing.assert_close(a, n, rtol=1e-5, atol=1e-8)
    # the two variants differ: the test would see a look-ahead that is not differentiated
    assert max((a - f).abs().max().item() for a, f in zip(full, first)) > 1e-4


@pytest.mark.parametrize("variant,expected", [("unrolled", -0.8), ("unrolled_first_order", -0.9)])
def test_dirac_wgan_one_step_closed_form(variant, expected):
    # D(x) = psi x, G = theta, data at 0, WGAN: the critic's loss is psi * theta, so one SGD
    # look-ahead step gives psi_1 = psi - lr_d * theta; the generator's loss -psi_1 * theta
    # has derivative -psi + 2 lr_d theta through the step, -psi_1 without it. At
    # (theta, psi) = (1, 1) with lr_d = 0.1 (lr_g = 0.2: TTUR, the look-ahead uses lr_d):
    b = built(dirac_config(scheme={"name": variant, "k": 1},
                           optimizer={"name": "sgd", "lr_g": 0.2, "lr_d": 0.1}))
    _, (g,) = b.scheme.g_grads(b.game)
    assert g.item() == pytest.approx(expected, abs=1e-6)


def test_lookahead_leaves_the_critic_and_its_optimiser_alone():
    b = built(config(objective="nonsaturating", scheme={"name": "unrolled", "k": 3}))
    game = b.game
    b.scheme.step(game)  # Adam moments are not zero any more
    before = [p.detach().clone() for p in game.d_params]
    st = game.opt_d.state()
    moments = [m.clone() for m in st.m + st.v]
    lookahead_critic(game, game.noise(), game.real(), 3, True)
    assert all(torch.equal(a, p) for a, p in zip(before, game.d_params))
    st2 = game.opt_d.state()
    assert st2.t == st.t and all(torch.equal(a, m) for a, m in zip(moments, st2.m + st2.v))


def test_unrolled_rejects_negative_k():
    from ganbench.schemes import REGISTRY

    with pytest.raises(ValueError, match="k"):
        REGISTRY.create("unrolled", k=-1)
    copy.deepcopy(REGISTRY.create("unrolled", k=0))  # k = 0 is valid (alternating)


@pytest.mark.parametrize("variant", ["unrolled", "unrolled_first_order"])
def test_simultaneous_form_k0_is_simultaneous_bit_for_bit(tmp_path, variant):
    base = config(objective="nonsaturating", training={"iterations": 12, "batch_size": 16},
                  evaluation={"every": 6, "samples": 50, "metrics": ["modes"]})
    fake_s, rows_s = _train(dict(base, scheme="simultaneous"), tmp_path / "s")
    fake_u, rows_u = _train(dict(base, scheme={"name": variant, "k": 0, "form": "simultaneous"}),
                            tmp_path / "u")
    assert np.array_equal(fake_s, fake_u)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    assert strip(rows_s) == strip(rows_u)


def test_simultaneous_form_shares_one_batch_and_the_current_point(float64):
    """One iteration of form: simultaneous = the critic's SimGD step and the generator's
    step against the look-ahead critic, both from the same point on the same batch."""
    cfg = config(objective="minimax", model={"name": "mlp", "latent_dim": 2, "width": 4,
                                              "depth": 1},
                 optimizer={"name": "sgd", "lr_g": 0.05, "lr_d": 0.1},
                 scheme={"name": "unrolled", "k": 2, "form": "simultaneous"})
    b = built(cfg)
    game = b.game
    rng = [copy.deepcopy(getattr(game, f"{n}_rng").gens[0].get_state()) for n in ("data", "noise")]
    d0 = [p.detach().clone() for p in game.d_params]
    g0 = [p.detach().clone() for p in game.g_params]
    real, z = game.real(), game.noise()  # the batch the step will draw
    for n, s in zip(("data", "noise"), rng):
        getattr(game, f"{n}_rng").gens[0].set_state(s)
    with torch.no_grad():
        fake = game.generate(z)
    dg = torch.autograd.grad(game.d_loss(real, fake).sum(), game.d_params)
    gg = torch.autograd.grad(game.g_loss(z, None, d_params=lookahead_critic(game, z, real, 2, True)
                                         ).sum(), game.g_params)
    b.scheme.step(game)
    for p, p0, g in zip(game.d_params, d0, dg):
        assert torch.allclose(p, p0 - 0.1 * g, atol=1e-12)
    for p, p0, g in zip(game.g_params, g0, gg):
        assert torch.allclose(p, p0 - 0.05 * g, atol=1e-12)


def test_simultaneous_form_rejects_several_steps():
    from ganbench.schemes import REGISTRY as SCHEMES
    with pytest.raises(ValueError, match="d_steps and g_steps must be 1"):
        SCHEMES.create("unrolled", k=5, d_steps=2, form="simultaneous")
    with pytest.raises(ValueError, match="form: expected one of alternating, simultaneous"):
        SCHEMES.create("unrolled", form="shared")
