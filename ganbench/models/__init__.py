"""Generator / critic architectures, registered in ``REGISTRY``."""

from ganbench.models import aae, conditional, conv, dirac, mlp, vae  # noqa: F401  (registers)
from ganbench.models.base import Model
from ganbench.models.registry import REGISTRY

__all__ = ["REGISTRY", "Model"]
