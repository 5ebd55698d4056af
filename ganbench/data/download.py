"""Where the image data sets live on disk, and fetching them when the user asks.

Folder of a data set: the ``data_dir`` parameter if given, else ``$GANBENCH_DATA/<name>``,
else ``~/.cache/ganbench/data/<name>``. Nothing here runs unless the user asked for a
download (``ganbench data download NAME``); every file is checked against its published
MD5 before it is renamed into place, so a failed or corrupted download leaves nothing.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ganbench.registry import unknown_message

ENV = "GANBENCH_DATA"


@dataclass(frozen=True)
class Source:
    filename: str
    urls: tuple[str, ...]  # mirrors, tried in order
    md5: str


def _idx_sources(mirrors: tuple[str, ...], md5s: dict[str, str]) -> tuple[Source, ...]:
    return tuple(Source(f, tuple(m + f for m in mirrors), h) for f, h in md5s.items())


# published checksums (as distributed by the data sets' authors and mirrored by torchvision)
SOURCES: dict[str, tuple[Source, ...]] = {
    "mnist": _idx_sources(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
         "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
         "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
         "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion_mnist": _idx_sources(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
         "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
         "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
         "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
    "cifar10": (Source("cifar-10-python.tar.gz",
                       ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
                       "c58f30108f718f92721af3b95e74349a"),),
}
# data sets that read another one's files
ALIASES = {"stacked_mnist": "mnist"}


class DownloadError(OSError):
    """A download failed or a file did not match its checksum (the message says which)."""


def canonical_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in SOURCES:
        raise ValueError(unknown_message("downloadable data set", name, [*SOURCES, *ALIASES]))
    return name


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


def file_digest(path: str | Path, algorithm: str = "md5", chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(path: str | Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise DownloadError unless the file exists and matches every checksum given."""
    path = Path(path)
    if not path.is_file():
        raise DownloadError(f"{path}: no such file")
    for algo, want in (("md5", md5), ("sha256", sha256)):
        if want is None:
            continue
        got = file_digest(path, algo)
        if got != want.lower():
            raise DownloadError(f"{path}: {algo} is {got}, expected {want.lower()}")


def is_valid(path: Path, md5: str) -> bool:
    try:
        verify(path, md5=md5)
    except DownloadError:
        return False
    return True


def _fetch(url: str, dest: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as r, open(dest, "wb") as f:
        while block := r.read(1 << 20):
            f.write(block)


def download(name: str, data_dir: str | Path | None = None, timeout: float = 60.0,
             log: Callable[[str], None] = print) -> list[Path]:
    """Fetch a data set's distribution files into its folder; files already there with the
    right checksum are kept. Returns the paths of all its files."""
    key = canonical_name(name)
    folder = data_folder(key, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src in SOURCES[key]:
        dest = folder / src.filename
        out.append(dest)
        if is_valid(dest, src.md5):
            log(f"{dest}: present, checksum ok")
            continue
        tmp = dest.with_name(f".{dest.name}.part")
        errors = []
        for url in src.urls:
            try:
                log(f"fetching {url}")
                _fetch(url, tmp, timeout)
                verify(tmp, md5=src.md5)
            except (OSError, ValueError) as exc:
                tmp.unlink(missing_ok=True)
                errors.append(f"{url}: {exc}")
                continue
            os.replace(tmp, dest)
            break
        else:
            raise DownloadError(f"could not fetch {src.filename}:\n  " + "\n  ".join(errors))
    return out
