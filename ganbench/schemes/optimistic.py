"""Optimistic mirror descent (optimistic gradient / Optimistic Adam) with simultaneous updates.

Daskalakis et al. analyse p <- p - lr * (2 u_t - u_{t-1}) for both players moving at once
(their last-iterate convergence in bilinear games is for simultaneous updates), so the
scheme is SimGD and the optimism lives in the optimiser: ``optimizer_options`` makes
``train.build`` create both MemberOptimizers with ``optimistic=True`` (u is the SGD or Adam
direction, so Adam gives their Optimistic Adam, Algorithm 1).
"""

from __future__ import annotations

from ganbench.schemes.base import Scheme
from ganbench.schemes.registry import REGISTRY
from ganbench.schemes.simultaneous import JOINT_COST, joint_step


@REGISTRY.register(
    "optimistic",
    description="simultaneous updates with optimism: p -= lr * (2 u_t - u_{t-1}) (OMD / OAdam)",
    reference="Daskalakis, Ilyas, Syrgkanis, Zeng 2018, Training GANs with Optimism (ICLR)",
)
class Optimistic(Scheme):
    optimizer_options = {"optimistic": True}

    def step(self, game):
        return joint_step(game)

    def cost_per_step(self):
        return JOINT_COST  # the optimism is in the optimiser: no extra evaluation
