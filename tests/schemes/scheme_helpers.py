"""Building one run's Game (and scheme) from a small config, for scheme tests."""

from __future__ import annotations

import torch

from ganbench.suite import parse_suite
from ganbench.train import Built, build

CPU = torch.device("cpu")


def config(**over) -> dict:
    """A tiny ring run (width 8); keyword arguments override base keys."""
    base = {
        "dataset": "ring",
        "model": {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1},
        "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
        "training": {"iterations": 20, "batch_size": 16},
        "evaluation": {"every": 20, "samples": 50, "metrics": ["modes"]},
    }
    base.update(over)
    return base


def dirac_config(**over) -> dict:
    """The Dirac-GAN with SGD at the step size of Mescheder et al.'s notebook."""
    base = {
        "dataset": "dirac", "model": "dirac", "objective": "wgan", "regularizer": "none",
        "optimizer": {"name": "sgd", "lr_g": 0.2, "lr_d": 0.2},
        "training": {"iterations": 100, "batch_size": 8},
        "evaluation": {"every": 100, "samples": 10},
    }
    base.update(over)
    return base


def runs(base: dict, grid: dict | None = None, name: str = "t"):
    return parse_suite({"name": name, "base": base, "grid": grid or {}}).runs


def built(base: dict) -> Built:
    return build(runs(base), CPU)
