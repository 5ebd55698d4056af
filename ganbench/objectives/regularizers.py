"""Regularizers: terms added to the critic's loss that need the critic itself.

Contract: ``penalty(critic, real, fake, rand)`` returns the unweighted penalty per ensemble
member ([E]); ``critic`` maps [E, N, ...] inputs to [E, N] raw outputs, ``rand(*shape)``
draws uniform [0, 1) numbers of shape [E, *shape] from each member's own generator (so a
member is reproducible alone). ``perturb(x, rand)`` may transform the critic's inputs (instance noise).
``after_critic_step(params)`` acts on the critic's
parameters after each of its updates (weight clipping). The trainer multiplies the penalty
by the regularizer's ``weight``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganbench.registry import Registry

REGISTRY = Registry("regularizers")

Critic = Callable[[Tensor], Tensor]
Rand = Callable[..., Tensor]


class Regularizer:
    weight: float = 0.0

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, rand: Rand) -> Tensor | None:
        return None

    def after_critic_step(self, params: list[Tensor]) -> None:
        return None

    def perturb(self, x: Tensor, rand: Rand) -> Tensor:
        """Transform the critic's inputs (real and fake alike) before the critic sees them
        during the critic's and generator's losses (instance noise). Default: identity."""
        return x


def input_grad(critic: Critic, x: Tensor) -> tuple[Tensor, Tensor]:
    """Critic outputs at x and their gradient w.r.t. x (graph kept for double backprop)."""
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, g


def sq_norm(g: Tensor) -> Tensor:
    """Squared gradient norm per sample: [E, N, ...] -> [E, N]."""
    return g.flatten(2).pow(2).sum(-1)
