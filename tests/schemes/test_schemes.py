"""Every scheme: its update on the bilinear Dirac-GAN by hand, convergence where theory
says so, only optimiser steps (so TTUR, the alive mask and projections apply), and a
short run with every objective."""

import math

import pytest
import torch
from scheme_helpers import CPU, built, config, dirac_config, runs

from ganbench.models import REGISTRY as MODELS
from ganbench.objectives import REGISTRY as OBJECTIVES
from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.train import build


def point(game) -> tuple[float, float]:
    return game.G.theta.item(), game.D.psi.item()


def steps(b, n: int) -> list[tuple[float, float]]:
    out = []
    for _ in range(n):
        b.scheme.step(b.game)
        out.append(point(b.game))
    return out


# WGAN on the Dirac-GAN is the bilinear game: the critic's loss is psi * theta, the
# generator's -psi * theta, so grad_theta = -psi, grad_psi = theta. From (1, 1), h = 0.2:
@pytest.mark.parametrize("scheme,expected", [
    ("simultaneous", [(1.2, 0.8), (1.36, 0.56)]),  # both from the same point
    ("alternating", [(1.16, 0.8), (1.2736, 0.568)]),  # psi first, theta against the new psi
    # extrapolate to (1.2, 0.8), update from (1, 1) with the gradients there
    ("extragradient", [(1.16, 0.76), (1.2656, 0.4976)]),
    # p -= h (2 g_t - g_{t-1}), g_0 = 0
    ("optimistic", [(1.4, 0.6), (1.44, 0.24)]),
])
def test_one_update_by_hand(scheme, expected):
    b = built(dirac_config(scheme=scheme))
    assert point(b.game) == (1.0, 1.0)
    for got, want in zip(steps(b, 2), expected):
        assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("scheme", ["extragradient", "optimistic"])
def test_bilinear_game_converges_where_simultaneous_gd_spirals_out(scheme):
    # min_theta max_psi theta * psi: SimGD multiplies the distance to (0, 0) by
    # sqrt(1 + h^2) every step; extragradient by sqrt(1 - h^2 + h^4); optimism also contracts
    start = math.hypot(1.0, 1.0)
    sim = steps(built(dirac_config(scheme="simultaneous")), 300)
    assert math.hypot(*sim[-1]) == pytest.approx(start * (1 + 0.2**2) ** 150, rel=1e-3)
    dist = [math.hypot(*p) for p in steps(built(dirac_config(scheme=scheme)), 300)]
    assert dist[-1] < 1e-2 * start
    assert dist[-1] < dist[100] < dist[0]


def test_alternating_gd_circles_without_converging():
    dist = [math.hypot(*p) for p in steps(built(dirac_config(scheme="alternating")), 300)]
    assert 0.7 < min(dist) and max(dist) < 2.0  # bounded, never near (0, 0)


@pytest.mark.parametrize("scheme", SCHEMES.names())
def test_players_move_only_through_their_optimisers(scheme):
    # two members: member 0 dead (frozen by the alive mask), member 1 with lr_g = 0: only
    # its critic may move. A scheme that wrote parameters itself would break this.
    b = build(runs(config(objective="nonsaturating", scheme=scheme), grid={"seed": [0, 1]}), CPU)
    game = b.game
    game.alive[0] = False
    game.opt_g.lr[1] = 0.0
    g0 = [p.detach().clone() for p in game.g_params]
    d0 = [p.detach().clone() for p in game.d_params]
    for _ in range(3):
        b.scheme.step(game)
    assert all(torch.equal(a, p) for a, p in zip(g0, game.g_params))
    assert all(torch.equal(a[0], p[0]) for a, p in zip(d0, game.d_params))
    assert any(not torch.equal(a[1], p[1]) for a, p in zip(d0, game.d_params))


def test_optimistic_scheme_makes_optimistic_optimisers():
    b = built(config(scheme="optimistic"))
    assert b.game.opt_g.optimistic and b.game.opt_d.optimistic
    assert not built(config(scheme="simultaneous")).game.opt_d.optimistic


@pytest.mark.parametrize("objective", OBJECTIVES.names())
@pytest.mark.parametrize("scheme", SCHEMES.names())
def test_every_scheme_trains_every_objective(scheme, objective):
    # a tiny MLP of the kind the objective needs (InfoGAN: one with a latent code)
    needs = OBJECTIVES.entry(objective).meta.get("requires_packing")
    model = next(e.name for e in MODELS.entries()
                 if getattr(e.obj, "packing", None) == needs and "width" in e.params())
    b = built(config(objective=objective, scheme=scheme,
                     model={"name": model, "latent_dim": 4, "width": 8, "depth": 1}))
    start = [p.detach().clone() for p in b.game.g_params]
    for _ in range(20):
        losses = b.scheme.step(b.game)
        assert set(losses) == {"d_loss", "g_loss"}
        assert all(v.shape == (1,) and torch.isfinite(v).all() for v in losses.values())
    params = b.game.g_params + b.game.d_params
    assert all(torch.isfinite(p).all() for p in params)
    assert any(not torch.equal(a, p) for a, p in zip(start, b.game.g_params))
