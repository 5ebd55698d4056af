"""Encoders and decoders for the autoencoder families (``vae``, ``aae``), in the ensemble
convention of the GAN models (member axis first; member e only touches slice e).

Two shapes, one interface: an encoder maps samples [E, N, *shape] to [E, N, out_dim], a
decoder maps codes [E, N, code_dim] to [E, N, *shape].

- MLP: the ``mlp`` model's layers (``EnsembleMLP``), ``depth`` hidden layers of ``width``.
- DCGAN-shaped: the encoder is the DCGAN critic's convolution stack with a last
  s0 x s0 convolution to ``out_dim`` channels; the decoder is the DCGAN generator, whose
  final tanh is kept for outputs in the image range or dropped for logits.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganbench.models.conv import DCGANCritic, DCGANGenerator, EnsembleConv2d, pack, unpack
from ganbench.models.layers import check_activation
from ganbench.models.mlp import EnsembleMLP

NORMS = ("batch", "layer", "none")


def flat_dim(shape) -> int:
    """Features of one sample of ``shape``."""
    return int(torch.tensor(shape).prod())


class ConvEncoder(DCGANCritic):
    """The DCGAN critic's features, then an s0 x s0 convolution to ``out_dim`` channels:
    images [E, N, C, H, W] -> [E, N, out_dim]."""

    def __init__(self, gens, shape, width: int, norm: str, out_dim: int):
        super().__init__(gens, shape, width, norm)
        # the critic's one-channel head is replaced (its init draws are spent, harmlessly)
        self.out = EnsembleConv2d(gens, self.out.cin, out_dim, self.out.weight.shape[-1])

    def forward(self, x: Tensor, code: Tensor | None = None) -> Tensor:
        e = x.shape[0]
        return unpack(self.out(self.features(pack(x))), e).flatten(2)


class Coders:
    """How a family's model builds its encoder and decoder (a mixin of ``Model``)."""

    def encoder(self, gens, shape, out_dim: int) -> nn.Module:
        raise NotImplementedError

    def decoder(self, gens, shape, code_dim: int, squash: bool) -> nn.Module:
        """``squash``: outputs in the image range [-1, 1] (else unbounded, e.g. logits)."""
        raise NotImplementedError


class MLPCoders(Coders):
    def _mlp(self, width: int, depth: int, activation: str) -> None:
        if min(width, depth) < 1:
            raise ValueError("width and depth must be >= 1")
        check_activation(activation, allow_maxout=False)
        self.sizes, self.act = [width] * depth, activation

    def encoder(self, gens, shape, out_dim):
        return EnsembleMLP(gens, [flat_dim(shape), *self.sizes, out_dim], self.act, (out_dim,))

    def decoder(self, gens, shape, code_dim, squash):
        return EnsembleMLP(gens, [code_dim, *self.sizes, flat_dim(shape)], self.act, tuple(shape),
                           out_act="tanh" if squash else None)


class ConvCoders(Coders):
    def _conv(self, width: int, norm: str) -> None:
        if width < 1:
            raise ValueError("width must be >= 1")
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
        self.width, self.norm = width, norm

    @staticmethod
    def _image(shape) -> tuple[int, int, int]:
        if len(shape) != 3:
            raise ValueError(f"a DCGAN-shaped model needs image data [C, H, W], got shape "
                             f"{tuple(shape)}")
        return tuple(int(s) for s in shape)

    def encoder(self, gens, shape, out_dim):
        return ConvEncoder(gens, self._image(shape), self.width, self.norm, out_dim)

    def decoder(self, gens, shape, code_dim, squash):
        net = DCGANGenerator(gens, code_dim, self._image(shape), self.width, self.norm)
        if not squash:
            net.net[-1] = nn.Identity()  # the generator's final tanh
        return net
