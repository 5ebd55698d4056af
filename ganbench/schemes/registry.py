from ganbench.registry import Registry

REGISTRY = Registry("schemes")
