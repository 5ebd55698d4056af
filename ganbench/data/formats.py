"""Readers for the standard distribution files of the image data sets.

* IDX (MNIST, Fashion-MNIST): a big-endian header ``0x00 0x00 <type> <ndim>`` followed by
  ``ndim`` big-endian int32 sizes and the raw array; usually gzip-compressed (``.gz``).
* CIFAR-10 "python version": pickled dicts with ``b"data"`` (uint8 rows of 3072 bytes:
  1024 red, 1024 green, 1024 blue, each row-major 32x32) and ``b"labels"``, either as the
  files of ``cifar-10-batches-py/`` or inside ``cifar-10-python.tar.gz``.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path

import numpy as np

# IDX type code -> numpy dtype (big-endian where it matters)
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)


class FormatError(ValueError):
    """A data file is not in the format its name promises (the message says why)."""


def _read_bytes(path: Path) -> bytes:
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise FormatError(f"{path}: corrupt gzip data ({exc})") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (gzip-compressed or not) as a numpy array of its declared shape."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise FormatError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FormatError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[data[2]])
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != count * dtype.itemsize:
        raise FormatError(f"{path}: IDX header says shape {shape} ({count * dtype.itemsize} bytes) "
                          f"but the file holds {len(data) - header} bytes of data")
    return np.frombuffer(data, dtype, count=count, offset=header).reshape(shape).astype(
        dtype.newbyteorder("="))


def _cifar_batch(obj: object, where: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise FormatError(f"{where}: not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    data = np.asarray(obj[b"data"], dtype=np.uint8)
    labels = np.asarray(obj[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise FormatError(f"{where}: expected {labels.shape[0]} rows of 3072 bytes, got {data.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def cifar_source(folder: Path) -> Path | None:
    """Where CIFAR-10 lies under ``folder``: the batch folder, the archive, or None."""
    for cand in (folder / CIFAR_FOLDER, folder):
        if all((cand / n).is_file() for n in (*CIFAR_TRAIN, *CIFAR_TEST)):
            return cand
    if (folder / CIFAR_ARCHIVE).is_file():
        return folder / CIFAR_ARCHIVE
    return None


def read_cifar(source: str | Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the named batches from a batch folder or the .tar.gz archive:
    (images uint8 [N, 3, 32, 32], labels int64 [N])."""
    source = Path(source)
    parts = []
    if source.is_dir():
        for n in names:
            with open(source / n, "rb") as f:
                # the official distribution is a pickle; only open files you trust
                parts.append(_cifar_batch(pickle.load(f, encoding="bytes"), str(source / n)))
    else:
        with tarfile.open(source, "r:*") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            for n in names:
                if n not in members:
                    raise FormatError(f"{source}: archive has no member {n!r}")
                f = tar.extractfile(members[n])
                parts.append(_cifar_batch(pickle.load(f, encoding="bytes"), f"{source}:{n}"))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
