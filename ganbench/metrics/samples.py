"""Sample sets as metrics take them: read from files, or checked from arrays.

A sample file is ``.npy`` or ``.npz`` holding an array [N, D] (vectors) or [N, C, H, W]
(images), or a folder of PNG/JPG images. Float arrays are taken as they are (images in
[-1, 1]); uint8 arrays and image files are 8-bit pixels, scaled to [-1, 1]. In an ``.npz``
the array is ``PATH.npz:KEY``, else its only array, else the first of
samples / fake / real / x that it holds (``samples.npz`` of a run keeps them as ``fake``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

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
    return as_samples(x, text)


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


def as_samples(x: Any, name: str) -> Tensor:
    """A sample set as metrics want it: float32 [N, D] or [N, C, H, W] (uint8 images are
    8-bit pixels, mapped to [-1, 1]); a str or Path is read with ``load_samples``."""
    if isinstance(x, (str, Path)):
        return load_samples(x)
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
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
