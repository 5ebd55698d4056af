"""Writers of tiny data files in the exact distribution formats, built from the format
specifications (not from ganbench's readers), for the image data set tests."""

from __future__ import annotations

import gzip
import hashlib
import io
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


class _Py2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 strings (BINSTRING), as the official batches were made by
    Python 2's cPickle: read with encoding="latin1" they come back as str, arrays whole."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cifar_batch(images: np.ndarray, labels: list[int]) -> bytes:
    """images uint8 [n, 32, 32, 3] (HWC) -> a batch: planar RGB rows of 3072 bytes."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return py2_pickle({b"batch_label": b"test", b"labels": list(labels), b"data": rows,
                       b"filenames": [b"%d.png" % i for i in range(len(labels))]})


def write_cifar(folder: Path, train: tuple[np.ndarray, list[int]],
                test: tuple[np.ndarray, list[int]], archive: bool = False) -> dict[str, str]:
    """Five train batches (train split into five), one test batch and batches.meta, as the
    folder or the .tar.gz that holds ``cifar-10-batches-py/``. Returns file -> MD5 (the
    archive's under its name), to stand in for the published checksums."""
    files = {}
    xs = np.array_split(train[0], 5)
    ys = np.array_split(np.asarray(train[1]), 5)
    for i, (x, y) in enumerate(zip(xs, ys), 1):
        files[f"data_batch_{i}"] = cifar_batch(x, y.tolist())
    files["test_batch"] = cifar_batch(*test)
    files["batches.meta"] = py2_pickle({b"label_names": [b"c%d" % i for i in range(10)],
                                        b"num_cases_per_batch": len(xs[0]), b"num_vis": 3072})
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    base = folder / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (base / name).write_bytes(data)
    if archive:
        with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
            tar.add(base, arcname="cifar-10-batches-py")
        md5s["cifar-10-python.tar.gz"] = hashlib.md5(
            (folder / "cifar-10-python.tar.gz").read_bytes()).hexdigest()
        for name in files:
            (base / name).unlink()
        base.rmdir()
    return md5s


def trust_cifar(monkeypatch, md5s: dict[str, str]) -> None:
    """Make these files' MD5s the published ones (torchvision's CIFAR10 class holds them)."""
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5s[f"data_batch_{i}"]]
                                                for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5s["batches.meta"]})
    if "cifar-10-python.tar.gz" in md5s:
        monkeypatch.setattr(CIFAR10, "tgz_md5", md5s["cifar-10-python.tar.gz"])
