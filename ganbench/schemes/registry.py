from ganbench.registry import Registry
from ganbench.schemes.base import Scheme

REGISTRY = Registry("schemes", base=Scheme)
