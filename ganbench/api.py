"""``ganbench.evaluate(real, fake, ...)`` for notebooks: samples as arrays, tensors or
files, the data set by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbench import evaluate as ev


def samples(x: Any, name: str) -> torch.Tensor:
    """A sample set as evaluate wants it: float32 [N, D] or [N, C, H, W] (uint8 images are
    8-bit pixels, mapped to [-1, 1]); a str or Path is read with ``load_samples``."""
    if isinstance(x, (str, Path)):
        return ev.load_samples(x)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return ev._check(np.asarray(x), name)


def dataset_of(ref: Any):
    """None, a registered name, {name: ..., param: ...}, or a dataset object."""
    if ref is None or not isinstance(ref, (str, dict)):
        return ref
    from ganbench.data import REGISTRY
    from ganbench.suite import PluginRef

    r = PluginRef.parse(ref)
    return REGISTRY.create(r.name, **r.params)


def score(real: Any, fake: Any, dataset: Any = None, metrics: str | list[str] | None = None,
          seed: int = 0, device: str = "cpu", cache_dir: Path | None = None) -> dict[str, float]:
    """Metric entry -> value of ``fake`` against ``real`` (with extras such as
    ``jsd_classifier_ci_low``). ``metrics=None``: the default metrics that apply to the
    data set; a named metric that cannot run is an error."""
    names = [metrics] if isinstance(metrics, str) else metrics
    return ev.evaluate(samples(real, "real"), samples(fake, "fake"), dataset_of(dataset),
                       names, seed=seed, device=device, cache_dir=cache_dir)
