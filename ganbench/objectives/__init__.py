"""GAN objectives: one module per family, all registered in ``REGISTRY``."""

from __future__ import annotations

from typing import Any

# importing a family registers it; this order is the listing's (presets name the others)
from ganbench.objectives import standard  # noqa: F401

# isort: split
from ganbench.objectives import fgan, ipm, least_squares, relativistic  # noqa: F401

# isort: split
from ganbench.objectives import infogan, presets  # noqa: F401

# isort: split
from ganbench.objectives.base import Objective
from ganbench.objectives.registry import REGISTRY

__all__ = ["REGISTRY", "Objective", "get"]


def get(name: str, **params: Any) -> Objective:
    """The objective registered as ``name`` (unknown names list the valid ones)."""
    return REGISTRY.create(name, **params)
