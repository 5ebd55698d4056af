"""The feature-extractor contract: what FID, KID, precision/recall, density and coverage
compare samples in.

An extractor declares its input (``input_size``: the side images are resized to, None for
any input), its ``resize`` and ``normalisation`` (one line each), its feature dimension
``dim`` (None: the input's own), and where its weights come from (``weights``: the file or
folder expected and how to get it). ``extract(x, ctx)`` maps samples [N, ...] to features
[N, D] in float64. Weights are read only from local files: the folder named by
``$GANBENCH_WEIGHTS`` (``weights_dir``); an extractor whose weights are absent says so in
``applies`` (the suite is refused, exit 2) and its ``MetricError`` names the file expected.
Nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor

from ganbench.metrics.base import EvalContext, MetricError
from ganbench.registry import Registry

WEIGHTS_ENV = "GANBENCH_WEIGHTS"


class FeatureExtractor:
    input_size: ClassVar[int | None] = None
    resize: ClassVar[str] = "none"
    normalisation: ClassVar[str] = "none"
    dim: ClassVar[int | None] = None
    weights: ClassVar[str] = "none (no weights)"
    #: "any", or "image": images [N, 1 or 3, H, W] in [-1, 1] only
    accepts: ClassVar[str] = "any"

    def preprocessing(self) -> dict[str, object]:
        """What a result records of the features its values were computed in."""
        return {"input_size": self.input_size, "resize": self.resize,
                "normalisation": self.normalisation, "dim": self.dim}

    def applies(self, dataset) -> str | None:
        """None when the extractor can run for this dataset (its weights present)."""
        if self.accepts == "image" and dataset is not None and dataset.kind != "image":
            return "reads images; this dataset's samples are vectors"
        try:
            self.check_weights()
        except MetricError as exc:
            return str(exc)
        return None

    def check_weights(self) -> None:
        """Raise MetricError naming the weights expected when they are absent."""
        return None

    def extract(self, x: Tensor, ctx: EvalContext) -> Tensor:
        raise NotImplementedError


REGISTRY = Registry("features", base=FeatureExtractor, required=("extract",))


def weights_dir() -> Path | None:
    """The folder of local weights ($GANBENCH_WEIGHTS), None when unset."""
    given = os.environ.get(WEIGHTS_ENV, "")
    return Path(given).expanduser() if given else None


def weights_path(relative: str, how: str) -> Path:
    """$GANBENCH_WEIGHTS/``relative``, which must exist; else a MetricError naming the path
    expected and ``how`` to get it (nothing is downloaded at run time)."""
    root = weights_dir()
    if root is None:
        raise MetricError(f"weights not found: set {WEIGHTS_ENV} to a folder holding "
                          f"{relative} ({how}); nothing is downloaded at run time")
    path = root / relative
    if not path.exists():
        raise MetricError(f"weights not found: expected {path} ({how}); nothing is "
                          f"downloaded at run time")
    return path


def to_rgb_uint8(x: Tensor) -> Tensor:
    """Images [N, C, H, W] in [-1, 1] (C = 1 or 3) -> uint8 RGB, as the pretrained
    extractors expect."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise MetricError(f"these features need images [N, 1 or 3, H, W], got {tuple(x.shape)}")
    u8 = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return u8.expand(-1, 3, -1, -1).contiguous() if u8.shape[1] == 1 else u8


def batched(net, x: Tensor, device: torch.device, batch: int = 256) -> Tensor:
    """net over x in batches, without gradients, as float64 [N, D] on the CPU."""
    with torch.no_grad():
        return torch.cat([net(x[i:i + batch].to(device)).reshape(min(batch, x.shape[0] - i), -1)
                          .double().cpu() for i in range(0, x.shape[0], batch)])
