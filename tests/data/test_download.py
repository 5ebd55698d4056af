"""Downloads, offline: ``download.open_url`` (the one call that reaches the network) is
replaced by a table of URL -> bytes, so the mirrors' order, HTTPS only, the size limit,
the checksum and the temporary file are all exercised without a socket."""

import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torchvision.datasets as tvd
from imagefiles import IDX_NAMES, trust_cifar, write_cifar, write_idx_set

from ganbench import cli
from ganbench.data import REGISTRY, download
from ganbench.data.download import DownloadError


def test_files_and_checksums_are_torchvision_s():
    assert download.distribution_files("mnist") == dict(tvd.MNIST.resources)
    assert download.distribution_files("fashion_mnist") == dict(tvd.FashionMNIST.resources)
    assert download.distribution_files("cifar10") == {"cifar-10-python.tar.gz": tvd.CIFAR10.tgz_md5}
    for name in download.NAMES:
        assert all(len(m) == 32 and int(m, 16) >= 0 for m in download.distribution_files(name).values())


def test_every_mirror_is_https():
    assert set(download.MIRRORS) == set(download.NAMES) == set(download.MAX_FILE_BYTES)
    assert all(m.startswith("https://") and m.endswith("/")
               for ms in download.MIRRORS.values() for m in ms)


def test_data_folder_order(tmp_path, monkeypatch):
    monkeypatch.delenv(download.ENV, raising=False)
    assert download.data_folder("cifar10") == Path.home() / ".cache/ganbench/data/cifar10"
    monkeypatch.setenv(download.ENV, str(tmp_path))
    assert download.data_folder("cifar10") == tmp_path / "cifar10"
    assert download.data_folder("stacked_mnist") == tmp_path / "mnist"
    assert download.data_folder("mnist", tmp_path / "x") == tmp_path / "x"


class Response(io.BytesIO):
    def __init__(self, data: bytes, length: str | None):
        super().__init__(data)
        self.headers = {} if length is None else {"Content-Length": length}


class Web:
    """URL -> bytes; records each request and the temporary files present meanwhile."""

    def __init__(self, files: dict[str, bytes], announce: bool = True):
        self.files, self.announce = files, announce
        self.requests: list[str] = []
        self.partials: list[Path] = []
        self.folder: Path | None = None

    def __call__(self, url: str):
        self.requests.append(url)
        if self.folder is not None:
            self.partials += list(self.folder.glob(".*.part"))
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        data = self.files[url]
        return Response(data, str(len(data)) if self.announce else None)


MIRROR_A, MIRROR_B = "https://a.test/mnist/", "https://b.test/mnist/"


@pytest.fixture
def mnist_web(tmp_path, monkeypatch):
    """mnist served by the second of two mirrors, tiny files with their MD5s published."""
    served = tmp_path / "served"
    rng = np.random.default_rng(0)
    write_idx_set(served, {"train": (rng.integers(0, 256, (4, 28, 28)), np.arange(4)),
                           "test": (rng.integers(0, 256, (2, 28, 28)), np.arange(2))})
    names = [n for pair in IDX_NAMES.values() for n in pair]
    monkeypatch.setattr(tvd.MNIST, "resources",
                        [(n, hashlib.md5((served / n).read_bytes()).hexdigest()) for n in names])
    monkeypatch.setitem(download.MIRRORS, "mnist", [MIRROR_A, MIRROR_B])
    web = Web({MIRROR_B + n: (served / n).read_bytes() for n in names})
    monkeypatch.setattr(download, "open_url", web)
    return web, served


def test_download_fetches_verifies_and_skips(tmp_path, mnist_web):
    web, served = mnist_web
    dest = tmp_path / "data"
    web.folder = dest
    logs = []
    paths = download.download("mnist", dest, log=logs.append)
    assert [p.name for p in paths] == [n for n, _ in tvd.MNIST.resources]
    for p in paths:
        assert p.read_bytes() == (served / p.name).read_bytes()
    # the first mirror was tried first for each file, then the second
    assert web.requests[:2] == [MIRROR_A + paths[0].name, MIRROR_B + paths[0].name]
    # each file went through its own temporary in the data folder, none left behind
    assert len({p.name for p in web.partials}) >= 3
    assert all(p.parent == dest for p in web.partials)
    assert not list(dest.glob(".*"))
    n = len(web.requests)
    download.download("stacked_mnist", dest, log=logs.append)  # alias: same files, kept
    assert len(web.requests) == n and logs[-1] == f"mnist: present in {dest}, checksums ok"
    assert REGISTRY.create("mnist", data_dir=str(dest)).labeled("test")[1].tolist() == [0, 1]


def test_a_file_with_the_wrong_checksum_leaves_nothing(tmp_path, mnist_web, monkeypatch):
    monkeypatch.setattr(tvd.MNIST, "resources", [(n, "0" * 32) for n, _ in tvd.MNIST.resources])
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="could not fetch mnist.*expected the published"):
        download.download("mnist", dest, log=lambda s: None)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "streamed"])
def test_a_file_over_the_size_limit_is_refused(tmp_path, mnist_web, monkeypatch, announce):
    web, _ = mnist_web
    web.announce = announce
    monkeypatch.setitem(download.MAX_FILE_BYTES, "mnist", 100)
    monkeypatch.setattr(download, "CHUNK", 16)
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="100 accepted|100 bytes accepted"):
        download.download("mnist", dest, log=lambda s: None)
    assert list(dest.iterdir()) == []


def test_plain_http_is_never_requested(tmp_path, mnist_web, monkeypatch):
    web, _ = mnist_web
    monkeypatch.setitem(download.MIRRORS, "mnist", ["http://b.test/mnist/"])
    with pytest.raises(DownloadError, match="only HTTPS"):
        download.download("mnist", tmp_path / "data", log=lambda s: None)
    assert web.requests == []


def test_a_redirect_to_plain_http_is_refused():
    import urllib.request

    handler = download._HTTPSOnly()
    req = urllib.request.Request("https://a.test/x")
    with pytest.raises(urllib.error.URLError, match="HTTPS only"):
        handler.redirect_request(req, None, 302, "Found", {}, "http://evil.test/x")
    assert handler.redirect_request(req, None, 302, "Found", {}, "https://b.test/x") is not None


def test_download_cifar_archive(tmp_path, monkeypatch):
    served = tmp_path / "served"
    rng = np.random.default_rng(3)
    md5s = write_cifar(served, (rng.integers(0, 256, (5, 32, 32, 3), np.uint8), [1] * 5),
                       (rng.integers(0, 256, (2, 32, 32, 3), np.uint8), [2, 3]), archive=True)
    trust_cifar(monkeypatch, md5s)
    name = "cifar-10-python.tar.gz"
    monkeypatch.setattr(download, "open_url", Web({download.MIRRORS["cifar10"][0] + name:
                                                   (served / name).read_bytes()}))
    dest = tmp_path / "data"
    download.download("cifar10", dest, log=lambda s: None)
    assert {p.name for p in dest.iterdir()} == {name}
    # unpacked when first read, after its checksum
    assert REGISTRY.create("cifar10", data_dir=str(dest)).labeled("test")[1].tolist() == [2, 3]


def test_cli_download(tmp_path, mnist_web, monkeypatch, capsys):
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert cli.main(["data", "download", "mnits"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    monkeypatch.setitem(download.MIRRORS, "mnist", [MIRROR_A])
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "e")]) == 1
    assert "could not fetch mnist" in capsys.readouterr().err
