"""Consensus optimisation (Mescheder, Nowozin & Geiger 2017, The Numerics of GANs).

Simultaneous gradient descent on each player's loss plus gamma * L, where
L = 1/2 |v|^2 is half the squared norm of the joint gradient field v = (grad_theta g_loss,
grad_psi d_loss) at the current point: the term pulls both players towards points where
the field vanishes and damps the rotation of the game's Jacobian. Both gradients are taken
on one batch (as ``simultaneous``); grad L needs a double backward through both players.
"""

from __future__ import annotations

import torch

from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY


@REGISTRY.register(
    "consensus",
    description="simultaneous updates on each loss plus gamma/2 * |joint gradient|^2",
    reference="Mescheder, Nowozin & Geiger 2017, The Numerics of GANs (NeurIPS)",
)
class Consensus(Scheme):
    def __init__(self, gamma: float = 1.0):
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def cost_per_step(self):
        return StepCost(critic=2, generator=2)  # the field, then the gradient of its norm

    def step(self, game):
        real = game.real()
        z = game.noise()
        # the critic's gradient as a function of the generator too (its move is not detached),
        # since L's gradient in theta reads how grad_psi d_loss changes with theta
        d_loss = game.d_loss(real, game.generate(z))
        g_loss = game.g_loss(z, real if game.needs_real_for_g() else None)
        d_params, g_params = game.d_params, game.g_params
        d_grads = torch.autograd.grad(d_loss.sum(), d_params, create_graph=True)
        g_grads = torch.autograd.grad(g_loss.sum(), g_params, create_graph=True)
        # members are independent, so the sum over members differentiates each one's own L
        half_norm = 0.5 * sum((g * g).sum() for g in (*d_grads, *g_grads))
        reg = torch.autograd.grad(half_norm, [*d_params, *g_params], allow_unused=True)
        reg = [torch.zeros_like(p) if r is None else r for p, r in zip([*d_params, *g_params], reg)]
        n = len(d_params)
        game.step_d([(g + self.gamma * r).detach() for g, r in zip(d_grads, reg[:n])])
        game.step_g([(g + self.gamma * r).detach() for g, r in zip(g_grads, reg[n:])])
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}
