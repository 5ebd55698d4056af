"""Multi-layer perceptron generator and critic for low-dimensional data."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.models.base import Model
from ganbench.models.layers import EnsembleLinear, activation
from ganbench.models.registry import REGISTRY


class EnsembleMLP(nn.Module):
    def __init__(self, gens, sizes: list[int], act: str, out_shape: tuple[int, ...],
                 spectral_norm: bool = False, out_act: str | None = None):
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(EnsembleLinear(gens, a, b, spectral_norm=spectral_norm))
            if i < len(sizes) - 2:
                layers.append(activation(act))
        if out_act:
            layers.append(activation(out_act))
        self.net = nn.Sequential(*layers)
        self.out_shape = out_shape

    def forward(self, x: Tensor) -> Tensor:
        y = self.net(x.flatten(2))
        return y.reshape(*y.shape[:2], *self.out_shape)


@REGISTRY.register(
    "mlp",
    description="fully connected generator and critic (depth hidden layers of width units)",
    reference="Goodfellow et al. 2014; sizes as in Metz et al. 2017",
)
class MLP(Model):
    def __init__(self, latent_dim: int = 256, width: int = 128, depth: int = 2,
                 critic_width: int = 0, critic_depth: int = 0, activation: str = "relu",
                 critic_activation: str = "", spectral_norm: bool = False):
        if min(latent_dim, width, depth) < 1:
            raise ValueError("mlp needs latent_dim, width and depth >= 1")
        self.latent_dim = latent_dim
        self.g_sizes = [width] * depth
        self.d_sizes = [critic_width or width] * (critic_depth or depth)
        self.act = activation
        self.d_act = critic_activation or activation
        self.spectral_norm = spectral_norm

    def generator(self, shape, gens):
        dim = int(torch.tensor(shape).prod())
        return EnsembleMLP(gens, [self.latent_dim, *self.g_sizes, dim], self.act, tuple(shape))

    def critic(self, shape, gens):
        dim = int(torch.tensor(shape).prod())
        return EnsembleMLP(gens, [dim, *self.d_sizes, 1], self.d_act, (),
                           spectral_norm=self.spectral_norm)
