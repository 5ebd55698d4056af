"""Goodfellow et al. 2014: the minimax game and its non-saturating generator loss."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganbench.objectives.base import LOG4, Objective, bmean, jsd
from ganbench.objectives.registry import REGISTRY

GOODFELLOW = "Goodfellow et al. 2014, Generative Adversarial Nets (NeurIPS)"


class _SigmoidGAN(Objective):
    """V(D, G) = E_P log D(x) + E_Q log(1 - D(x)), D = sigmoid(raw)."""

    divergence = "2*JSD(P||Q) - log 4"
    activation = "sigmoid"

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
        return bmean(F.softplus(-r)) + bmean(F.softplus(f))

    def optimal_critic(self, p: Tensor, q: Tensor) -> Tensor:
        return p.log() - q.log()  # sigmoid(log p/q) = p / (p + q)

    def target(self, p: Tensor, q: Tensor) -> float:
        return 2.0 * jsd(p, q) - LOG4


@REGISTRY.register(
    "minimax",
    description="original minimax game; generator minimises log(1 - D(G(z))) (saturates)",
    reference=GOODFELLOW,
)
class Minimax(_SigmoidGAN):
    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return -bmean(F.softplus(f))  # = mean log(1 - sigmoid(f))


@REGISTRY.register(
    "nonsaturating",
    description="minimax critic; generator maximises log D(G(z)) (non-saturating)",
    reference=GOODFELLOW + ", section 3",
)
class NonSaturating(_SigmoidGAN):
    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return bmean(F.softplus(-f))  # = -mean log sigmoid(f)
