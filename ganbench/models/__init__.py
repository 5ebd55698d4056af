"""Generator / critic architectures, registered in ``REGISTRY``."""

# registration order is listing order: the GAN models, then the autoencoder families
from ganbench.models import affine, conditional, conv, dirac, lines, mlp  # noqa: F401, I001  (registers)
from ganbench.models import aae, vae  # noqa: F401  (registers)
from ganbench.models.base import Model
from ganbench.models.registry import REGISTRY

__all__ = ["REGISTRY", "Model"]
