from ganbench.models.base import Model
from ganbench.registry import Registry

# the two builders the Model base leaves to subclasses
REGISTRY = Registry("models", base=Model, required=("generator", "critic"))
