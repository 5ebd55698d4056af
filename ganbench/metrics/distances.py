"""Sample-based distances between real and generated samples: MMD and Wasserstein-1.

- ``mmd``: the unbiased estimate of MMD^2 (Gretton et al. 2012, eq. 3) with a mixture of
  Gaussian RBF kernels k = mean_s exp(-|x - y|^2 / (2 (f_s h)^2)), h the median pairwise
  distance of the pooled samples (the median heuristic) or a given bandwidth. Unbiased, so
  it can be slightly negative when the distributions are equal.
- ``wasserstein``: the exact W1 distance between two equal-size empirical sets, the mean
  Euclidean cost of an optimal assignment (scipy's ``linear_sum_assignment``). Both sets
  are subsampled (seeded) to at most ``max_samples``: the assignment costs O(n^3).

Images are compared as flat pixel vectors.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.registry import REGISTRY
from ganbench.seeding import generator as seeded


def flat_pair(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """Both sample sets as float64 [N, D], checked for shape agreement and finiteness."""
    for name, x in (("real", real), ("fake", fake)):
        if x.ndim < 2 or x.shape[0] < 2:
            raise MetricError(f"{name} samples must be [N, ...] with N >= 2, got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise MetricError(f"{name} samples hold NaN or infinite values")
    if real.shape[1:] != fake.shape[1:]:
        raise MetricError(f"real samples are {tuple(real.shape[1:])}, fake ones {tuple(fake.shape[1:])}")
    return real.reshape(real.shape[0], -1).double(), fake.reshape(fake.shape[0], -1).double()


def subsample(x: Tensor, m: int, gen: torch.Generator) -> Tensor:
    return x if x.shape[0] <= m else x[torch.randperm(x.shape[0], generator=gen)[:m]]


def median_distance(x: Tensor, y: Tensor, gen: torch.Generator, m: int = 1000) -> float:
    """Median pairwise distance of the pooled samples (on at most m of them)."""
    z = subsample(torch.cat([x, y]), m, gen)
    d = torch.pdist(z)
    med = float(d.median()) if d.numel() else 0.0
    return med if med > 0 else 1.0  # all points equal: any bandwidth gives MMD 0


def mmd2_unbiased(x: Tensor, y: Tensor, bandwidths: list[float]) -> float:
    """Unbiased MMD^2 with k = mean over bandwidths of exp(-|x - y|^2 / (2 b^2))."""
    def k(a: Tensor, b: Tensor) -> Tensor:
        d2 = torch.cdist(a, b).square_()
        return torch.stack([torch.exp(-d2 / (2 * s * s)) for s in bandwidths]).mean(0)

    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    # drop the diagonals (k(x, x) terms) for the unbiased within-sample means
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


#: the bandwidth factors of the kernel mixture (times the base bandwidth)
MMD_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


@REGISTRY.register("mmd", description="unbiased MMD^2 with a mixture of RBF kernels "
                   "(median-heuristic bandwidth times factors)",
                   reference="Gretton et al. 2012, A kernel two-sample test (JMLR)")
class MMD(Metric):
    entries = (ResultEntry("mmd", "min", "", "unbiased MMD^2, mixture of RBF kernels"),
               ResultEntry("mmd_bandwidth", None, "", "base bandwidth of the kernels"))
    band = (0.002, 0.1)

    def __init__(self, factors: tuple = MMD_FACTORS, bandwidth: float = 0.0,
                 max_samples: int = 5000):
        factors = tuple(float(f) for f in factors)
        if not factors or min(factors) <= 0:
            raise ValueError("mmd needs one or more factors > 0")
        if bandwidth < 0 or max_samples < 2:
            raise ValueError("mmd needs bandwidth >= 0 (0: median heuristic) and max_samples >= 2")
        self.factors, self.bandwidth, self.max_samples = factors, bandwidth, max_samples

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        x, y = flat_pair(ctx.real, fake)
        g = seeded(ctx.seed, "mmd")
        x, y = subsample(x, self.max_samples, g), subsample(y, self.max_samples, g)
        h = self.bandwidth or median_distance(x, y, g)
        return {"mmd": mmd2_unbiased(x, y, [f * h for f in self.factors]),
                "mmd_bandwidth": h}


def wasserstein1(x: Tensor, y: Tensor) -> float:
    """Exact W1 between two equal-size point sets (uniform weights): optimal assignment."""
    if x.shape[0] != y.shape[0]:
        raise ValueError("wasserstein1 needs equal-size sets")
    cost = torch.cdist(x, y).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols]))


@REGISTRY.register("wasserstein", description="exact Wasserstein-1 distance between the "
                   "(subsampled) real and generated samples by optimal assignment",
                   reference="Villani 2009, Optimal transport; Arjovsky et al. 2017 (WGAN)")
class Wasserstein(Metric):
    entries = (ResultEntry("wasserstein", "min", "", "exact W1 by optimal assignment",
                           bounds=(0.0, None)),
               ResultEntry("wasserstein_n", None, "samples", "samples per side"))
    band = (0.02, 0.1)
    default = True

    def __init__(self, max_samples: int = 2000):
        if max_samples < 2:
            raise ValueError("wasserstein needs max_samples >= 2")
        self.max_samples = max_samples

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        x, y = flat_pair(ctx.real, fake)
        m = min(x.shape[0], y.shape[0], self.max_samples)
        g = seeded(ctx.seed, "wasserstein")
        return {"wasserstein": wasserstein1(subsample(x, m, g), subsample(y, m, g)),
                "wasserstein_n": float(m)}
