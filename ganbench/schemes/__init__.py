"""Training schemes, registered in ``REGISTRY``."""

from ganbench.schemes import (  # noqa: F401  (registers)
    alternating,
    consensus,
    extragradient,
    optimistic,
    simultaneous,
    unrolled,
)
from ganbench.schemes.base import Scheme
from ganbench.schemes.registry import REGISTRY

__all__ = ["REGISTRY", "Scheme"]
