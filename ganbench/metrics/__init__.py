"""Metrics of generated samples, registered in ``REGISTRY``."""

from ganbench.metrics import conditional, dirac, modes, stacked  # noqa: F401  (registers)
from ganbench.metrics.base import EvalContext, Metric, MetricError
from ganbench.metrics.registry import REGISTRY

from . import classifier_jsd, critic_gap, distances, fidelity  # noqa: F401  (registers)

__all__ = ["REGISTRY", "EvalContext", "Metric", "MetricError"]
