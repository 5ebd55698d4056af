"""Ensemble layers: every parameter carries the member axis first.

A group of E runs trains as one module: inputs are [E, N, ...] and member e only ever
touches slice e of each parameter, so members are independent runs that share kernels.
A single run is the case E = 1. Each member is initialised from its own generator, so a
member's initial weights do not depend on the group it trains in.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def member_uniform(gens: list[torch.Generator], shape: tuple[int, ...], bound: float) -> Tensor:
    return torch.stack([(torch.rand(shape, generator=g) * 2 - 1) * bound for g in gens])


def spectral_normalize(weight: Tensor, u: Tensor, update: bool) -> Tensor:
    """weight [E, in, out] divided by its largest singular value per member, estimated by
    one power iteration per call (Miyato et al. 2018) from the running estimate u [E, out],
    which is updated in place when ``update``."""
    with torch.no_grad():
        v = F.normalize(torch.einsum("eio,eo->ei", weight, u), dim=-1)
        u_new = F.normalize(torch.einsum("eio,ei->eo", weight, v), dim=-1)
        if update:
            u.copy_(u_new)
    sigma = torch.einsum("ei,eio,eo->e", v, weight, u_new)
    return weight / sigma[:, None, None]


class EnsembleLinear(nn.Module):
    """y[e] = x[e] @ W[e] + b[e]; PyTorch's default (uniform +-1/sqrt(fan_in)) init."""

    def __init__(self, gens: list[torch.Generator], fan_in: int, fan_out: int,
                 spectral_norm: bool = False):
        super().__init__()
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = nn.Parameter(member_uniform(gens, (fan_in, fan_out), bound))
        self.bias = nn.Parameter(member_uniform(gens, (1, fan_out), bound))
        self.spectral_norm = spectral_norm
        if spectral_norm:
            u = torch.stack([torch.randn(fan_out, generator=g) for g in gens])
            self.register_buffer("u", F.normalize(u, dim=-1))

    @property
    def members(self) -> int:
        return self.weight.shape[0]

    def effective_weight(self, weight: Tensor) -> Tensor:
        if not self.spectral_norm:
            return weight
        return spectral_normalize(weight, self.u, update=self.training)

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.effective_weight(self.weight))


ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
