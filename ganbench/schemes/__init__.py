"""Training schemes, registered in ``REGISTRY``."""

from ganbench.schemes import alternating  # noqa: F401  (registers)
from ganbench.schemes.base import Scheme
from ganbench.schemes.registry import REGISTRY

__all__ = ["REGISTRY", "Scheme"]
