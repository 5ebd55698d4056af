"""Adversarial autoencoder (Makhzani et al. 2015): an autoencoder whose codes are pushed to
the prior by a GAN game on the latent space, so any registered objective, regularizer
and scheme can drive it.

The latent game: the critic (an MLP on codes) tells prior draws N(0, I) ("real") from the
deterministic encoder's codes of a data batch ("fake"); the encoder is the generator. The
autoencoder player minimises, per member,

    reconstruction + adversarial_weight * (the objective's generator loss on the codes),

the reconstruction being the squared error summed over data dimensions (a Gaussian
likelihood with fixed variance), averaged over the batch; that sum is the reported
``g_loss``. Makhzani et al. alternate a reconstruction phase and a regularisation phase;
here both terms take one step of the autoencoder's optimiser (``optimizer.lr_g``; the
critic's is ``lr_d``), so every scheme applies unchanged: ``alternating`` is their
algorithm with the phases merged, and the others (simultaneous, unrolled, ...) play the
latent game their way. Samples decode prior draws.

Random streams: the members' data streams draw the critic's "real" side (prior draws),
their noise streams the data batches the encoder reads.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ganbench.game import Game, Params
from ganbench.models.base import Model
from ganbench.models.coders import ConvCoders, MLPCoders
from ganbench.models.mlp import EnsembleMLP
from ganbench.models.registry import REGISTRY

MAKHZANI = "Makhzani, Shlens, Jaitly, Goodfellow, Frey 2015, Adversarial Autoencoders"


class AutoEncoder(nn.Module):
    """Encoder and decoder of an ensemble: ``forward(z)`` decodes (the sampler, the model
    contract's G(z)); ``forward(x, encode=True)`` encodes."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, adversarial_weight: float):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.adversarial_weight = adversarial_weight

    def forward(self, inp: Tensor, encode: bool = False) -> Tensor:
        return self.encoder(inp) if encode else self.decoder(inp)


class AAEGame(Game):
    """The latent game (see the module's docstring); ``sample`` is the base's G(z)."""

    def _draw_real(self, gens: list[torch.Generator]) -> Tensor:
        dev = self.data_rng.device
        return torch.stack([torch.randn(self.batch_size, self.latent_dim, generator=g,
                                        device=dev) for g in gens])

    def noise(self) -> Tensor:
        dev = self.noise_rng.device
        return torch.stack([self.dataset.sample(self.batch_size, g, dev)
                            for g in self.noise_rng.gens])

    def generate(self, x: Tensor, g_params: Params | None = None) -> Tensor:
        if g_params is None:
            return self.G(x, encode=True)
        return functional_call(self.G, g_params, (x,), {"encode": True})

    def g_loss(self, x: Tensor, real: Tensor | None = None, d_params: Params | None = None,
               g_params: Params | None = None) -> Tensor:
        code = self.generate(x, g_params)
        recon = self.sample(code, g_params)
        rec = (recon - x).flatten(2).square().sum(-1).mean(-1)
        return rec + self.G.adversarial_weight * self.g_loss_of(code, real, d_params)


class _AAE(Model):
    game_class = AAEGame
    critic_on_samples = False  # the critic judges codes

    def _aae(self, latent_dim: int, critic_width: int, critic_depth: int,
             adversarial_weight: float, spectral_norm: bool) -> None:
        if latent_dim < 1 or critic_width < 1 or critic_depth < 1:
            raise ValueError("latent_dim, critic_width and critic_depth must be >= 1")
        if adversarial_weight <= 0:
            raise ValueError(f"adversarial_weight must be > 0, got {adversarial_weight}")
        self.latent_dim = latent_dim
        self.d_sizes = [critic_width] * critic_depth
        self.adversarial_weight, self.spectral_norm = adversarial_weight, spectral_norm
        self.squash = False  # set by bind: decoded images stay in [-1, 1]

    def bind(self, dataset) -> None:
        self.squash = dataset.kind == "image"

    def generator(self, shape, gens):
        return AutoEncoder(self.encoder(gens, shape, self.latent_dim),
                           self.decoder(gens, shape, self.latent_dim, self.squash),
                           self.adversarial_weight)

    def critic(self, shape, gens):
        return EnsembleMLP(gens, [self.latent_dim, *self.d_sizes, 1], "relu", (),
                           spectral_norm=self.spectral_norm)


@REGISTRY.register(
    "aae",
    description="adversarial autoencoder, MLP encoder and decoder; a latent critic plays "
                "the run's objective against N(0, I) draws",
    reference=MAKHZANI,
)
class AAE(MLPCoders, _AAE):
    def __init__(self, latent_dim: int = 2, width: int = 128, depth: int = 2,
                 activation: str = "relu", critic_width: int = 128, critic_depth: int = 2,
                 adversarial_weight: float = 1.0, spectral_norm: bool = False):
        self._mlp(width, depth, activation)
        self._aae(latent_dim, critic_width, critic_depth, adversarial_weight, spectral_norm)


@REGISTRY.register(
    "aae_dcgan",
    description="adversarial autoencoder, DCGAN-shaped conv encoder and decoder; an MLP "
                "latent critic plays the run's objective against N(0, I) draws",
    reference=MAKHZANI + "; networks: Radford et al. 2016, DCGAN (ICLR)",
)
class AAEDCGAN(ConvCoders, _AAE):
    def __init__(self, latent_dim: int = 8, width: int = 32, norm: str = "batch",
                 critic_width: int = 128, critic_depth: int = 2,
                 adversarial_weight: float = 1.0, spectral_norm: bool = False):
        self._conv(width, norm)
        self._aae(latent_dim, critic_width, critic_depth, adversarial_weight, spectral_norm)
