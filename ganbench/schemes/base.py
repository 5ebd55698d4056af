"""The scheme contract: ``step(game)`` performs one training iteration for every member
and returns per-member losses ({"d_loss": [E], "g_loss": [E]}); the trainer checks them for
divergence and never branches on the scheme. ``cost_per_step()`` says what one iteration
costs, so that executors can plan work without knowing schemes by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from torch import Tensor

from ganbench.game import Game


@dataclass(frozen=True)
class StepCost:
    """Work of one iteration, in loss-and-gradient evaluations on one batch (a forward and
    a backward pass): ``critic`` counts the critic's (its updates and any look-ahead
    updates, a differentiated look-ahead counted twice for its double backward),
    ``generator`` the generator's."""

    critic: float
    generator: float

    def __post_init__(self):
        if self.critic < 0 or self.generator < 0:
            raise ValueError(f"step costs must be >= 0, got {self}")

    @property
    def total(self) -> float:
        return self.critic + self.generator


class Scheme(ABC):
    #: optimiser options the scheme needs (e.g. optimistic=True)
    optimizer_options: dict = {}

    @abstractmethod
    def step(self, game: Game) -> dict[str, Tensor]:
        """One iteration for every member: {"d_loss": [E], "g_loss": [E]}."""

    @abstractmethod
    def cost_per_step(self) -> StepCost:
        """Evaluations one ``step`` makes (see ``StepCost``)."""
