"""WGAN's parallel lines (Arjovsky, Chintala & Bottou 2017, Example 1): the real data are
uniform on the segment {0} x [0, 1]. With the ``parallel_lines`` model, Q_theta is uniform
on {theta} x [0, 1], so every divergence between them is known exactly: W1 = |theta|, and
for theta != 0 (disjoint supports) JS = log 2, KL = infinity and TV = 1
(``ganbench.metrics.lines``)."""

from __future__ import annotations

import torch

from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY

ARJOVSKY = ("Arjovsky, Chintala & Bottou 2017, Wasserstein Generative Adversarial Networks "
            "(ICML), Example 1")


@REGISTRY.register(
    "parallel_lines",
    description="2-D: uniform on the segment {0} x [0, 1] (WGAN's parallel lines, exact "
                "divergences)",
    reference=ARJOVSKY,
)
class ParallelLines(Dataset):
    shape = (2,)
    kind = "vector"

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        u = torch.rand(n, 1, generator=generator, device=generator.device)
        return torch.cat([torch.zeros_like(u), u], dim=1).to(device), None
