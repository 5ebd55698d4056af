"""Multi-layer perceptron generator and critic for low-dimensional data.

Options beyond the plain MLP (all off by default, and then the network is exactly the
plain one): ``pack`` (PacGAN, Lin et al. 2018: the critic scores packs of m samples
concatenated), maxout hidden units (``activation`` / ``critic_activation: maxout`` with
``pieces`` linear pieces each), batch norm in the generator's hidden layers
(``generator_norm: batch``) and Gaussian initialisation (``init_std``). PacGAN's 2-D
networks are ``latent_dim: 2, width: 400, depth: 4, generator_norm: batch,
critic_width: 200, critic_depth: 3, critic_activation: maxout, pieces: 5, init_std: 0.02``.

Packing and batches: ``training.batch_size`` counts the samples the trainer draws per
player and step; a packed critic scores them as batch_size / m packs (samples_per_score =
m). PacGAN's minibatch of B packs is therefore ``batch_size: B * m`` (100 packs of m
real and m fake samples in its 2-D experiments). Gradient penalties see the same per-sample
tensors as for any critic: each sample is interpolated on its own and the norm is taken of
its block of the pack's input gradient (so with a unit target the pack's gradient norm is
driven to sqrt(m), a rescaling of the constraint, not a different kind of one).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.models.base import Model
from ganbench.models.layers import (
    EnsembleBatchNorm1d,
    EnsembleLinear,
    Maxout,
    PacCritic,
    activation,
    check_activation,
)
from ganbench.models.registry import REGISTRY

GENERATOR_NORMS = ("none", "batch")


class EnsembleMLP(nn.Module):
    """Linear layers of ``sizes``; hidden ones followed by [batch norm] and the activation
    (maxout: each hidden unit is the max of ``pieces`` linear pieces)."""

    def __init__(self, gens, sizes: list[int], act: str, out_shape: tuple[int, ...],
                 spectral_norm: bool = False, out_act: str | None = None, norm: str = "none",
                 pieces: int = 1, init_std: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            hidden = i < len(sizes) - 2
            width = b * pieces if hidden and act == "maxout" else b
            bn = hidden and norm == "batch"
            layers.append(EnsembleLinear(gens, a, width, spectral_norm=spectral_norm,
                                         bias=not bn, init_std=init_std))
            if hidden:
                if bn:
                    layers.append(EnsembleBatchNorm1d(gens, width))
                layers.append(Maxout(pieces) if act == "maxout" else activation(act))
        if out_act:
            layers.append(activation(out_act))
        self.net = nn.Sequential(*layers)
        self.out_shape = out_shape

    def forward(self, x: Tensor) -> Tensor:
        y = self.net(x.flatten(2))
        return y.reshape(*y.shape[:2], *self.out_shape)


@REGISTRY.register(
    "mlp",
    description="fully connected generator and critic (depth hidden layers of width units); "
                "options: pack (PacGAN), maxout, generator batch norm, Gaussian init",
    reference="Goodfellow et al. 2014; sizes as in Metz et al. 2017; "
              "pack, maxout critic: Lin et al. 2018, PacGAN (NeurIPS)",
)
class MLP(Model):
    def __init__(self, latent_dim: int = 256, width: int = 128, depth: int = 2,
                 critic_width: int = 0, critic_depth: int = 0, activation: str = "relu",
                 critic_activation: str = "", spectral_norm: bool = False, pack: int = 1,
                 pieces: int = 5, generator_norm: str = "none", init_std: float = 0.0):
        if min(latent_dim, width, depth) < 1:
            raise ValueError("mlp needs latent_dim, width and depth >= 1")
        if pack < 1:
            raise ValueError(f"pack (samples per critic score) must be >= 1, got {pack}")
        if pieces < 2:
            raise ValueError(f"pieces (of a maxout unit) must be >= 2, got {pieces}")
        if generator_norm not in GENERATOR_NORMS:
            raise ValueError(f"generator_norm must be one of {', '.join(GENERATOR_NORMS)}, "
                             f"got {generator_norm!r}")
        if init_std < 0:
            raise ValueError(f"init_std must be >= 0 (0: PyTorch's default init), got {init_std}")
        for name in (activation, critic_activation or activation):
            check_activation(name)
        self.latent_dim = latent_dim
        self.g_sizes = [width] * depth
        self.d_sizes = [critic_width or width] * (critic_depth or depth)
        self.act = activation
        self.d_act = critic_activation or activation
        self.spectral_norm = spectral_norm
        self.pack = self.samples_per_score = pack
        self.pieces = pieces
        self.generator_norm = generator_norm
        self.init_std = init_std

    def generator(self, shape, gens):
        dim = int(torch.tensor(shape).prod())
        return EnsembleMLP(gens, [self.latent_dim, *self.g_sizes, dim], self.act, tuple(shape),
                           norm=self.generator_norm, pieces=self.pieces, init_std=self.init_std)

    def critic(self, shape, gens):
        dim = int(torch.tensor(shape).prod())
        net = EnsembleMLP(gens, [dim * self.pack, *self.d_sizes, 1], self.d_act, (),
                          spectral_norm=self.spectral_norm, pieces=self.pieces,
                          init_std=self.init_std)
        return net if self.pack == 1 else PacCritic(net, self.pack)
