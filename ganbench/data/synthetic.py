"""Synthetic Gaussian mixtures: the ring and grid of the mode-collapse literature."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY


class GaussianMixture(Dataset):
    """Equal-weight isotropic Gaussians at fixed centres; labels are mode indices."""

    kind = "vector"

    def __init__(self, centres: Tensor, std: float, weights: Tensor | None = None):
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.centres = centres.to(torch.float32)
        self.std = float(std)
        self.weights = None if weights is None else weights / weights.sum()
        self.shape = (self.centres.shape[1],)
        self.num_classes = self.centres.shape[0]
        self._on: dict[torch.device, tuple[Tensor, Tensor | None]] = {}

    def _constants(self, dev: torch.device) -> tuple[Tensor, Tensor | None]:
        """Centres and weights on ``dev``, copied once: a copy from host memory every
        draw would make each training step wait for the GPU (a synchronising transfer)."""
        if dev not in self._on:
            self._on[dev] = (self.centres.to(dev),
                             None if self.weights is None else self.weights.to(dev))
        return self._on[dev]

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        dev = generator.device
        k = self.centres.shape[0]
        centres, weights = self._constants(dev)
        if weights is None:
            idx = torch.randint(k, (n,), generator=generator, device=dev)
        else:
            idx = torch.multinomial(weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.shape[0], generator=generator, device=dev)
        x = centres[idx] + self.std * noise
        return x.to(device), idx.to(device)

    def mode_centres(self) -> Tensor:
        return self.centres

    def mode_std(self) -> float:
        return self.std

    def log_density(self, x: Tensor) -> Tensor:
        """Exact log density (for tests and known-truth estimates)."""
        d = x.shape[-1]
        c = self.centres.to(x)
        sq = torch.cdist(x, c).pow(2)
        w = (torch.full((c.shape[0],), 1.0 / c.shape[0]) if self.weights is None else self.weights).to(x)
        log_norm = -0.5 * d * math.log(2 * math.pi * self.std**2)
        return torch.logsumexp(w.log() + log_norm - sq / (2 * self.std**2), dim=-1)


def ring_centres(modes: int, radius: float) -> Tensor:
    # angles 2*pi*k/K for k < K: K distinct modes (linspace to 2*pi would repeat the first)
    ang = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return torch.stack([radius * ang.cos(), radius * ang.sin()], dim=1).float()


def grid_centres(size: int, spacing: float) -> Tensor:
    ax = (torch.arange(size, dtype=torch.float64) - (size - 1) / 2) * spacing
    gx, gy = torch.meshgrid(ax, ax, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).float()


@REGISTRY.register(
    "ring",
    description="mixture of Gaussians evenly spaced on a circle (8 modes by default)",
    reference="Metz et al. 2017, Unrolled GANs (ICLR)",
)
class Ring(GaussianMixture):
    def __init__(self, modes: int = 8, radius: float = 2.0, std: float = 0.02):
        if modes < 1 or radius <= 0:
            raise ValueError("ring needs modes >= 1 and radius > 0")
        super().__init__(ring_centres(modes, radius), std)


@REGISTRY.register(
    "grid",
    description="mixture of Gaussians on a square grid (5x5 by default)",
    reference="Srivastava et al. 2017, VEEGAN (NeurIPS)",
)
class Grid(GaussianMixture):
    def __init__(self, size: int = 5, spacing: float = 2.0, std: float = 0.05):
        if size < 1 or spacing <= 0:
            raise ValueError("grid needs size >= 1 and spacing > 0")
        super().__init__(grid_centres(size, spacing), std)
