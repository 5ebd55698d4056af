"""The model contract: a factory of ensemble generator / critic modules.

``generator(shape, gens)`` returns a module mapping latent codes [E, N, latent_dim] to
samples [E, N, *shape]; ``critic(shape, gens)`` maps [E, N, *shape] to raw outputs [E, N]
(to [E, N / m] when it scores packs of m samples: ``samples_per_score = m``).
``gens`` holds one seeded CPU generator per member, used only for initialisation.

A model *family* that trains otherwise than a GAN (the VAE, the adversarial autoencoder)
brings its own ``game_class``: a ``ganbench.game.Game`` whose ``train_step`` and
``sample`` say how one iteration and sampling are done, and declares in ``run_problems``
which objectives, regularizers and schemes it can train with (checked with the suite).
"""

from __future__ import annotations

import torch
from torch import nn

from ganbench.game import Game


class Model:
    latent_dim: int = 2
    #: None, or how labels travel with latents and samples: "label" (conditional models)
    #: or "code" (InfoGAN); see models/conditional.py
    packing: str | None = None
    num_codes: int = 0
    #: samples the critic reads per score: m for a PacGAN critic (``pack``), which maps
    #: [E, N, ...] to [E, N / m] scores; the trainer's batch_size must be a multiple of it
    samples_per_score: int = 1
    #: whether the critic is built for the run's regularizers (a critic may pick its
    #: normalisation by them: no batch norm under a per-sample gradient penalty); its
    #: ``critic`` then takes ``regularizers``, their names. The trainer and the grouping
    #: build critics through ``build_critic``, which passes them only to such a model
    reads_regularizers: bool = False
    #: the Game the trainer builds (how one iteration and sampling are done)
    game_class: type[Game] = Game
    #: whether the run plays a GAN game, so names an objective (False: a likelihood model,
    #: such as the VAE, whose runs name ``objective: none``)
    adversarial: bool = True
    #: whether the critic reads samples (False when it judges latent codes, as the
    #: adversarial autoencoder's, or there is none): metrics that read it do not apply
    critic_on_samples: bool = True

    def run_problems(self, objective, regularizer, scheme) -> list[tuple[str, str]]:
        """(run key, message) for each plug-in this model cannot train with (the run's
        ``PluginRef``s; objective and regularizer may be None)."""
        if self.adversarial and objective is None:
            return [("objective", "this model trains against a critic: name an objective "
                                  "('none' is for models without one, such as vae)")]
        return []

    def bind(self, dataset) -> None:
        """Learn what the model needs from the dataset (shape, classes) before building."""
        return None

    def unpack(self, x):
        """Packed samples -> (samples, label index); only for models with ``packing``."""
        raise NotImplementedError

    def generator(self, shape: tuple[int, ...], gens: list[torch.Generator]) -> nn.Module:
        raise NotImplementedError

    def critic(self, shape: tuple[int, ...], gens: list[torch.Generator]) -> nn.Module:
        raise NotImplementedError

    def build_critic(self, shape: tuple[int, ...], gens: list[torch.Generator],
                     regularizers: tuple[str, ...] = ()) -> nn.Module:
        """The critic of a run whose regularizers have these names."""
        if self.reads_regularizers:
            return self.critic(shape, gens, regularizers=tuple(regularizers))
        return self.critic(shape, gens)
