"""The Dirac-GAN's players (Mescheder et al. 2018, section 2.2).

Generator: a single learnable point, G(z) = theta for every z. Critic: linear without bias,
D(x) = psi * x. With the data at 0 (dataset ``dirac``) the unique equilibrium is
theta = psi = 0. Parameters carry the member axis first ([E, 1]); every member starts at
the same (theta, psi), so seeds only change what is random in training (instance noise,
penalty samples).

Sign convention: ganbench's critics output high values on real data, the paper's D is
high on fake ones (its f(D(G(z))) + f(-D(x)) form), so psi here is minus the paper's psi;
the dynamics are the mirror image in psi. A start is mirrored too: the paper's (1, 1) is
``theta: 1, psi: -1`` here (``psi: 1`` is the paper's (1, -1), a different trajectory).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.data.dirac import MESCHEDER
from ganbench.models.base import Model
from ganbench.models.registry import REGISTRY


def _member_param(gens: list[torch.Generator], value: float) -> nn.Parameter:
    return nn.Parameter(torch.full((len(gens), 1), float(value)))


def _check_shape(shape: tuple[int, ...]) -> None:
    if tuple(shape) != (1,):
        raise ValueError(f"the dirac model needs 1-D data (shape (1,)), got shape {tuple(shape)}")


class DiracGenerator(nn.Module):
    def __init__(self, gens: list[torch.Generator], theta: float):
        super().__init__()
        self.theta = _member_param(gens, theta)

    def forward(self, z: Tensor) -> Tensor:
        # [E, N, latent] -> [E, N, 1]: theta for every latent code (a copy, not a view of
        # the parameter, so samples taken now do not move with later updates)
        return self.theta[:, None, :].expand(-1, z.shape[1], -1).clone()


class LinearCritic(nn.Module):
    def __init__(self, gens: list[torch.Generator], psi: float):
        super().__init__()
        self.psi = _member_param(gens, psi)

    def forward(self, x: Tensor) -> Tensor:
        # [E, N, 1] -> [E, N]
        return (x * self.psi[:, None, :]).sum(-1)


@REGISTRY.register(
    "dirac",
    description="Dirac-GAN: generator is one learnable point theta, critic D(x) = psi * x",
    reference=MESCHEDER,
)
class DiracModel(Model):
    latent_dim = 1

    def __init__(self, theta: float = 1.0, psi: float = 1.0):
        self.theta, self.psi = float(theta), float(psi)

    def generator(self, shape, gens):
        _check_shape(shape)
        return DiracGenerator(gens, self.theta)

    def critic(self, shape, gens):
        _check_shape(shape)
        return LinearCritic(gens, self.psi)
