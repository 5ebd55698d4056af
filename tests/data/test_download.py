"""Downloads through torchvision's dataset classes, offline: the mirrors are a local HTTP
server on the loopback interface."""

import functools
import hashlib
import http.server
import threading
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


def test_data_folder_order(tmp_path, monkeypatch):
    monkeypatch.delenv(download.ENV, raising=False)
    assert download.data_folder("cifar10") == Path.home() / ".cache/ganbench/data/cifar10"
    monkeypatch.setenv(download.ENV, str(tmp_path))
    assert download.data_folder("cifar10") == tmp_path / "cifar10"
    assert download.data_folder("stacked_mnist") == tmp_path / "mnist"
    assert download.data_folder("mnist", tmp_path / "x") == tmp_path / "x"


@pytest.fixture
def serve(tmp_path):
    """Serve tmp_path/served over HTTP on 127.0.0.1; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def served_mnist(tmp_path, serve, monkeypatch):
    """mnist's mirrors replaced by a missing one and a local server of tiny files."""
    served = tmp_path / "served"
    rng = np.random.default_rng(0)
    write_idx_set(served, {"train": (rng.integers(0, 256, (4, 28, 28)), np.arange(4)),
                           "test": (rng.integers(0, 256, (2, 28, 28)), np.arange(2))})
    monkeypatch.setattr(tvd.MNIST, "mirrors", [serve + "nowhere/", serve])
    monkeypatch.setattr(tvd.MNIST, "resources", [
        (n, hashlib.md5((served / n).read_bytes()).hexdigest())
        for pair in IDX_NAMES.values() for n in pair])
    return served


def test_download_fetches_verifies_and_skips(tmp_path, served_mnist):
    dest = tmp_path / "data"
    logs = []
    paths = download.download("mnist", dest, log=logs.append)
    assert [p.name for p in paths] == [n for n, _ in tvd.MNIST.resources]
    assert (dest / "train-images-idx3-ubyte.gz").read_bytes() == \
        (served_mnist / "train-images-idx3-ubyte.gz").read_bytes()  # from the second mirror
    assert (dest / "train-images-idx3-ubyte").is_file()  # unpacked, as torchvision does
    assert not list(dest.glob(".*"))  # no scratch folder left
    download.download("stacked_mnist", dest, log=logs.append)  # alias: same files, kept
    assert logs == [f"mnist: present in {dest}, checksums ok"]
    assert REGISTRY.create("mnist", data_dir=str(dest)).labeled("test")[1].tolist() == [0, 1]


def test_download_with_bad_checksum_leaves_nothing(tmp_path, served_mnist, monkeypatch):
    monkeypatch.setattr(tvd.MNIST, "resources", [(n, "0" * 32) for n, _ in tvd.MNIST.resources])
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="could not fetch mnist"):
        download.download("mnist", dest, log=lambda s: None)
    assert list(dest.iterdir()) == []


def test_download_cifar_archive(tmp_path, serve, monkeypatch):
    served = tmp_path / "served"
    rng = np.random.default_rng(3)
    md5s = write_cifar(served, (rng.integers(0, 256, (5, 32, 32, 3), np.uint8), [1] * 5),
                       (rng.integers(0, 256, (2, 32, 32, 3), np.uint8), [2, 3]), archive=True)
    trust_cifar(monkeypatch, md5s)
    monkeypatch.setattr(tvd.CIFAR10, "url", serve + "cifar-10-python.tar.gz")
    dest = tmp_path / "data"
    download.download("cifar10", dest, log=lambda s: None)
    assert {p.name for p in dest.iterdir()} == {"cifar-10-python.tar.gz", "cifar-10-batches-py"}
    assert REGISTRY.create("cifar10", data_dir=str(dest)).labeled("test")[1].tolist() == [2, 3]


def test_cli_download(tmp_path, serve, served_mnist, monkeypatch, capsys):
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert cli.main(["data", "download", "mnits"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    monkeypatch.setattr(tvd.MNIST, "mirrors", [serve + "nowhere/"])
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "e")]) == 1
    assert "could not fetch mnist" in capsys.readouterr().err
