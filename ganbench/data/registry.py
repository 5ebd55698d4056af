from ganbench.data.base import Dataset
from ganbench.registry import Registry

# sample_labeled is the one method the Dataset base leaves to subclasses
REGISTRY = Registry("datasets", base=Dataset, required=("sample_labeled",))
