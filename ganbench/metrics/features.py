"""Feature extractors for FID / KID / precision-recall, plugged into torch-fidelity's own
feature-extractor registry (so its ``calculate_metrics`` does the metrics).

- ``raw``: the samples themselves, flattened, in float64. For low-dimensional data FID is
  then the Frechet distance between Gaussians fitted to the coordinates.
- ``classifier``: the penultimate layer of ``ganbench.metrics.classifiers.dataset_classifier``
  (trained on the dataset's real labelled data; cached on disk).
- ``inception``: torch-fidelity's Inception-v3 (``inception-v3-compat``, the TF-FID
  network), images in [-1, 1] turned into 8-bit RGB. Weights are read from a local file
  only; when it is absent the error names the file and where to put it (no download).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganbench.metrics.base import MetricError

FEATURES = ("auto", "raw", "classifier", "inception")
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 + INCEPTION_FILE)
INCEPTION_ENV = "GANBENCH_INCEPTION_WEIGHTS"
# torch-fidelity's name for the Inception-v3 it ships
INCEPTION_NAME = "inception-v3-compat"


RAW_NAME, CLASSIFIER_NAME = "ganbench-raw", "ganbench-classifier"


# torch's switch that makes every torch.load weights_only, whatever the call says
FORCE_WEIGHTS_ONLY = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"


def _numpy_globals() -> list:
    """What a pickled numeric NumPy array needs (torch-fidelity caches its statistics as
    arrays): the array, its reconstructor and the numeric dtypes; no object arrays."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core  # NumPy 2 renamed np.core
    return [np.ndarray, np.dtype, core.multiarray._reconstruct,
            *{type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDG"}]


@contextlib.contextmanager
def weights_only_loads():
    """Inside the block, torch.load reads tensors, numeric arrays and plain data only:
    torch-fidelity loads the Inception weights and its feature caches with
    weights_only=False, and neither file may run code when read."""
    before = os.environ.get(FORCE_WEIGHTS_ONLY)
    os.environ[FORCE_WEIGHTS_ONLY] = "1"
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            yield
    finally:
        if before is None:
            os.environ.pop(FORCE_WEIGHTS_ONLY, None)
        else:
            os.environ[FORCE_WEIGHTS_ONLY] = before


def calculate_metrics(**kw):
    """torch-fidelity's calculate_metrics, every file it loads read as weights only."""
    import torch_fidelity

    with weights_only_loads():
        return torch_fidelity.calculate_metrics(**kw)


def register_extractors() -> None:
    """Register ``raw`` and ``classifier`` in torch-fidelity's registry, once (on first use:
    importing torch-fidelity takes seconds, which listing plug-ins should not pay)."""
    from torch_fidelity import FeatureExtractorBase, register_feature_extractor
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if RAW_NAME in FEATURE_EXTRACTORS_REGISTRY:
        return

    class _Stateless(FeatureExtractorBase):
        FEATURE = "features"

        @classmethod
        def get_provided_features_list(cls):
            return (cls.FEATURE,)

        @classmethod
        def get_default_feature_layer_for_metric(cls, metric):
            return cls.FEATURE

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return None

    class RawFeatures(_Stateless):
        """Identity: [N, ...] -> [N, D] float64 (float64 keeps FID exact for small D)."""

        def __init__(self, name, features_list, **kwargs):
            super().__init__(name, features_list)

        def forward(self, x: Tensor):
            return (x.reshape(x.shape[0], -1).double(),)

    class ClassifierFeatures(_Stateless):
        """Penultimate features of a ganbench classifier passed as ``ganbench_classifier``."""

        def __init__(self, name, features_list, ganbench_classifier=None, **kwargs):
            super().__init__(name, features_list)
            if ganbench_classifier is None:
                raise ValueError("the classifier feature extractor needs ganbench_classifier")
            self.net = ganbench_classifier

        def forward(self, x: Tensor):
            return (self.net.features(x.float()).double(),)

    register_feature_extractor(RAW_NAME, RawFeatures)
    register_feature_extractor(CLASSIFIER_NAME, ClassifierFeatures)


class Samples(Dataset):
    """A tensor of samples as the map-style dataset torch-fidelity reads (one tensor per item)."""

    def __init__(self, x: Tensor):
        self.x = x

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> Tensor:
        return self.x[i]


def to_rgb_uint8(x: Tensor) -> Tensor:
    """Images [N, C, H, W] in [-1, 1] (C = 1 or 3) -> uint8 RGB, as Inception expects."""
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise MetricError(f"Inception features need images [N, 1 or 3, H, W], got {tuple(x.shape)}")
    u8 = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return u8.expand(-1, 3, -1, -1).contiguous() if u8.shape[1] == 1 else u8


def inception_weights(path: str = "") -> Path:
    """The Inception-v3 weights file: ``path``, else $GANBENCH_INCEPTION_WEIGHTS, else the
    file in torch's hub checkpoint folder (where torch-fidelity itself would keep it)."""
    hub = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    given = path or os.environ.get(INCEPTION_ENV, "")
    if given:
        p = Path(given).expanduser()
        if p.is_file():
            return p
        raise MetricError(f"Inception-v3 weights file {p} does not exist (expected "
                          f"torch-fidelity's {INCEPTION_FILE}, from {INCEPTION_URL})")
    if hub.is_file():
        return hub
    raise MetricError(f"Inception-v3 weights not found: download {INCEPTION_FILE} from "
                      f"{INCEPTION_URL} and put it at {hub}, or set {INCEPTION_ENV} to its "
                      f"path (nothing is downloaded at run time)")
