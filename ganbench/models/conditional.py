"""Conditional GAN (Mirza & Osindero 2014) and InfoGAN (Chen et al. 2016) MLPs.

Labels travel *packed* with the tensors the schemes already pass around, so no scheme,
objective or regularizer needs to know about them: a latent is [z, onehot(c)] and a sample
is [x, onehot(c)] (flattened). The game packs real data with its labels (conditional) or
with zeros (InfoGAN: the critic never sees the code). Critics read the label columns
detached, so input-gradient penalties act on x alone.

- ``mlp_conditional``: generator G(z, c); critic by label concatenation or a projection
  critic (Miyato & Koyama 2018): D(x, c) = psi(phi(x)) + <embed(c), phi(x)>.
- ``mlp_infogan``: generator G(z, c) with a categorical code c; the critic body feeds the
  critic score and a Q head predicting c; the critic returns [score, Q logits, code] per
  sample, read by the ``infogan`` objective.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.models.layers import EnsembleLinear, activation, check_activation, member_uniform
from ganbench.models.mlp import MLP, EnsembleMLP
from ganbench.models.registry import REGISTRY


def _dim(shape) -> int:
    return int(torch.tensor(shape).prod())


class PackedGenerator(nn.Module):
    """[z, onehot(c)] -> [x, onehot(c)]: the label is an input and passes through."""

    def __init__(self, gens, sizes, act, classes: int):
        super().__init__()
        self.net = EnsembleMLP(gens, sizes, act, (sizes[-1],))
        self.classes = classes

    def forward(self, z: Tensor) -> Tensor:
        c = z[..., -self.classes:]
        return torch.cat([self.net(z), c], dim=-1)


class ConcatCritic(nn.Module):
    def __init__(self, gens, dim, sizes, act, classes, spectral_norm):
        super().__init__()
        self.dim = dim
        self.net = EnsembleMLP(gens, [dim + classes, *sizes, 1], act, (), spectral_norm)

    def forward(self, xc: Tensor) -> Tensor:
        x, c = xc[..., :self.dim], xc[..., self.dim:].detach()
        return self.net(torch.cat([x, c], dim=-1))


class ProjectionCritic(nn.Module):
    def __init__(self, gens, dim, sizes, act, classes, spectral_norm):
        super().__init__()
        self.dim = dim
        self.body = EnsembleMLP(gens, [dim, *sizes], act, (sizes[-1],), spectral_norm)
        self.act = activation(act)
        self.out = EnsembleLinear(gens, sizes[-1], 1, spectral_norm)
        self.embed = nn.Parameter(member_uniform(gens, (classes, sizes[-1]), 0.1))

    def forward(self, xc: Tensor) -> Tensor:
        x, c = xc[..., :self.dim], xc[..., self.dim:].detach()
        h = self.act(self.body(x))
        proj = (torch.bmm(c, self.embed) * h).sum(-1)
        return self.out(h).squeeze(-1) + proj


class InfoCritic(nn.Module):
    """Shared body; returns [score, Q logits (K), code (K)] per sample."""

    def __init__(self, gens, dim, sizes, act, codes, spectral_norm):
        super().__init__()
        self.dim = dim
        self.body = EnsembleMLP(gens, [dim, *sizes], act, (sizes[-1],), spectral_norm)
        self.act = activation(act)
        self.score = EnsembleLinear(gens, sizes[-1], 1, spectral_norm)
        self.q = EnsembleLinear(gens, sizes[-1], codes)

    def forward(self, xc: Tensor) -> Tensor:
        x, c = xc[..., :self.dim], xc[..., self.dim:].detach()
        h = self.act(self.body(x))
        return torch.cat([self.score(h), self.q(h), c], dim=-1)


class _Packed(MLP):
    packing = "label"

    def _check(self) -> None:
        for name in (self.act, self.d_act):  # maxout is the plain mlp's option only
            check_activation(name, allow_maxout=False)

    def bind(self, dataset) -> None:
        if len(dataset.shape) != 1:
            raise ValueError(f"{type(self).__name__} is for vector data, got shape {dataset.shape}")
        self.sample_shape = tuple(dataset.shape)

    def generator(self, shape, gens):
        k = self.num_codes
        return PackedGenerator(gens, [self.latent_dim + k, *self.g_sizes, _dim(shape)], self.act, k)

    def unpack(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Packed samples [..., D + K] -> (x [..., *shape], code index [...])."""
        d = _dim(self.sample_shape)
        return x[..., :d].reshape(*x.shape[:-1], *self.sample_shape), x[..., d:].argmax(-1)


@REGISTRY.register(
    "mlp_conditional",
    description="conditional MLP: G(z, c), critic by label concatenation or projection",
    reference="Mirza & Osindero 2014; projection critic: Miyato & Koyama 2018",
)
class ConditionalMLP(_Packed):
    packing = "label"

    def __init__(self, latent_dim: int = 256, width: int = 128, depth: int = 2,
                 critic_width: int = 0, critic_depth: int = 0, activation: str = "relu",
                 critic_activation: str = "", spectral_norm: bool = False,
                 critic: str = "projection"):
        super().__init__(latent_dim, width, depth, critic_width, critic_depth, activation,
                         critic_activation, spectral_norm)
        self._check()
        if critic not in ("projection", "concat"):
            raise ValueError(f"critic must be 'projection' or 'concat', got {critic!r}")
        self.critic_kind = critic
        self.num_codes = 0

    def bind(self, dataset) -> None:
        super().bind(dataset)
        if not dataset.num_classes:
            raise ValueError("mlp_conditional needs a dataset with labels (num_classes)")
        self.num_codes = int(dataset.num_classes)

    def critic(self, shape, gens):
        cls = ProjectionCritic if self.critic_kind == "projection" else ConcatCritic
        return cls(gens, _dim(shape), self.d_sizes, self.d_act, self.num_codes, self.spectral_norm)


@REGISTRY.register(
    "mlp_infogan",
    description="InfoGAN MLP: categorical code c in G's input, Q head on the critic body",
    reference="Chen et al. 2016, InfoGAN (NeurIPS)",
)
class InfoGANMLP(_Packed):
    packing = "code"

    def __init__(self, latent_dim: int = 256, width: int = 128, depth: int = 2,
                 critic_width: int = 0, critic_depth: int = 0, activation: str = "relu",
                 critic_activation: str = "", spectral_norm: bool = False, codes: int = 8):
        super().__init__(latent_dim, width, depth, critic_width, critic_depth, activation,
                         critic_activation, spectral_norm)
        self._check()
        if codes < 2:
            raise ValueError("codes must be >= 2")
        self.num_codes = codes

    def critic(self, shape, gens):
        return InfoCritic(gens, _dim(shape), self.d_sizes, self.d_act, self.num_codes,
                          self.spectral_norm)
