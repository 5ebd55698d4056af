"""A model plug-in: residual MLP generator and critic (ensemble layers, member axis first)."""

import torch
from torch import nn

from ganbench.models import REGISTRY, Model
from ganbench.models.layers import EnsembleLinear


class ResidualNet(nn.Module):
    """[E, N, d_in] -> [E, N, *out_shape]; each member's weights come from its own generator."""

    def __init__(self, gens, d_in, width, blocks, out_shape):
        super().__init__()
        d_out = int(torch.tensor(out_shape).prod()) if out_shape else 1
        self.inp = EnsembleLinear(gens, d_in, width)
        self.blocks = nn.ModuleList(EnsembleLinear(gens, width, width) for _ in range(blocks))
        self.out = EnsembleLinear(gens, width, d_out)
        self.out_shape = tuple(out_shape)

    def forward(self, x):
        h = torch.relu(self.inp(x.flatten(2)))
        for block in self.blocks:
            h = h + torch.relu(block(h))
        y = self.out(h)
        return y.reshape(*y.shape[:2], *self.out_shape)


@REGISTRY.register(
    "residual_mlp",
    description="MLP generator and critic with residual blocks h + relu(W h)",
    reference="He et al. 2016, Deep Residual Learning (CVPR), applied to MLPs",
)
class ResidualMLP(Model):
    def __init__(self, latent_dim: int = 8, width: int = 64, blocks: int = 2):
        self.latent_dim, self.width, self.blocks = latent_dim, width, blocks

    def generator(self, shape, gens):
        return ResidualNet(gens, self.latent_dim, self.width, self.blocks, shape)

    def critic(self, shape, gens):
        return ResidualNet(gens, int(torch.tensor(shape).prod()), self.width, self.blocks, ())
