"""The model contract: a factory of ensemble generator / critic modules.

``generator(shape, gens)`` returns a module mapping latent codes [E, N, latent_dim] to
samples [E, N, *shape]; ``critic(shape, gens)`` maps [E, N, *shape] to raw outputs [E, N].
``gens`` holds one seeded CPU generator per member, used only for initialisation.
"""

from __future__ import annotations

import torch
from torch import nn


class Model:
    latent_dim: int = 2

    def generator(self, shape: tuple[int, ...], gens: list[torch.Generator]) -> nn.Module:
        raise NotImplementedError

    def critic(self, shape: tuple[int, ...], gens: list[torch.Generator]) -> nn.Module:
        raise NotImplementedError
