"""Variational autoencoder (Kingma & Welling 2014), the likelihood baseline beside the GANs.

Encoder q(z | x) = N(mu(x), diag sigma^2(x)); prior p(z) = N(0, I); decoder p(x | z):

- ``gaussian``: N(mean(z), diag s^2) with s learned (one log-std per data dimension and
  member, trained with the ELBO: ``decoder_std: 0``, the default) or fixed
  (``decoder_std > 0``). For 2-D mixtures and images (on images the mean is squashed
  into [-1, 1] as the GAN generators' outputs are).
- ``bernoulli`` (images only): pixels mapped from [-1, 1] to [0, 1] are Bernoulli
  targets of the decoder's logits (the usual cross-entropy on grey levels).

Training maximises the ELBO, E_q[log p(x | z)] - KL(q(z | x) || p(z)), with one
reparameterised draw z = mu + sigma * eps per sample (the KL in closed form); one Adam
(or the run's optimiser) step per iteration at ``optimizer.lr_g``. The reported
``g_loss`` is the negative ELBO in nats per sample, ``kl`` its KL term.

Samples decode prior draws: ``sample: mean`` gives the decoder's mean (the Bernoulli
probabilities mapped back to [-1, 1]), ``sample: draw`` a draw of p(x | z); the
observation noise is part of the sampling latent (the trainer's fixed evaluation latents
then hold [z, eps]), so a sample set is a function of its latents. The parameter shows in
table row labels (``vae(sample=mean)``).

The VAE has no critic: its runs name ``objective: none`` (no regularizer) and the
default ``alternating`` scheme, which for one player is plain gradient descent.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganbench.game import Game
from ganbench.models.base import Model
from ganbench.models.coders import ConvCoders, MLPCoders, flat_dim
from ganbench.models.registry import REGISTRY

KINGMA = "Kingma & Welling 2014, Auto-Encoding Variational Bayes (ICLR)"
LIKELIHOODS = ("gaussian", "bernoulli")
SAMPLES = ("mean", "draw")
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) summed over the last axis."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(-1)


class NoCritic(nn.Module):
    """The critic slot of a model without one: no parameters, and nothing to call."""

    def forward(self, x: Tensor) -> Tensor:
        raise RuntimeError("this model has no critic")


class VAENet(nn.Module):
    """Encoder, decoder and likelihood of an ensemble of VAEs. ``forward`` is the sampler
    (latents [E, N, code_dim (+ data dim for draws)] -> samples [E, N, *shape]); training
    reads ``encode``, ``decode`` and ``log_likelihood``."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, shape: tuple[int, ...],
                 code_dim: int, likelihood: str, decoder_std: float, sample: str,
                 members: int):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.shape, self.code_dim = tuple(shape), code_dim
        self.likelihood, self.sample_kind = likelihood, sample
        self.dim = flat_dim(shape)
        self.fixed_log_std = math.log(decoder_std) if decoder_std > 0 else None
        if likelihood == "gaussian" and decoder_std == 0:
            self.log_std = nn.Parameter(torch.zeros(members, 1, self.dim))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, log sigma^2) of q(z | x), each [E, N, code_dim]."""
        h = self.encoder(x)
        return h[..., :self.code_dim], h[..., self.code_dim:]

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's output [E, N, dim]: the Gaussian's mean or the Bernoulli logits."""
        return self.decoder(z).flatten(2)

    def _log_std(self, like: Tensor) -> Tensor:
        if self.fixed_log_std is not None:
            return torch.full_like(like[:, :1], self.fixed_log_std)
        return self.log_std

    def log_likelihood(self, x: Tensor, out: Tensor) -> Tensor:
        """log p(x | z) per sample [E, N], from the decoder's output at z."""
        x = x.flatten(2)
        if self.likelihood == "bernoulli":
            target = (x + 1) / 2
            return -nn.functional.binary_cross_entropy_with_logits(
                out, target, reduction="none").sum(-1)
        log_std = self._log_std(out)
        return -(0.5 * ((x - out) * torch.exp(-log_std)).square() + log_std
                 + HALF_LOG_2PI).sum(-1)

    def neg_elbo(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
        """(-ELBO, KL) per member [E], averaged over the batch; ``eps`` [E, N, code_dim] is
        the reparameterisation's standard normal draw."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        kl = gaussian_kl(mu, logvar)
        return (kl - self.log_likelihood(x, self.decode(z))).mean(-1), kl.mean(-1)

    def forward(self, latent: Tensor) -> Tensor:
        out = self.decode(latent[..., :self.code_dim])
        eps = latent[..., self.code_dim:] if self.sample_kind == "draw" else None
        if self.likelihood == "bernoulli":
            p = torch.sigmoid(out)
            if eps is not None:  # a draw: 1 where Phi(eps) < p, from the latent's normal eps
                p = (torch.special.ndtr(eps) < p).to(p)
            x = 2 * p - 1
        else:
            x = out if eps is None else out + torch.exp(self._log_std(out)) * eps
        return x.reshape(*x.shape[:2], *self.shape)


class VAEGame(Game):
    """The VAE as a one-player game: no critic, one gradient step on the negative ELBO
    per iteration on a fresh data batch (the members' data streams) with the members'
    noise streams for the reparameterisation."""

    def train_step(self, scheme) -> dict[str, Tensor]:
        net: VAENet = self.G
        x = self.real()
        eps = self.noise_rng.randn(self.batch_size, net.code_dim)
        loss, kl = net.neg_elbo(x, eps)
        grads = torch.autograd.grad(loss.sum(), self.g_params)
        self.step_g(list(grads))
        return {"g_loss": loss.detach(), "kl": kl.detach()}


class _VAE(Model):
    game_class = VAEGame
    adversarial = False
    critic_on_samples = False

    def _vae(self, latent_dim: int, likelihood: str, decoder_std: float, sample: str) -> None:
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, "
                             f"got {likelihood!r}")
        if decoder_std < 0:
            raise ValueError(f"decoder_std must be >= 0 (0: learned), got {decoder_std}")
        if likelihood == "bernoulli" and decoder_std:
            raise ValueError("decoder_std is the gaussian likelihood's; the bernoulli has none")
        if sample not in SAMPLES:
            raise ValueError(f"sample must be one of {', '.join(SAMPLES)}, got {sample!r}")
        self.code_dim = self.latent_dim = latent_dim
        self.likelihood, self.decoder_std, self.sample = likelihood, decoder_std, sample
        self.squash = False  # set by bind: gaussian means on images stay in [-1, 1]

    def bind(self, dataset) -> None:
        if self.likelihood == "bernoulli" and dataset.kind != "image":
            raise ValueError("the bernoulli likelihood is for images (pixels in [-1, 1])")
        self.squash = dataset.kind == "image" and self.likelihood == "gaussian"
        # the sampling latent: the code, and for draws the observation noise
        self.latent_dim = self.code_dim + (flat_dim(dataset.shape) if self.sample == "draw" else 0)

    def generator(self, shape, gens):
        return VAENet(self.encoder(gens, shape, 2 * self.code_dim),
                      self.decoder(gens, shape, self.code_dim, self.squash),
                      shape, self.code_dim, self.likelihood, self.decoder_std, self.sample,
                      len(gens))

    def critic(self, shape, gens):
        return NoCritic()

    def run_problems(self, objective, regularizer, scheme):
        out = []
        if objective is not None:
            out.append(("objective", f"a VAE has no critic: set objective: none, got "
                                     f"{objective.name!r}"))
        if regularizer is not None:
            out.append(("regularizer", f"a VAE has no critic to regularize: set regularizer: "
                                       f"none, got {regularizer.name!r}"))
        if scheme is not None and (scheme.name != "alternating"
                                   or any(v != 1 for v in scheme.params.values())):
            out.append(("scheme", "a VAE is one player taking one gradient step on the "
                                  "negative ELBO per iteration: the scheme must be the default "
                                  f"alternating (d_steps 1, g_steps 1), got {scheme.label()}"))
        return out


@REGISTRY.register(
    "vae",
    description="variational autoencoder, MLP encoder and decoder (gaussian likelihood, "
                "learned or fixed variance); samples: decoder means or draws",
    reference=KINGMA,
    label_params=("sample",),
)
class VAE(MLPCoders, _VAE):
    def __init__(self, latent_dim: int = 2, width: int = 128, depth: int = 2,
                 activation: str = "relu", likelihood: str = "gaussian",
                 decoder_std: float = 0.0, sample: str = "mean"):
        self._mlp(width, depth, activation)
        self._vae(latent_dim, likelihood, decoder_std, sample)


@REGISTRY.register(
    "vae_dcgan",
    description="variational autoencoder, DCGAN-shaped conv encoder and decoder (bernoulli "
                "or gaussian likelihood); samples: decoder means or draws",
    reference=KINGMA + "; networks: Radford et al. 2016, DCGAN (ICLR)",
    label_params=("sample",),
)
class VAEDCGAN(ConvCoders, _VAE):
    def __init__(self, latent_dim: int = 32, width: int = 32, norm: str = "batch",
                 likelihood: str = "bernoulli", decoder_std: float = 0.0,
                 sample: str = "mean"):
        self._conv(width, norm)
        self._vae(latent_dim, likelihood, decoder_std, sample)
