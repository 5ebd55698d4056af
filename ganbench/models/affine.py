"""f-GAN's Gaussian fit (Nowozin et al. 2016, section 4): the generator is an affine map of
a standard normal, G(z) = mu + sigma z, so Q_theta = N(mu, sigma^2) with theta = (mu, sigma)
the parameters themselves; the critic is a tanh MLP (the paper's two hidden layers of 64)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.data.gaussian1d import NOWOZIN
from ganbench.models.base import Model
from ganbench.models.layers import check_activation
from ganbench.models.mlp import EnsembleMLP
from ganbench.models.registry import REGISTRY


class AffineGenerator(nn.Module):
    def __init__(self, members: int, mu: float, sigma: float):
        super().__init__()
        self.mu = nn.Parameter(torch.full((members, 1), float(mu)))
        self.sigma = nn.Parameter(torch.full((members, 1), float(sigma)))

    def forward(self, z: Tensor) -> Tensor:
        # [E, N, 1] -> [E, N, 1]
        return self.mu[:, None, :] + self.sigma[:, None, :] * z


@REGISTRY.register(
    "affine",
    description="1-D generator G(z) = mu + sigma z (Q = N(mu, sigma^2)); tanh MLP critic",
    reference=NOWOZIN,
)
class Affine(Model):
    latent_dim = 1

    def __init__(self, mu: float = 0.0, sigma: float = 1.0, critic_width: int = 64,
                 critic_depth: int = 2, critic_activation: str = "tanh"):
        if not sigma > 0:
            raise ValueError(f"sigma (the generator's initial std) must be > 0, got {sigma}")
        if critic_width < 1 or critic_depth < 1:
            raise ValueError("critic_width and critic_depth must be >= 1")
        check_activation(critic_activation, allow_maxout=False)
        self.mu, self.sigma = float(mu), float(sigma)
        self.d_sizes = [critic_width] * critic_depth
        self.d_act = critic_activation

    def _check(self, shape):
        if tuple(shape) != (1,):
            raise ValueError(f"the affine model needs 1-D data (shape (1,)), got {tuple(shape)}")

    def generator(self, shape, gens):
        self._check(shape)
        return AffineGenerator(len(gens), self.mu, self.sigma)

    def critic(self, shape, gens):
        self._check(shape)
        return EnsembleMLP(gens, [1, *self.d_sizes, 1], self.d_act, ())
