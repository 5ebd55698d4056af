"""Goodfellow et al.'s Algorithm 1: k critic updates, then generator updates."""

from __future__ import annotations

from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY


@REGISTRY.register(
    "alternating",
    description="d_steps critic updates then g_steps generator updates per iteration",
    reference="Goodfellow et al. 2014, Algorithm 1",
)
class Alternating(Scheme):
    def __init__(self, d_steps: int = 1, g_steps: int = 1):
        if d_steps < 1 or g_steps < 1:
            raise ValueError("alternating needs d_steps >= 1 and g_steps >= 1")
        self.d_steps, self.g_steps = d_steps, g_steps

    def cost_per_step(self):
        return StepCost(critic=self.d_steps, generator=self.g_steps)

    def step(self, game):
        for _ in range(self.d_steps):
            d_loss, grads = game.d_step_grads()
            game.step_d(grads)
        for _ in range(self.g_steps):
            g_loss, grads = game.g_step_grads()
            game.step_g(grads)
        return {"d_loss": d_loss, "g_loss": g_loss}
