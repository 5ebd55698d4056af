"""The dataset contract: a sampler of real data that knows its modes where it has them."""

from __future__ import annotations

import torch
from torch import Tensor


class Dataset:
    #: shape of one sample
    shape: tuple[int, ...] = ()
    #: "vector" (low-dimensional points) or "image" ([C, H, W] in [-1, 1])
    kind: str = "vector"
    #: number of classes when the dataset has labels (mode index for mixtures)
    num_classes: int | None = None

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu",
               split: str = "train") -> Tensor:
        return self.sample_labeled(n, generator, device, split)[0]

    def sample_labeled(self, n: int, generator: torch.Generator,
                       device: torch.device | str = "cpu", split: str = "train"
                       ) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    # mode structure (None when the dataset has no known modes)
    def mode_centres(self) -> Tensor | None:
        return None

    def mode_std(self) -> float | None:
        return None

    @property
    def dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n
