from ganbench.metrics.base import Metric
from ganbench.registry import Registry

# the measurement itself is the one method the Metric base leaves to subclasses
REGISTRY = Registry("metrics", base=Metric, required=("__call__",))
