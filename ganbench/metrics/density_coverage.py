"""Density and coverage (Naeem, Oh, Uh, Choi & Yoo 2020, Reliable Fidelity and Diversity
Metrics for Generative Models, ICML): k-NN measures of fidelity and diversity that, unlike
precision and recall, are not inflated by outliers of the real set.

With real features X_1..X_N, generated Y_1..Y_M and r_i the distance from X_i to its k-th
nearest other real sample, B_i the open ball of radius r_i around X_i:

- density = 1/(kM) sum_j sum_i 1[Y_j in B_i]: how many real neighbourhoods a generated
  sample falls into, on average, over k. Its expectation is exactly 1 when Y and X come
  from one distribution (a fresh sample lands among X_i's k nearest of N points with
  probability k/N); above 1 where samples crowd the dense regions of the data.
- coverage = 1/N sum_i 1[some Y_j in B_i]: the share of real neighbourhoods holding a
  generated sample. For one distribution, B_i holds none when X_i's k nearest of its
  N - 1 + M neighbours are all real, so E[coverage] = 1 - prod_{j=1..k} (N-j)/(N+M-j)
  exactly (1 - 2^-k when M = N -> infinity, the paper's limit; ``expected_coverage``).

Features: any registered feature extractor (``ganbench.features``): ``raw`` by default (the
samples as flat vectors, any dimension: the 2-D mixtures directly), ``classifier`` (the
dataset classifier's penultimate layer), ``inception``, ``dinov2_vitl14``, ``clip_vitb32``.
Distances are Euclidean, in float64, computed in blocks so that memory stays O(N * block).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.distances import flat_pair
from ganbench.metrics.registry import REGISTRY

REF = ("Naeem, Oh, Uh, Choi & Yoo 2020, Reliable Fidelity and Diversity Metrics for "
       "Generative Models (ICML)")
BLOCK = 1024  # rows of a distance block: 1024 x 10^4 float64 is 80 MB


def expected_coverage(n_real: int, n_fake: int, k: int) -> float:
    """E[coverage] when real and generated samples come from one continuous distribution."""
    return 1.0 - math.prod((n_real - j) / (n_real + n_fake - j) for j in range(1, k + 1))


def _blocks(a: Tensor, b: Tensor):
    for i in range(0, a.shape[0], BLOCK):
        yield i, torch.cdist(a[i:i + BLOCK], b)


def density_coverage(real: Tensor, fake: Tensor, k: int = 5) -> dict[str, float]:
    """Density and coverage of features ``fake`` [M, D] against ``real`` [N, D]."""
    n, m = real.shape[0], fake.shape[0]
    if k < 1 or k >= n:
        raise MetricError(f"density/coverage need 1 <= k < the number of real samples "
                          f"({n}), got k = {k}")
    real, fake = real.double(), fake.double()
    # k-th nearest other real sample: the (k+1)-th smallest distance, the first being itself
    radius = torch.cat([d.kthvalue(k + 1, dim=1).values for _, d in _blocks(real, real)])
    inside = 0
    covered = torch.zeros(n, dtype=torch.bool)
    for _, d in _blocks(fake, real):  # [block of fake, N]
        hit = d < radius  # generated sample j in the ball of real sample i
        inside += int(hit.sum())
        covered |= hit.any(0)
    return {"density": inside / (k * m), "coverage": float(covered.double().mean())}


class _DensityCoverage(Metric):
    band = (0.02, 0.0)
    min_samples = 2

    def __init__(self, k: int = 5, features: str = "raw"):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        from ganbench.registry import registry, unknown_message

        # through the registry (it imports ganbench.features): the extractors read metrics'
        # classifiers, so metrics import no extractor module
        extractors = registry("features")
        if features not in extractors:
            raise ValueError(unknown_message("feature extractor", str(features),
                                             extractors.names()))
        self.k, self.features = k, features
        self.extractor = extractors.create(features)
        self.min_samples = k + 1  # an instance's own floor: k neighbours need k + 1 samples

    def applies(self, dataset) -> str | None:
        why = self.extractor.applies(dataset)
        return None if why is None else f"features {self.features!r}: {why}"

    def feature_space(self, dataset) -> dict[str, object]:
        return {"extractor": self.features, **self.extractor.preprocessing()}

    def values(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        flat_pair(ctx.real, fake)  # shapes agree, finite
        return density_coverage(self.extractor.extract(ctx.real, ctx),
                                self.extractor.extract(fake, ctx), self.k)


@REGISTRY.register("density", description="mean number of real k-NN balls a generated "
                   "sample falls in, over k (1 when the distributions agree)", reference=REF)
class Density(_DensityCoverage):
    # not a score: 1 is the data's own value, and a generator crowding a dense mode
    # scores above it
    entries = (ResultEntry("density", None, "",
                           "real k-NN balls holding a generated sample, per k (1: as real)"),)

    def __call__(self, fake, ctx):
        return {"density": self.values(fake, ctx)["density"]}


@REGISTRY.register("coverage", description="share of real samples whose k-NN ball holds a "
                   "generated sample", reference=REF)
class Coverage(_DensityCoverage):
    entries = (ResultEntry("coverage", "max", "fraction",
                           "share of real k-NN balls holding a generated sample"),)

    def __call__(self, fake, ctx):
        return {"coverage": self.values(fake, ctx)["coverage"]}
