"""Mode coverage on mixtures, with the definitions of VEEGAN and PacGAN.

A sample is *high quality* if it lies within ``n_std`` standard deviations of its nearest
mode centre (Euclidean distance). Two mode counts:

- ``modes`` (VEEGAN's and PacGAN's definition): a mode is covered if it is the nearest mode
  of at least one high-quality sample. A few stray samples count as a mode found.
- ``modes_thresholded``: a mode is covered only when at least ``min_fraction`` of the count
  a perfect generator would put there lands on it (``min_fraction * n / K`` high-quality
  samples, and at least one).

``modes`` also reports ``modes_thresholded`` (with its own ``min_fraction``), as it did before
the thresholded count was a metric of its own: runs recorded then keep their ids and their
baselines stay comparable. A suite that evaluates both must give them the same settings.
``mode_kl`` is KL(histogram of high-quality samples over modes || uniform), the reverse KL
of PacGAN; with no high-quality sample at all it takes its maximum, log K.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.metrics.base import EvalContext, Metric, ResultEntry, needs_modes
from ganbench.metrics.registry import REGISTRY

VEEGAN = "Srivastava et al. 2017, VEEGAN (NeurIPS); Lin et al. 2018, PacGAN (NeurIPS)"


def mode_histogram(samples: Tensor, centres: Tensor, std: float, n_std: float = 3.0
                   ) -> tuple[Tensor, Tensor]:
    """(counts of high-quality samples per mode [K], high-quality mask [N])."""
    x = samples.reshape(samples.shape[0], -1).to(torch.float64)
    c = centres.to(x)
    dist = torch.cdist(x, c)
    dmin, nearest = dist.min(dim=1)
    hq = torch.isfinite(dmin) & (dmin <= n_std * std)
    counts = torch.bincount(nearest[hq], minlength=c.shape[0])
    return counts, hq


def kl_from_uniform(counts: Tensor) -> float:
    """KL(histogram || uniform over its K bins); log K (its maximum) for an empty one."""
    k = counts.numel()
    total = counts.sum()
    if total == 0:
        return math.log(k)
    p = counts.double() / total
    nz = p > 0
    return float((p[nz] * (p[nz] * k).log()).sum())


class _ModeMetric(Metric):
    default = True

    def __init__(self, n_std: float = 3.0):
        if n_std <= 0:
            raise ValueError("n_std must be > 0")
        self.n_std = n_std

    def applies(self, dataset):
        return needs_modes(dataset)

    def hist(self, fake: Tensor, ctx: EvalContext) -> tuple[Tensor, Tensor]:
        ds = ctx.dataset
        return mode_histogram(fake, ds.mode_centres(), ds.mode_std(), self.n_std)


THRESHOLDED = ResultEntry("modes_thresholded", "max", "modes",
                    "a mode counts when it holds at least min_fraction "
                    "(default 1%) of a perfect generator's share of high-quality samples")


def thresholded_count(counts: Tensor, n: int, min_fraction: float) -> float:
    """Modes holding at least ``min_fraction`` of a perfect generator's share n / K."""
    need = max(1.0, min_fraction * n / counts.numel())
    return float((counts >= need).sum())


def _check_fraction(min_fraction: float) -> None:
    if not 0 <= min_fraction <= 1:
        raise ValueError("min_fraction must be in [0, 1]")


class _Thresholded(_ModeMetric):
    """Mode metrics that report the thresholded count (min_fraction of a perfect share)."""

    band = (1.0, 0.0)

    def __init__(self, n_std: float = 3.0, min_fraction: float = 0.01):
        super().__init__(n_std)
        _check_fraction(min_fraction)
        self.min_fraction = min_fraction

    def thresholded(self, counts, n: int) -> float:
        return thresholded_count(counts, n, self.min_fraction)


@REGISTRY.register("modes", description="modes covered by at least one high-quality sample "
                   "(VEEGAN/PacGAN definition)", reference=VEEGAN)
class Modes(_Thresholded):
    entries = (ResultEntry("modes", "max", "modes",
                     "a mode counts when at least one high-quality sample lands on it "
                     "(VEEGAN/PacGAN definition)"),
               THRESHOLDED)
    # min_fraction: the threshold of the modes_thresholded entry reported alongside

    def __call__(self, fake, ctx):
        counts, _ = self.hist(fake, ctx)
        return {"modes": float((counts > 0).sum()),
                "modes_thresholded": self.thresholded(counts, fake.shape[0])}


@REGISTRY.register("modes_thresholded", description="modes holding at least min_fraction of "
                   "a perfect generator's share of high-quality samples", reference=VEEGAN)
class ModesThresholded(_Thresholded):
    entries = (THRESHOLDED,)
    default = False  # not in default metric sets: they would change existing runs' ids

    def __call__(self, fake, ctx):
        counts, _ = self.hist(fake, ctx)
        return {"modes_thresholded": self.thresholded(counts, fake.shape[0])}


@REGISTRY.register("hq_fraction", description="fraction of samples within n_std std of a mode",
                   reference=VEEGAN)
class HQFraction(_ModeMetric):
    entries = (ResultEntry("hq_fraction", "max", "fraction",
                     "share of samples within n_std (default 3) std of a mode"),)
    band = (0.05, 0.0)

    def __call__(self, fake, ctx):
        _, hq = self.hist(fake, ctx)
        return {"hq_fraction": float(hq.double().mean())}


@REGISTRY.register("mode_kl", description="KL(mode histogram of high-quality samples || uniform)",
                   reference=VEEGAN)
class ModeKL(_ModeMetric):
    entries = (ResultEntry("mode_kl", "min", "nats",
                     "KL(histogram of high-quality samples over modes || uniform)",
                     bounds=(0.0, None)),)
    band = (0.05, 0.0)

    def __call__(self, fake, ctx):
        counts, _ = self.hist(fake, ctx)
        return {"mode_kl": kl_from_uniform(counts)}
