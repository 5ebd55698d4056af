"""GAN objectives: one module per family, all registered in ``REGISTRY``."""

from __future__ import annotations

from typing import Any

from ganbench.objectives import standard  # noqa: F401  (registers)
from ganbench.objectives.base import Objective
from ganbench.objectives.registry import REGISTRY

__all__ = ["REGISTRY", "Objective", "get"]


def get(name: str, **params: Any) -> Objective:
    """The objective registered as ``name`` (unknown names list the valid ones)."""
    return REGISTRY.create(name, **params)
