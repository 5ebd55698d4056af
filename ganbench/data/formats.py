"""Reading the image data sets' distribution files, through torchvision's dataset classes.

* MNIST, Fashion-MNIST: IDX files in the data folder, as distributed (``.gz``) or already
  decompressed. torchvision reads decompressed files, so a ``.gz`` alone is decompressed
  beside it once (as torchvision's own download does).
* CIFAR-10: ``cifar-10-batches-py/`` in the data folder, or the archive
  ``cifar-10-python.tar.gz`` (unpacked beside it once, after its MD5 is checked). The
  batches are pickles, and a pickle can run code: each batch is read once into memory,
  its bytes checked against the published MD5, and only those bytes unpickled (nothing
  can swap the file between the check and the read), so only the official files are
  ever unpickled.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch

from ganbench.data.download import dataset_class, download_hint

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"


class FormatError(ValueError):
    """A data file is not what its name promises (the message says which and why)."""


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------


def idx_files(name: str) -> list[str]:
    """The IDX files of a data set as distributed (.gz), train then test."""
    return [f for f, _ in dataset_class(name).resources]


def idx_path(folder: Path, gz_name: str) -> Path | None:
    """The file as distributed, or the same file decompressed; None when neither is there."""
    for cand in (folder / gz_name, folder / gz_name.removesuffix(".gz")):
        if cand.is_file():
            return cand
    return None


def _unpack(archive: Path, folder: Path) -> None:
    """torchvision's extract_archive into a scratch folder, then renamed into place: an
    interrupted unpacking leaves no partial file that would later be read."""
    from torchvision.datasets.utils import extract_archive

    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".unpack-") as tmp:
            extract_archive(archive, tmp)
            for entry in Path(tmp).iterdir():
                os.replace(entry, folder / entry.name)
    except (OSError, EOFError, RuntimeError) as exc:
        raise FormatError(f"{archive}: cannot unpack it into {folder} ({exc})") from None


def read_idx(name: str, folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images [N, H, W], int64 labels [N]) of one split."""
    cls = dataset_class(name)
    for gz in idx_files(name):
        if not (folder / gz.removesuffix(".gz")).is_file() and (folder / gz).is_file():
            _unpack(folder / gz, folder)
    try:
        ds = cls(root=str(folder), train=split == "train")
    except (AssertionError, TypeError, ValueError, RuntimeError) as exc:
        why = str(exc) or type(exc).__name__  # torchvision asserts on a bad header
        raise FormatError(f"{name}: the {split} IDX files in {folder} are not as distributed "
                          f"({why}); fetch them again with `{download_hint(name, folder)}`"
                          ) from None
    x, y = ds.data, ds.targets
    if x.shape[0] != y.shape[0]:
        raise FormatError(f"{name}: {split} split of {folder} has {x.shape[0]} images but "
                          f"{y.shape[0]} labels")
    return x, y


# --- CIFAR-10 ------------------------------------------------------------------------------


def cifar_source(folder: Path) -> Path | None:
    """Where CIFAR-10 lies under ``folder``: the batch folder, the archive, or None."""
    cls = dataset_class("cifar10")
    batches = folder / cls.base_folder
    names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    if all((batches / n).is_file() for n in names):
        return batches
    if (folder / cls.filename).is_file():
        return folder / cls.filename
    return None


def read_cifar(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images [N, 3, 32, 32], int64 labels [N]) of one split."""
    from torchvision.datasets.utils import check_integrity

    cls = dataset_class("cifar10")
    hint = f"fetch them with `{download_hint('cifar10', folder)}`"
    src = cifar_source(folder)
    if src is not None and src.name == cls.filename:
        if not check_integrity(src, cls.tgz_md5):
            raise FormatError(f"cifar10: {src} does not match its published MD5; {hint}")
        _unpack(src, folder)
    images, labels = [], []
    for f, md5 in cls.train_list if split == "train" else cls.test_list:
        batch = _verified_batch(folder / cls.base_folder / f, md5, hint)
        images.append(np.asarray(batch["data"], np.uint8).reshape(-1, 3, 32, 32))
        labels += list(batch.get("labels") or batch.get("fine_labels") or [])
    x = np.ascontiguousarray(np.concatenate(images))
    if len(labels) != x.shape[0]:
        raise FormatError(f"cifar10: the {split} batches in {folder} hold {x.shape[0]} images "
                          f"but {len(labels)} labels")
    return x, np.asarray(labels, np.int64)


def _verified_batch(path: Path, md5: str, hint: str) -> dict:
    """A CIFAR batch unpickled from bytes that match its published MD5 (read once)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cifar10: cannot read {path} ({exc.strerror or exc}); {hint}") from None
    if hashlib.md5(data).hexdigest() != md5:
        raise FormatError(f"cifar10: {path} does not match its published MD5, so it is not "
                          f"read (a batch is a pickle, which can run code); {hint}")
    batch = pickle.loads(data, encoding="latin1")  # noqa: S301  (bytes verified above)
    if not isinstance(batch, dict) or "data" not in batch:
        raise FormatError(f"cifar10: {path} is not a CIFAR batch; {hint}")
    return batch
