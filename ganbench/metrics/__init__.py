"""Metrics of generated samples, registered in ``REGISTRY``."""

from ganbench.metrics import conditional, dirac, gaussian_fit, lines, modes, stacked  # noqa: F401, E501  (registers)
from ganbench.metrics.base import EvalContext, Metric, MetricError
from ganbench.metrics.registry import REGISTRY

from . import (  # noqa: F401  (registers)
    classifier_jsd,
    critic_gap,
    density_coverage,
    distances,
    fidelity,
)

__all__ = ["REGISTRY", "EvalContext", "Metric", "MetricError"]
