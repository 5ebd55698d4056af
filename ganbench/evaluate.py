"""Evaluate generated samples against real ones from files (the ``evaluate`` verb's logic).

A sample file is ``.npy`` or ``.npz`` holding an array [N, D] (vectors) or [N, C, H, W]
(images), or a folder of PNG/JPG images. Float arrays are taken as they are (images in
[-1, 1]); uint8 arrays and image files are 8-bit pixels, scaled to [-1, 1]. In an ``.npz``
the array is ``PATH.npz:KEY``, else its only array, else the first of
samples / fake / real / x that it holds (``samples.npz`` of a run keeps them as ``fake``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext, MetricError

NPZ_KEYS = ("samples", "fake", "real", "x")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class SampleFileError(ValueError):
    """A sample file cannot be used (the message names the file and the problem)."""


def load_samples(spec: str | Path) -> Tensor:
    """Samples from a .npy/.npz file or an image folder, as float32 [N, ...]."""
    text = str(spec)
    path, key = Path(text), None
    if not path.exists() and ".npz:" in text:
        head, key = text.rsplit(":", 1)
        path = Path(head)
    if not path.exists():
        raise SampleFileError(f"{text}: no such file or folder")
    if path.is_dir():
        x = _load_folder(path)
    elif path.suffix == ".npy":
        x = _np_load(path)
    elif path.suffix == ".npz":
        x = _npz_array(path, key)
    else:
        raise SampleFileError(f"{path}: expected a .npy or .npz file or an image folder")
    return _check(x, text)


def _np_load(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SampleFileError(f"{path}: not a readable .npy file ({exc})") from None


def _npz_array(path: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if key is not None:
                if key not in keys:
                    raise SampleFileError(f"{path}: no array {key!r}; it holds {', '.join(keys) or 'none'}")
                return z[key]
            if len(keys) == 1:
                return z[keys[0]]
            for k in NPZ_KEYS:
                if k in keys:
                    return z[k]
    except (OSError, ValueError) as exc:
        if isinstance(exc, SampleFileError):
            raise
        raise SampleFileError(f"{path}: not a readable .npz file ({exc})") from None
    raise SampleFileError(f"{path}: holds {', '.join(keys) or 'no arrays'}; name one as "
                          f"{path}:KEY (or store it as one of {', '.join(NPZ_KEYS)})")


def _load_folder(path: Path) -> np.ndarray:
    from PIL import Image

    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SampleFileError(f"{path}: no PNG or JPG images in this folder")
    images = []
    for f in files:
        try:
            with Image.open(f) as im:
                images.append((f, im.convert("L") if im.mode in ("L", "1", "I;16") else im.convert("RGB")))
        except OSError as exc:
            raise SampleFileError(f"{f}: not a readable image ({exc})") from None
    gray = all(im.mode == "L" for _, im in images)
    arrays = []
    for f, im in images:
        a = np.asarray(im if gray else im.convert("RGB"), dtype=np.uint8)
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        if arrays and a.shape != arrays[0].shape:
            raise SampleFileError(f"{f}: image is {a.shape[1]}x{a.shape[2]} ({a.shape[0]} channels) "
                                  f"but {files[0].name} is {arrays[0].shape[1]}x{arrays[0].shape[2]} "
                                  f"({arrays[0].shape[0]} channels)")
        arrays.append(a)
    return np.stack(arrays)


def _check(x: np.ndarray, name: str) -> Tensor:
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 127.5 - 1.0
    elif not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise SampleFileError(f"{name}: expected numbers, got an array of {x.dtype}")
    if x.ndim not in (2, 4):
        raise SampleFileError(f"{name}: expected an array [N, D] or [N, C, H, W], got shape {x.shape}")
    if x.shape[0] == 0 or x[0].size == 0:
        raise SampleFileError(f"{name}: holds no samples (shape {x.shape})")
    bad = int((~np.isfinite(x)).sum())
    if bad:
        raise SampleFileError(f"{name}: holds {bad} NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def default_metrics(dataset) -> list[str]:
    """The metrics evaluated by default where they apply (as in suites)."""
    return [e.name for e in METRICS.entries()
            if getattr(e.obj, "default", False) and e.create().applies(dataset) is None]


def evaluate(real: Tensor, fake: Tensor, dataset=None, metrics: list[str] | None = None,
             seed: int = 0, device: str = "cpu", cache_dir: Path | None = None,
             names: tuple[str, str] = ("real", "fake")) -> dict[str, float]:
    """Metric -> value (with extras such as ``_ci_low``) of ``fake`` against ``real``.

    Named metrics that cannot run are errors; default metrics (``metrics=None``) that fail
    on these samples are skipped with a note on stderr.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise SampleFileError(f"{names[1]}: samples are {tuple(fake.shape[1:])} but {names[0]} "
                              f"has {tuple(real.shape[1:])}")
    if dataset is not None and tuple(real.shape[1:]) != tuple(dataset.shape):
        raise SampleFileError(f"{names[0]}: samples are {tuple(real.shape[1:])} but dataset "
                              f"{type(dataset).__name__} has {tuple(dataset.shape)}")
    explicit = metrics is not None
    chosen = list(dict.fromkeys(metrics)) if explicit else default_metrics(dataset)
    objs = {}
    for name in chosen:
        m = METRICS.create(name)
        why = m.applies(dataset)
        if why is not None:
            raise MetricError(f"metric {name!r} {why}"
                              + ("" if dataset is not None else " (give --dataset)"))
        objs[name] = m
    ctx = EvalContext(real=real, dataset=dataset, device=torch.device(device), seed=seed,
                      cache_dir=cache_dir)
    out: dict[str, float] = {}
    for name, m in objs.items():
        try:
            out.update(m(fake, ctx))
        except MetricError as exc:
            if explicit:
                raise MetricError(f"metric {name!r}: {exc}") from None
            print(f"note: skipped {name}: {exc}", file=sys.stderr)
    return out


def format_text(values: dict[str, float]) -> str:
    """One line per metric: value, and its CI when it has one."""
    rows = []
    for k, v in values.items():
        if k.endswith(("_ci_low", "_ci_high")):
            continue
        line = f"{k:32s} {v:.6g}"
        if f"{k}_ci_low" in values:
            line += f"  [{values[k + '_ci_low']:.6g}, {values[k + '_ci_high']:.6g}]"
        rows.append(line)
    return "\n".join(rows)


class _CallableModule(type(sys)):
    """This module, callable: ``ganbench.evaluate(real, fake, dataset=None, metrics=None)``
    scores two sample sets given as arrays, tensors or files (``ganbench.api.score``),
    while ``ganbench.evaluate.load_samples`` and the rest stay what they are."""

    def __call__(self, real, fake, dataset=None, metrics=None, **kwargs):
        from ganbench.api import score

        return score(real, fake, dataset, metrics, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
