"""The scheme contract: ``step(game)`` performs one training iteration for every member
and returns per-member losses ({"d_loss": [E], "g_loss": [E]}); the trainer checks them for
divergence and never branches on the scheme."""

from __future__ import annotations

from torch import Tensor

from ganbench.game import Game


class Scheme:
    #: optimiser options the scheme needs (e.g. optimistic=True)
    optimizer_options: dict = {}

    def step(self, game: Game) -> dict[str, Tensor]:
        raise NotImplementedError
