"""Image data sets: scikit-learn's 8x8 digits (bundled, no download), MNIST, Fashion-MNIST,
CIFAR-10, and the stacked variants (three digits as the three channels, 1000 modes).

Samples are [n, C, H, W] in [-1, 1], with integer labels. Each split is read once per
process and kept in memory as the raw uint8 pixels (one copy per device it is sampled on);
conversion to [-1, 1] and resizing happen per batch, which is cheap and keeps CIFAR-10 at
150 MB instead of 600. File-backed sets check their files when created, so a suite that
names a missing data set fails validation before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.data import download, formats
from ganbench.data.base import Dataset
from ganbench.data.registry import REGISTRY
from ganbench.seeding import generator as seeded
from ganbench.util.missing import note_missing

SPLITS = ("train", "test")
Raw = dict[str, tuple[Tensor, Tensor]]  # split -> (uint8 images [N, C, H, W], labels [N])

# process-wide caches: raw splits by source, and their copies on other devices
_RAW: dict[tuple, Raw] = {}
_ON_DEVICE: dict[tuple, tuple[Tensor, Tensor]] = {}


def _check_size(size: int, name: str) -> None:
    if not 4 <= size <= 512:
        raise ValueError(f"{name}: size must be between 4 and 512 pixels, got {size}")


class ImageDataset(Dataset):
    """Images held in memory as raw integer pixels in [0, ``max_value``]."""

    kind = "image"
    num_classes = 10
    channels = 1
    native_size = 28
    max_value = 255.0

    def __init__(self, size: int):
        _check_size(size, type(self).__name__)
        self.size = size
        self.shape = (self.channels, size, size)

    # subclasses: a key naming the source (files and their mtimes) and the loader
    def source_key(self) -> tuple:
        raise NotImplementedError

    def load(self) -> Raw:
        raise NotImplementedError

    def raw(self, split: str, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
        """The whole split as stored: (uint8 [N, C, H0, W0], labels [N]) on ``device``."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        key = self.source_key()
        if key not in _RAW:
            _RAW[key] = self.load()
        x, y = _RAW[key][split]
        dev = torch.device(device)
        if dev.type == "cpu":
            return x, y
        dkey = (key, split, str(dev))
        if dkey not in _ON_DEVICE:
            _ON_DEVICE[dkey] = (x.to(dev), y.to(dev))
        return _ON_DEVICE[dkey]

    def to_float(self, x: Tensor) -> Tensor:
        """Raw pixels [n, C, H0, W0] -> float [n, C, size, size] in [-1, 1]."""
        out = x.float() * (2.0 / self.max_value) - 1.0
        if out.shape[-1] != self.size or out.shape[-2] != self.size:
            out = F.interpolate(out, size=(self.size, self.size), mode="bilinear",
                                align_corners=False, antialias=self.size < out.shape[-1])
            out = out.clamp_(-1.0, 1.0)
        return out

    def labeled(self, split: str = "train") -> tuple[Tensor, Tensor]:
        """The whole split in [-1, 1] with its labels (for training classifiers)."""
        x, y = self.raw(split)
        return self.to_float(x), y

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        dev = generator.device
        x, y = self.raw(split, dev)
        idx = draw_indices(x.shape[0], n, generator, split)
        return self.to_float(x[idx]).to(device), y[idx].to(device)


def draw_indices(size: int, n: int, generator: torch.Generator, split: str) -> Tensor:
    """Training draws are i.i.d. (with replacement). Held-out (test) draws are evaluation
    sets: every image once before any repeats (concatenated random permutations), so n =
    the split's size is the whole test set, as in the FID protocol of Lucic et al. 2018,
    and k-NN metrics (precision/recall) do not see duplicate real points at distance 0."""
    dev = generator.device
    if split != "test":
        return torch.randint(size, (n,), generator=generator, device=dev)
    perms = [torch.randperm(size, generator=generator, device=dev) for _ in range(-(-n // size))]
    return torch.cat(perms)[:n]


# --- scikit-learn digits -----------------------------------------------------------------


@REGISTRY.register(
    "digits",
    description="scikit-learn's 8x8 handwritten digits (1797 images, bundled), optionally resized",
    reference="Alpaydin & Kaynak 1998, UCI optical recognition of handwritten digits",
)
class Digits(ImageDataset):
    native_size = 8
    max_value = 16.0  # the bundled images hold integer grey levels 0..16
    #: fraction of each class held out as the test split (fixed: classifiers depend on it)
    test_fraction = 0.2

    def __init__(self, size: int = 8):
        super().__init__(size)

    def source_key(self) -> tuple:
        return ("digits", self.test_fraction)

    def load(self) -> Raw:
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.as_tensor(d.images, dtype=torch.uint8).unsqueeze(1)
        y = torch.as_tensor(d.target, dtype=torch.long)
        # stratified split with a fixed permutation, so every process sees the same split
        g = seeded(0, "digits_split")
        test = torch.zeros(len(y), dtype=torch.bool)
        for c in range(10):
            where = (y == c).nonzero().squeeze(1)
            where = where[torch.randperm(len(where), generator=g)]
            test[where[: round(self.test_fraction * len(where))]] = True
        return {"train": (x[~test], y[~test]), "test": (x[test], y[test])}


# --- MNIST and Fashion-MNIST (IDX files, read by torchvision) ----------------------------


def _missing(name: str, folder: Path, files: str) -> ValueError:
    return ValueError(
        f"{name}: missing {files} in {folder}; fetch them with "
        f"`{download.download_hint(name, folder)}` or place them there (the folder is the "
        f"data_dir parameter if given, else ${download.ENV}/<name>, else "
        "~/.cache/ganbench/data/<name>)")


class FileDataset(ImageDataset):
    name = ""

    def __init__(self, size: int, data_dir: str):
        super().__init__(size)
        self.folder = download.data_folder(self.name, data_dir or None)
        self.check_files()

    def check_files(self) -> None:
        """Fail at creation when files are absent, before any suite runs."""
        missing = self.missing_files()
        if missing and not note_missing(self.name, (
                f"{missing} in {self.folder}; fetch with: "
                f"{download.download_hint(self.name, self.folder)}")):
            raise _missing(self.name, self.folder, missing)

    def missing_files(self) -> str:
        """The absent files, in words ("" when all are there)."""
        raise NotImplementedError


class IDXDataset(FileDataset):
    def _paths(self) -> list[Path | None]:
        return [formats.idx_path(self.folder, f) for f in formats.idx_files(self.name)]

    def missing_files(self) -> str:
        return ", ".join(f for f, p in zip(formats.idx_files(self.name), self._paths())
                         if p is None)

    def source_key(self) -> tuple:
        return (self.name, *((str(p), p.stat().st_mtime_ns) for p in self._paths()))

    def load(self) -> Raw:
        out = {}
        for split in SPLITS:
            x, y = formats.read_idx(self.name, self.folder, split)
            out[split] = (x.to(torch.uint8).unsqueeze(1), y.long())
        return out


@REGISTRY.register(
    "mnist",
    description="MNIST handwritten digits (IDX files from the data folder), optionally resized",
    reference="LeCun et al. 1998, Gradient-based learning applied to document recognition",
)
class MNIST(IDXDataset):
    name = "mnist"

    def __init__(self, size: int = 28, data_dir: str = ""):
        super().__init__(size, data_dir)


@REGISTRY.register(
    "fashion_mnist",
    description="Fashion-MNIST clothing images (IDX files from the data folder)",
    reference="Xiao et al. 2017, Fashion-MNIST (arXiv:1708.07747)",
)
class FashionMNIST(IDXDataset):
    name = "fashion_mnist"

    def __init__(self, size: int = 28, data_dir: str = ""):
        super().__init__(size, data_dir)


# --- CIFAR-10 ----------------------------------------------------------------------------


@REGISTRY.register(
    "cifar10",
    description="CIFAR-10 32x32 colour images (python batches or their .tar.gz from the data folder, checksums verified)",
    reference="Krizhevsky 2009, Learning multiple layers of features from tiny images",
)
class CIFAR10(FileDataset):
    name = "cifar10"
    channels = 3
    native_size = 32

    def __init__(self, size: int = 32, data_dir: str = ""):
        super().__init__(size, data_dir)

    def missing_files(self) -> str:
        if formats.cifar_source(self.folder) is not None:
            return ""
        return (f"{formats.CIFAR_ARCHIVE} (or {formats.CIFAR_FOLDER}/ with data_batch_1..5, "
                "test_batch and batches.meta)")

    def source_key(self) -> tuple:
        src = formats.cifar_source(self.folder)
        return (self.name, str(src), src.stat().st_mtime_ns)

    def load(self) -> Raw:
        out = {}
        for split in SPLITS:
            x, y = formats.read_cifar(self.folder, split)
            out[split] = (torch.from_numpy(x), torch.from_numpy(y))
        return out


# --- stacked digits: three independent digits as the three channels ------------------------


class Stacked(Dataset):
    """Three digits drawn independently (uniformly over a split) as the three channels;
    label 100*d1 + 10*d2 + d3, so 1000 modes of equal mass."""

    kind = "image"
    num_classes = 1000

    def __init__(self, base: ImageDataset):
        if base.channels != 1 or base.num_classes != 10:
            raise ValueError("stacking needs a one-channel data set with 10 classes")
        #: the one-channel data set each channel is drawn from (mode counting classifies it)
        self.channel_dataset = base
        self.shape = (3, base.size, base.size)

    def sample_labeled(self, n, generator, device="cpu", split="train"):
        dev = generator.device
        x, y = self.channel_dataset.raw(split, dev)
        idx = torch.randint(x.shape[0], (n, 3), generator=generator, device=dev)
        images = self.channel_dataset.to_float(x[idx].squeeze(2))  # [n, 3, H, W]
        labels = (y[idx] * torch.tensor([100, 10, 1], device=dev)).sum(1)
        return images.to(device), labels.to(device)


@REGISTRY.register(
    "stacked_digits",
    description="three independent 8x8 digits stacked as RGB channels: 1000 modes",
    reference="Metz et al. 2017, Unrolled GANs (ICLR); Srivastava et al. 2017, VEEGAN",
)
class StackedDigits(Stacked):
    def __init__(self, size: int = 8):
        super().__init__(Digits(size))


@REGISTRY.register(
    "stacked_mnist",
    description="three independent MNIST digits stacked as RGB channels: 1000 modes",
    reference="Metz et al. 2017, Unrolled GANs (ICLR); Srivastava et al. 2017, VEEGAN",
)
class StackedMNIST(Stacked):
    def __init__(self, size: int = 28, data_dir: str = ""):
        super().__init__(MNIST(size, data_dir))
