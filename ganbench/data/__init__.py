"""Datasets: samplers of real data, registered in ``REGISTRY``."""

from ganbench.data import dirac, gaussian1d, images, lines, synthetic  # noqa: F401  (registers)
from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY

__all__ = ["REGISTRY", "Dataset"]
