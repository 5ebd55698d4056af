"""Simultaneous gradient descent: both players' gradients at the same point, then both step."""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.game import Game
from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY


def joint_grads(game: Game) -> tuple[Tensor, Tensor, list[Tensor], list[Tensor]]:
    """(d_loss, g_loss, critic grads, generator grads), all at the current point and on one
    batch (the same real samples and latent codes for both players)."""
    real = game.real()
    z = game.noise()
    with torch.no_grad():
        fake = game.generate(z)
    d_loss = game.d_loss(real, fake)
    d_grads = torch.autograd.grad(d_loss.sum(), game.d_params)
    g_loss = game.g_loss(z, real if game.needs_real_for_g() else None)
    g_grads = torch.autograd.grad(g_loss.sum(), game.g_params)
    return d_loss.detach(), g_loss.detach(), list(d_grads), list(g_grads)


#: one joint_grads: both players' gradients once
JOINT_COST = StepCost(critic=1, generator=1)


def joint_step(game: Game) -> dict[str, Tensor]:
    d_loss, g_loss, d_grads, g_grads = joint_grads(game)
    game.step_d(d_grads)
    game.step_g(g_grads)
    return {"d_loss": d_loss, "g_loss": g_loss}


@REGISTRY.register(
    "simultaneous",
    description="both players' gradients at the same point, then both update (SimGD)",
    reference="Mescheder et al. 2017, The Numerics of GANs (NeurIPS)",
)
class Simultaneous(Scheme):
    def step(self, game):
        return joint_step(game)

    def cost_per_step(self):
        return JOINT_COST
