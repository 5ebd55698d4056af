"""The metric contract: a measurement of generated samples against the real distribution.

``metric(fake, ctx)`` returns a dict of floats whose main entry has the metric's own name
(extra entries, e.g. ``jsd_classifier_ci_low``, start with it). Metrics see samples and the
dataset (through ``EvalContext``), never the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbench.data.base import Dataset


class MetricError(ValueError):
    """A metric cannot be computed on this input (the message says why)."""


@dataclass
class EvalContext:
    #: held-out real samples [N, *shape], same count as the fake ones unless a metric says
    real: Tensor
    dataset: Dataset | None = None
    device: torch.device = torch.device("cpu")
    seed: int = 0
    cache_dir: Path | None = None
    #: optional extras some diagnostics use (e.g. the training critic's outputs)
    extras: dict[str, Any] = field(default_factory=dict)


class Metric:
    #: "max" if larger is better, "min" if smaller is better
    direction: str = "max"
    #: practical-significance band used by the regression check (absolute, relative)
    band: tuple[float, float] = (0.0, 0.05)
    #: evaluated by default where it applies
    default: bool = False

    def applies(self, dataset: Dataset | None) -> str | None:
        """None if the metric can run on this dataset, else the reason it cannot."""
        return None

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        raise NotImplementedError


def needs_modes(dataset: Dataset | None) -> str | None:
    if dataset is None or dataset.mode_centres() is None:
        return "needs a dataset with known mode centres (a mixture such as ring or grid)"
    return None
