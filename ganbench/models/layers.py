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


def member_normal(gens: list[torch.Generator], shape: tuple[int, ...], mean: float, std: float
                  ) -> Tensor:
    return torch.stack([torch.randn(shape, generator=g) * std + mean for g in gens])


class EnsembleLinear(nn.Module):
    """y[e] = x[e] @ W[e] (+ b[e]). Init: PyTorch's default (uniform +-1/sqrt(fan_in) for
    weight and bias) when ``init_std`` is 0, else weights N(0, init_std^2) and zero biases
    (the DCGAN / PacGAN convention). ``bias=False`` drops the bias (before a batch norm,
    whose shift replaces it)."""

    def __init__(self, gens: list[torch.Generator], fan_in: int, fan_out: int,
                 spectral_norm: bool = False, bias: bool = True, init_std: float = 0.0):
        super().__init__()
        if init_std > 0:
            self.weight = nn.Parameter(member_normal(gens, (fan_in, fan_out), 0.0, init_std))
            self.bias = nn.Parameter(torch.zeros(len(gens), 1, fan_out)) if bias else None
        else:
            bound = 1.0 / math.sqrt(fan_in)
            self.weight = nn.Parameter(member_uniform(gens, (fan_in, fan_out), bound))
            self.bias = nn.Parameter(member_uniform(gens, (1, fan_out), bound)) if bias else None
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
        w = self.effective_weight(self.weight)
        return torch.bmm(x, w) if self.bias is None else torch.baddbmm(self.bias, x, w)


class EnsembleBatchNorm1d(nn.Module):
    """Batch norm of [E, N, C] over the N samples of each member, per channel; affine
    [E, C] initialised to (1, 0), running statistics [E, C] (used in eval mode)."""

    def __init__(self, gens: list[torch.Generator], channels: int, momentum: float = 0.1,
                 eps: float = 1e-5):
        super().__init__()
        e = len(gens)
        self.weight = nn.Parameter(torch.ones(e, channels))
        self.bias = nn.Parameter(torch.zeros(e, channels))
        self.register_buffer("running_mean", torch.zeros(e, channels))
        self.register_buffer("running_var", torch.ones(e, channels))
        self.momentum, self.eps = momentum, eps

    def forward(self, x: Tensor) -> Tensor:
        e, n, c = x.shape
        # members side by side as E*C channels; the flat views share the [E, C] buffers
        y = F.batch_norm(x.transpose(0, 1).reshape(n, e * c), self.running_mean.view(-1),
                         self.running_var.view(-1), self.weight.reshape(-1),
                         self.bias.reshape(-1), self.training, self.momentum, self.eps)
        return y.reshape(n, e, c).transpose(0, 1)


class Maxout(nn.Module):
    """[..., units * pieces] -> [..., units]: the max over each unit's ``pieces`` linear
    pieces (Goodfellow et al. 2013); a unit's pieces are adjacent features."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (-1, self.pieces)).amax(-1)


class PacCritic(nn.Module):
    """Scores packs of m samples (Lin et al. 2018, PacGAN): [E, N, C, ...] is regrouped as
    [E, N / m, m * C, ...] (samples j*m .. j*m + m - 1 form pack j, concatenated along
    the first feature axis in sample order) and ``net`` scores each pack: [E, N / m]."""

    def __init__(self, net: nn.Module, pack: int):
        super().__init__()
        self.net, self.pack = net, pack

    def forward(self, x: Tensor) -> Tensor:
        e, n = x.shape[:2]
        if n % self.pack:
            raise ValueError(f"a critic with pack={self.pack} scores packs of {self.pack} "
                             f"samples: got a batch of {n}, not a multiple of {self.pack}")
        return self.net(x.reshape(e, n // self.pack, self.pack * x.shape[2], *x.shape[3:]))


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


def check_activation(name: str, allow_maxout: bool = True) -> None:
    """Fail early (at suite validation) on a name ``activation`` or the MLP would reject."""
    valid = [*ACTIVATIONS, "maxout"] if allow_maxout else list(ACTIVATIONS)
    if name not in valid:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(valid)}")
