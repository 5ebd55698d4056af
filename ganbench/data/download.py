"""Where the image data sets live on disk, and fetching them when the user asks.

Folder of a data set: the ``data_dir`` parameter if given, else ``$GANBENCH_DATA/<name>``,
else ``~/.cache/ganbench/data/<name>``. The files are those torchvision's dataset classes
(``torchvision.datasets.MNIST``, ``FashionMNIST``, ``CIFAR10``) know, with their published
MD5s, as distributed (directly in that folder, not torchvision's ``<root>/MNIST/raw``
layout; they are unpacked when first read, after their checksum, see ``formats``).

Nothing here runs unless the user asked for a download (``ganbench data download NAME``).
Each file is fetched from HTTPS mirrors only (a redirect to plain HTTP is refused), up to
a size limit per data set, into a uniquely named temporary file in the data folder that
becomes the real file only once its MD5 matches; a failure removes it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ganbench.registry import unknown_message

ENV = "GANBENCH_DATA"
NAMES = ("mnist", "fashion_mnist", "cifar10")
# data sets that read another one's files
ALIASES = {"stacked_mnist": "mnist"}


# HTTPS mirrors, tried in order (torchvision's, less the plain-HTTP ones; Fashion-MNIST's
# own repository, since its torchvision mirror is HTTP only)
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/"],
    "fashion_mnist": ["https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"],
    "cifar10": ["https://www.cs.toronto.edu/~kriz/"],
}
# largest file accepted per data set (the real ones: 9.9 MB, 26 MB, 163 MiB)
MAX_FILE_BYTES = {"mnist": 32 << 20, "fashion_mnist": 64 << 20, "cifar10": 256 << 20}
CHUNK = 1 << 20
TIMEOUT_S = 60


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


class _HTTPSOnly(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to HTTPS: a mirror must not hand the download to plain HTTP."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith("https://"):
            raise urllib.error.URLError(f"refused a redirect to {newurl[:120]} (HTTPS only)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def open_url(url: str):
    """The response for ``url`` (the one place that reaches the network; tests replace it)."""
    opener = urllib.request.build_opener(_HTTPSOnly)
    return opener.open(urllib.request.Request(url, headers={"User-Agent": "ganbench"}),
                       timeout=TIMEOUT_S)


def fetch(url: str, dest: Path, md5: str | None, limit: int) -> None:
    """``url`` into ``dest``, through a uniquely named temporary file beside it that is
    renamed into place only when complete, within ``limit`` bytes and matching ``md5``."""
    if not url.lower().startswith("https://"):
        raise DownloadError(f"refused {url}: only HTTPS mirrors are used")
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest, size = hashlib.md5(), 0
        with os.fdopen(fd, "wb") as out, open_url(url) as resp:
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise DownloadError(f"{url}: {int(declared)} bytes announced, more than the "
                                    f"{limit} accepted for this file")
            while chunk := resp.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise DownloadError(f"{url}: more than the {limit} bytes accepted for "
                                        "this file; stopped")
                digest.update(chunk)
                out.write(chunk)
        if md5 and digest.hexdigest() != md5:
            raise DownloadError(f"{url}: MD5 {digest.hexdigest()}, expected the published {md5}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(name: str, data_dir: str | Path | None = None,
             log: Callable[[str], None] = print) -> list[Path]:
    """Fetch a data set's distribution files into its folder; files already there with
    their published checksums are kept. Returns the paths of the distribution files."""
    from torchvision.datasets.utils import check_integrity

    key = canonical_name(name)
    folder = data_folder(key, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = distribution_files(key)
    if verified(key, folder):
        log(f"{key}: present in {folder}, checksums ok")
        return [folder / f for f in files]
    for fname, md5 in files.items():
        dest = folder / fname
        if check_integrity(dest, md5):
            continue
        errors = []
        for mirror in MIRRORS[key]:
            url = mirror + fname
            try:
                log(f"{key}: fetching {url}")
                fetch(url, dest, md5, MAX_FILE_BYTES[key])
                break
            except (OSError, urllib.error.URLError, ValueError) as exc:
                errors.append(str(exc) if isinstance(exc, DownloadError) else f"{url}: {exc}")
        else:
            raise DownloadError(f"could not fetch {key} into {folder}: " + "; ".join(errors))
    return [folder / f for f in files]
