"""Where a Dirac-GAN run stands: the generator's point theta, the critic's slope psi, and the
distance to the equilibrium (0, 0) (Mescheder et al. 2018).

theta is the mean generated value (every sample equals theta for the ``dirac`` model);
psi is read from the training critic (``ctx.extras["critic"]``) as D(1) - D(0), which is
psi for the linear critic D(x) = psi * x.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganbench.data.dirac import MESCHEDER, Dirac
from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.registry import REGISTRY


def dirac_point(fake: Tensor, ctx: EvalContext) -> tuple[float, float]:
    """(theta, psi) of a run at evaluation time."""
    critic = ctx.extras.get("critic")
    if critic is None:
        raise MetricError("needs the training critic (ctx.extras['critic'])")
    theta = float(fake.double().mean())
    x = torch.tensor([[0.0], [1.0]])
    d0, d1 = critic(x).double().tolist()
    return theta, d1 - d0


class _DiracMetric(Metric):
    default = True
    needs = frozenset({"critic"})
    band = (0.05, 0.0)

    def applies(self, dataset):
        if not isinstance(dataset, Dirac):
            return "needs the dirac dataset (its equilibrium is theta = psi = 0)"
        return None


@REGISTRY.register("dirac_theta", description="Dirac-GAN: the generator's point theta",
                   reference=MESCHEDER)
class DiracTheta(_DiracMetric):
    entries = (ResultEntry("dirac_theta", None, "", "the generator's point (a coordinate)"),)

    def __call__(self, fake, ctx):
        return {"dirac_theta": dirac_point(fake, ctx)[0]}


@REGISTRY.register("dirac_psi", description="Dirac-GAN: the critic's slope psi = D(1) - D(0)",
                   reference=MESCHEDER)
class DiracPsi(_DiracMetric):
    entries = (ResultEntry("dirac_psi", None, "", "the critic's slope (a coordinate)"),)

    def __call__(self, fake, ctx):
        return {"dirac_psi": dirac_point(fake, ctx)[1]}


@REGISTRY.register("dirac_distance",
                   description="Dirac-GAN: distance sqrt(theta^2 + psi^2) to the equilibrium (0, 0)",
                   reference=MESCHEDER)
class DiracDistance(_DiracMetric):
    entries = (ResultEntry("dirac_distance", "min", "",
                     "distance of (theta, psi) to the equilibrium (0, 0)"),)

    def __call__(self, fake, ctx):
        return {"dirac_distance": math.hypot(*dirac_point(fake, ctx))}


@REGISTRY.register("dirac_converged",
                   description="Dirac-GAN: 1 if the distance to the equilibrium is below tol, else 0",
                   reference=MESCHEDER)
class DiracConverged(_DiracMetric):
    entries = (ResultEntry("dirac_converged", "max", "",
                     "1 when the distance to the equilibrium is below tol"),)
    band = (0.5, 0.0)

    def __init__(self, tol: float = 1e-2):
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        self.tol = tol

    def __call__(self, fake, ctx):
        return {"dirac_converged": float(math.hypot(*dirac_point(fake, ctx)) < self.tol)}
