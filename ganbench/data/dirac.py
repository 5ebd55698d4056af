"""The Dirac-GAN's data: every real sample is the point 0 (Mescheder et al. 2018)."""

from __future__ import annotations

import torch

from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY

MESCHEDER = ("Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually "
             "Converge? (ICML)")


@REGISTRY.register(
    "dirac",
    description="1-D point mass at 0: the Dirac-GAN counterexample to convergence",
    reference=MESCHEDER,
)
class Dirac(Dataset):
    shape = (1,)
    kind = "vector"

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        # nothing is random; the generator is left untouched
        return torch.zeros(n, 1, device=device), None
