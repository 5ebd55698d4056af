"""Extragradient (Korpelevich 1976) for GANs, as Gidel et al. 2019 use it.

One iteration: both players take a step from the current point w_t to the extrapolated
point w_{t+1/2} with the gradients at w_t; the gradients at w_{t+1/2} (on a fresh batch)
then move both players from w_t (restored from a snapshot) to w_{t+1}.

Optimiser state: both half-steps go through the players' optimisers, so Adam's moments
(and its step count) are updated at the extrapolation and at the update, as in Gidel et
al.'s Extra-Adam. With plain SGD this is exactly Korpelevich's method.
A projection such as weight clipping is applied after both half-steps (the projected
variant). Losses reported are those at w_t.
"""

from __future__ import annotations

import torch

from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY
from ganbench.schemes.simultaneous import joint_grads


@REGISTRY.register(
    "extragradient",
    description="extrapolate both players a step, then update from the original point "
                "with the extrapolated gradients",
    reference="Korpelevich 1976; Gidel et al. 2019, A Variational Inequality Perspective "
              "on GANs (ICLR)",
)
class Extragradient(Scheme):
    def step(self, game):
        d_loss, g_loss, d_grads, g_grads = joint_grads(game)
        params = [*game.d_params, *game.g_params]
        with torch.no_grad():
            snapshot = [p.clone() for p in params]
        game.step_d(d_grads)
        game.step_g(g_grads)
        _, _, d_grads, g_grads = joint_grads(game)
        with torch.no_grad():
            for p, s in zip(params, snapshot):
                p.copy_(s)
        game.step_d(d_grads)
        game.step_g(g_grads)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def cost_per_step(self):
        return StepCost(critic=2, generator=2)  # gradients at w_t and at w_{t+1/2}
