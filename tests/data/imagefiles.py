"""Writers of tiny data files in the exact distribution formats, built from the format
specifications (not from ganbench's readers), for the image data set tests."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_NAMES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def idx_bytes(array: np.ndarray, type_code: int = 0x08, dtype: str = ">u1") -> bytes:
    """IDX: 0x00 0x00 <type> <ndim>, ndim big-endian uint32 sizes, then the data."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write_idx_set(folder: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]],
                  compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, (x, y) in splits.items():
        for name, arr, magic in zip(IDX_NAMES[split], (x, y), (3, 1)):
            data = idx_bytes(arr.astype(np.uint8))
            assert data[2:4] == bytes([8, magic])  # 2051 for images, 2049 for labels
            if compress:
                (folder / name).write_bytes(gzip.compress(data))
            else:
                (folder / name.removesuffix(".gz")).write_bytes(data)


def cifar_batch(images: np.ndarray, labels: list[int]) -> bytes:
    """images uint8 [n, 32, 32, 3] (HWC) -> a pickled batch with planar RGB rows."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return pickle.dumps({b"batch_label": b"test", b"labels": list(labels), b"data": rows})


def write_cifar(folder: Path, train: tuple[np.ndarray, list[int]],
                test: tuple[np.ndarray, list[int]], archive: bool = False) -> None:
    """Five train batches (train split into five) and one test batch, as the folder or the
    .tar.gz that holds ``cifar-10-batches-py/``."""
    files = {}
    xs = np.array_split(train[0], 5)
    ys = np.array_split(np.asarray(train[1]), 5)
    for i, (x, y) in enumerate(zip(xs, ys), 1):
        files[f"data_batch_{i}"] = cifar_batch(x, y.tolist())
    files["test_batch"] = cifar_batch(*test)
    base = folder / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (base / name).write_bytes(data)
    if archive:
        with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
            tar.add(base, arcname="cifar-10-batches-py")
        for name in files:
            (base / name).unlink()
        base.rmdir()
