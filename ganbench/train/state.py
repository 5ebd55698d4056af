"""One group's training session: what was built, where it writes, its running record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ganbench.game import Game
from ganbench.results import RunDir
from ganbench.suite import RunSpec
from ganbench.train.build import Built
from ganbench.train.ema import EMA


@dataclass
class Session:
    """One group's training: what was built, where it writes, and its running record."""

    specs: list[RunSpec]
    dirs: list[RunDir]
    built: Built
    ema: EMA | None
    device: torch.device
    z_eval: Tensor
    codes: Tensor | None
    real_eval: list[Tensor]
    diverged_at: Tensor
    rows: list[list[dict]]
    final: list[dict[str, float]]
    errors: list[dict[str, str]]
    timings: list[dict[str, float]]
    start: int = 0
    step: int = 0
    train_s: float = 0.0

    @property
    def game(self) -> Game:
        return self.built.game

    @property
    def training(self) -> dict[str, Any]:
        return self.specs[0].config["training"]

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.specs[0].config["evaluation"]
