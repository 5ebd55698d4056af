"""Feature extractors (a plug-in kind, registered in ``REGISTRY``): the spaces FID, KID,
precision/recall, density and coverage compare samples in."""

from ganbench.features import extractors  # noqa: F401  (registers)
from ganbench.features.base import REGISTRY, WEIGHTS_ENV, FeatureExtractor, weights_path

__all__ = ["REGISTRY", "WEIGHTS_ENV", "FeatureExtractor", "weights_path"]
