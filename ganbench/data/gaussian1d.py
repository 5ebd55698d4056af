"""A fixed 1-D mixture of Gaussians with stated weights, means and stds: the target of
f-GAN's Gaussian fit (Nowozin, Cseke & Tomioka 2016, section 4), whose exact density lets
divergences be computed by quadrature (``ganbench.metrics.gaussian_fit``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY

NOWOZIN = ("Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using "
           "Variational Divergence Minimization (NeurIPS), section 4")


@REGISTRY.register(
    "gaussian_mixture_1d",
    description="1-D mixture of Gaussians with given weights, means and stds (exact density)",
    reference=NOWOZIN,
)
class GaussianMixture1D(Dataset):
    shape = (1,)
    kind = "vector"

    def __init__(self, weights: list = (0.5, 0.5), means: list = (-1.0, 1.0),
                 stds: list = (0.5, 0.5)):
        w, m, s = (list(map(float, v)) for v in (weights, means, stds))
        if not (len(w) == len(m) == len(s) >= 1):
            raise ValueError(f"weights, means and stds need one entry per component and the "
                             f"same length, got {len(w)}, {len(m)} and {len(s)}")
        if any(not math.isfinite(x) for x in (*w, *m, *s)):
            raise ValueError("weights, means and stds must be finite numbers")
        if any(x < 0 for x in w) or not sum(w) > 0:
            raise ValueError(f"weights must be >= 0 with a positive sum, got {w}")
        if any(x <= 0 for x in s):
            raise ValueError(f"stds must be > 0, got {s}")
        total = sum(w)
        self.weights = [x / total for x in w]
        self.means, self.stds = m, s
        self.num_classes = len(w)
        self._on: dict = {}  # device -> (weights, means, stds) as tensors there

    # --- the exact distribution (float64 numpy, for quadrature) ---------------------------
    def log_density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        w, m, s = (np.asarray(v) for v in (self.weights, self.means, self.stds))
        with np.errstate(divide="ignore"):  # a zero weight is a component that is absent
            logw = np.log(w)
        comp = logw - np.log(s) - 0.5 * math.log(2 * math.pi) - 0.5 * ((x - m) / s) ** 2
        return np.logaddexp.reduce(comp, axis=-1)

    def mean(self) -> float:
        return float(np.dot(self.weights, self.means))

    def std(self) -> float:
        w, m, s = (np.asarray(v) for v in (self.weights, self.means, self.stds))
        return float(math.sqrt(np.dot(w, s ** 2 + m ** 2) - np.dot(w, m) ** 2))

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        dev = generator.device
        if dev not in self._on:  # once per device: a host copy every draw would synchronise
            self._on[dev] = (torch.tensor(self.weights, dtype=torch.float64, device=dev),
                             torch.tensor(self.means, device=dev),
                             torch.tensor(self.stds, device=dev))
        w, means, stds = self._on[dev]
        idx = torch.multinomial(w, n, replacement=True, generator=generator)
        noise = torch.randn(n, 1, generator=generator, device=dev)
        m = means[idx, None]
        s = stds[idx, None]
        return (m + s * noise).to(device), idx.to(device)
