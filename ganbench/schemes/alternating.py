"""Goodfellow et al.'s Algorithm 1: k critic updates, then generator updates.

``order: g_first`` puts the generator's updates first, as Mescheder et al.'s Dirac-GAN
notebook does (its ``trajectory_altgd``); on a deterministic game the two orders give
different trajectories, so the order is part of the protocol.
"""

from __future__ import annotations

from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY

ORDERS = ("d_first", "g_first")


@REGISTRY.register(
    "alternating",
    description="d_steps critic updates then g_steps generator updates per iteration "
                "(order: g_first for the generator's first)",
    reference="Goodfellow et al. 2014, Algorithm 1",
    # added after runs were recorded: left out of run ids at its default
    id_neutral=("order",),
)
class Alternating(Scheme):
    def __init__(self, d_steps: int = 1, g_steps: int = 1, order: str = "d_first"):
        if d_steps < 1 or g_steps < 1:
            raise ValueError("alternating needs d_steps >= 1 and g_steps >= 1")
        if order not in ORDERS:
            raise ValueError(f"order: expected one of {', '.join(ORDERS)}, got {order!r}")
        self.d_steps, self.g_steps, self.order = d_steps, g_steps, order

    def cost_per_step(self):
        return StepCost(critic=self.d_steps, generator=self.g_steps)

    def _critic(self, game):
        for _ in range(self.d_steps):
            d_loss, grads = game.d_step_grads()
            game.step_d(grads)
        return d_loss

    def _generator(self, game):
        for _ in range(self.g_steps):
            g_loss, grads = game.g_step_grads()
            game.step_g(grads)
        return g_loss

    def step(self, game):
        if self.order == "g_first":
            g_loss = self._generator(game)
            d_loss = self._critic(game)
        else:
            d_loss = self._critic(game)
            g_loss = self._generator(game)
        return {"d_loss": d_loss, "g_loss": g_loss}
