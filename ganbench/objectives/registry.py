"""The objective registry (kept apart so that modules can import it without cycles)."""

from ganbench.objectives.base import Objective
from ganbench.registry import Registry

REGISTRY = Registry("objectives", base=Objective)
