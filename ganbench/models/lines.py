"""WGAN's parallel lines (Arjovsky et al. 2017, Example 1): the generator has one parameter,
G(z) = (theta, Phi(z)) with Phi the standard normal CDF, so a normal latent gives exactly
Q_theta = uniform on {theta} x [0, 1]; the critic is an MLP on the 2-D points.

``train_theta: false`` holds theta fixed while the critic trains (to read each objective's
critic, and its gradient, at a given theta): theta's update is then exactly zero."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganbench.data.lines import ARJOVSKY
from ganbench.models.base import Model
from ganbench.models.layers import check_activation
from ganbench.models.mlp import EnsembleMLP
from ganbench.models.registry import REGISTRY


class LineGenerator(nn.Module):
    def __init__(self, members: int, theta: float, train_theta: bool):
        super().__init__()
        self.theta = nn.Parameter(torch.full((members, 1), float(theta)))
        self.train_theta = train_theta

    def forward(self, z: Tensor) -> Tensor:
        # [E, N, 1] -> [E, N, 2]
        theta = self.theta
        if not self.train_theta:
            # the optimisers need a parameter; its gradient is exactly 0, so Adam, SGD and
            # RMSProp leave theta where it is
            theta = theta.detach() + 0.0 * theta
        u = 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
        return torch.cat([theta[:, None, :].expand(-1, z.shape[1], -1), u], dim=-1)


@REGISTRY.register(
    "parallel_lines",
    description="WGAN's parallel lines: G(z) = (theta, Phi(z)), one parameter theta; MLP "
                "critic",
    reference=ARJOVSKY,
)
class ParallelLinesModel(Model):
    latent_dim = 1

    def __init__(self, theta: float = 1.0, train_theta: bool = True, width: int = 64,
                 depth: int = 2, activation: str = "relu"):
        if not math.isfinite(theta):
            raise ValueError(f"theta must be a finite number, got {theta}")
        if width < 1 or depth < 1:
            raise ValueError(f"width and depth must be >= 1, got {width} and {depth}")
        check_activation(activation, allow_maxout=False)
        self.theta, self.train_theta = float(theta), bool(train_theta)
        self.sizes, self.act = [width] * depth, activation

    def _check(self, shape):
        if tuple(shape) != (2,):
            raise ValueError(f"the parallel_lines model needs 2-D data (shape (2,)), got "
                             f"{tuple(shape)}")

    def generator(self, shape, gens):
        self._check(shape)
        return LineGenerator(len(gens), self.theta, self.train_theta)

    def critic(self, shape, gens):
        self._check(shape)
        return EnsembleMLP(gens, [2, *self.sizes, 1], self.act, ())
