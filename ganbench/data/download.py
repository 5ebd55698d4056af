"""Where the image data sets live on disk, and fetching them when the user asks.

Folder of a data set: the ``data_dir`` parameter if given, else ``$GANBENCH_DATA/<name>``,
else ``~/.cache/ganbench/data/<name>``. The files are those torchvision's dataset classes
(``torchvision.datasets.MNIST``, ``FashionMNIST``, ``CIFAR10``) know, with their mirrors
and published MD5s; torchvision fetches and checks them, directly into that folder (not
torchvision's ``<root>/MNIST/raw`` layout). Nothing here runs unless the user asked for a
download (``ganbench data download NAME``), and a download that fails or does not match
its checksum leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
from collections.abc import Callable
from pathlib import Path

from ganbench.registry import unknown_message

ENV = "GANBENCH_DATA"
NAMES = ("mnist", "fashion_mnist", "cifar10")
# data sets that read another one's files
ALIASES = {"stacked_mnist": "mnist"}


class DownloadError(OSError):
    """A download failed or a file did not match its checksum (the message says which)."""


def canonical_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in NAMES:
        raise ValueError(unknown_message("downloadable data set", name, [*NAMES, *ALIASES]))
    return name


def dataset_class(name: str):
    """torchvision's class for a data set, reading and writing its files directly in the
    folder given as ``root`` (torchvision is imported here: it is slow to import)."""
    from torchvision import datasets

    base = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST,
            "cifar10": datasets.CIFAR10}[canonical_name(name)]
    if base is datasets.CIFAR10:
        return base  # its root is already the folder holding cifar-10-batches-py/
    return type(base.__name__, (base,), {"raw_folder": property(lambda self: self.root)})


def distribution_files(name: str) -> dict[str, str | None]:
    """File name -> published MD5 of what a download brings."""
    cls = dataset_class(name)
    if hasattr(cls, "resources"):
        return dict(cls.resources)
    return {cls.filename: cls.tgz_md5}


def data_folder(name: str, data_dir: str | Path | None = None) -> Path:
    """The folder holding a data set's files (see the module docstring for the order)."""
    if data_dir:
        return Path(data_dir).expanduser()
    root = os.environ.get(ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "ganbench" / "data"
    return base / ALIASES.get(name, name)


def download_hint(name: str, folder: Path) -> str:
    opt = "" if folder == data_folder(name) else f" --data-dir {folder}"
    return f"ganbench data download {ALIASES.get(name, name)}{opt}"


def verified(name: str, folder: Path) -> bool:
    """Every distribution file of the data set is in the folder with its published MD5."""
    from torchvision.datasets.utils import check_integrity

    return all(check_integrity(folder / f, md5) for f, md5 in distribution_files(name).items())


def download(name: str, data_dir: str | Path | None = None,
             log: Callable[[str], None] = print) -> list[Path]:
    """Fetch a data set's distribution files into its folder (and unpack them as torchvision
    does); files already there with their published checksums are kept. Returns the paths
    of the distribution files."""
    key = canonical_name(name)
    folder = data_folder(key, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f for f in distribution_files(key)]
    if verified(key, folder):
        log(f"{key}: present in {folder}, checksums ok")
        return files
    # torchvision fetches into a scratch folder beside the real one: a failed or corrupt
    # download (which torchvision would leave in place) never reaches the data folder
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        try:
            dataset_class(key)(root=tmp, train=False, download=True)
        except (RuntimeError, OSError, urllib.error.URLError) as exc:
            raise DownloadError(f"could not fetch {key} into {folder}: {exc}".rstrip()) from None
        if not verified(key, Path(tmp)):
            raise DownloadError(f"{key}: the fetched files do not match their published MD5s")
        for entry in Path(tmp).iterdir():
            dest = folder / entry.name
            if dest.is_dir():
                shutil.rmtree(dest)
            os.replace(entry, dest)
    return files
