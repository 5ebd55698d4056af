"""InfoGAN (Chen et al. 2016): a base objective plus lambda times the variational
mutual-information term L_I = H(c) - CE(Q(c|G(z, c)), c), maximised by both G and Q.

Works with the ``mlp_infogan`` model, whose critic returns [score, Q logits, code] per
sample (last axis). On plain [N] / [E, N] scores it is exactly its base objective, so its
theory (optimal critic, divergence) is the base's.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from ganbench.objectives.base import Objective
from ganbench.objectives.registry import REGISTRY


def split_info(out: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """[..., N, 1 + 2K] -> score [..., N], Q logits [..., N, K], one-hot code [..., N, K]."""
    if out.ndim < 3 or out.shape[-1] < 3:
        return out, None, None
    k = (out.shape[-1] - 1) // 2
    return out[..., 0], out[..., 1:1 + k], out[..., 1 + k:]


def code_cross_entropy(q_logits: Tensor, code: Tensor) -> Tensor:
    """Mean over the batch of -log Q(c | x): [..., N, K] -> [...]."""
    return -(F.log_softmax(q_logits, dim=-1) * code).sum(-1).mean(-1)


def mi_lower_bound(q_logits: Tensor, code: Tensor) -> Tensor:
    """L_I = H(c) - CE for a uniform categorical code (nats)."""
    return math.log(code.shape[-1]) - code_cross_entropy(q_logits, code)


@REGISTRY.register(
    "infogan",
    description="a base objective plus lambda x the InfoGAN mutual-information bound",
    reference="Chen et al. 2016, InfoGAN (NeurIPS)",
    requires_packing="code",
)
class InfoGAN(Objective):
    divergence = "that of its base objective (default nonsaturating: 2*JSD(P||Q) - log 4)"
    activation = "that of its base objective"

    def __init__(self, base: str = "nonsaturating", lam: float = 1.0):
        if base == "infogan":
            raise ValueError("infogan cannot wrap itself")
        if lam < 0:
            raise ValueError("lam must be >= 0")
        self.base = REGISTRY.create(base)
        self.lam = lam
        self.divergence = self.base.divergence
        self.activation = self.base.activation
        self.uses_real_in_g = self.base.uses_real_in_g

    def d_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        r, _, _ = split_info(d_real)
        f, q, c = split_info(d_fake)
        loss = self.base.d_loss(r, f)
        return loss if q is None else loss + self.lam * code_cross_entropy(q, c)

    def g_loss(self, d_fake: Tensor, d_real: Tensor | None = None) -> Tensor:
        f, q, c = split_info(d_fake)
        r = None if d_real is None else split_info(d_real)[0]
        loss = self.base.g_loss(f, r)
        return loss if q is None else loss + self.lam * code_cross_entropy(q, c)

    # on plain scores (no Q columns) it is its base
    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return self.base.d_loss(r, f)

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return self.base.g_loss(f, r)

    def optimal_critic(self, p, q):
        return self.base.optimal_critic(p, q)

    def target(self, p, q):
        return self.base.target(p, q)
