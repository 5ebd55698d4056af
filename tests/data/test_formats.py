"""The distribution files, read through torchvision's dataset classes."""

import gzip
import pickle

import numpy as np
import pytest
import torch
from imagefiles import idx_bytes, trust_cifar, write_cifar, write_idx_set

from ganbench.data import formats


def tiny_idx(folder, compress):
    rng = np.random.default_rng(0)
    x = {s: rng.integers(0, 256, (n, 28, 28)).astype(np.uint8) for s, n in (("train", 5), ("test", 3))}
    y = {"train": np.arange(5), "test": np.array([7, 8, 9])}
    write_idx_set(folder, {s: (x[s], y[s]) for s in x}, compress=compress)
    return x, y


@pytest.mark.parametrize("compress", [True, False])
def test_idx_read_as_distributed_or_decompressed(tmp_path, compress):
    x, y = tiny_idx(tmp_path, compress)
    for split in ("train", "test"):
        xs, ys = formats.read_idx("mnist", tmp_path, split)
        assert xs.dtype == torch.uint8 and torch.equal(xs, torch.from_numpy(x[split]))
        assert ys.tolist() == y[split].tolist()
    # a .gz alone was decompressed beside it, once, with no scratch files left
    names = {p.name for p in tmp_path.iterdir()}
    assert "train-images-idx3-ubyte" in names and not any(n.startswith(".") for n in names)


def test_idx_paths(tmp_path):
    assert formats.idx_files("fashion_mnist")[0] == "train-images-idx3-ubyte.gz"
    assert formats.idx_path(tmp_path, "t10k-labels-idx1-ubyte.gz") is None
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"")
    assert formats.idx_path(tmp_path, "t10k-labels-idx1-ubyte.gz").name == "t10k-labels-idx1-ubyte"


def test_bad_idx_files_are_format_errors(tmp_path):
    tiny_idx(tmp_path, compress=False)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x01\x02\x08\x03" + b"\x00" * 8)
    with pytest.raises(formats.FormatError, match="test IDX files .* not as distributed"):
        formats.read_idx("mnist", tmp_path, "test")
    short = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-3]
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(short)
    with pytest.raises(formats.FormatError, match="ganbench data download mnist"):
        formats.read_idx("mnist", tmp_path, "test")
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(short)[:-6])
    with pytest.raises(formats.FormatError, match="cannot unpack"):
        formats.read_idx("mnist", tmp_path, "test")


def _images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("archive", [False, True])
def test_cifar_batches_folder_and_archive(tmp_path, archive, monkeypatch):
    train, test = _images(10, 0), _images(3, 1)
    trust_cifar(monkeypatch, write_cifar(tmp_path, (train, list(range(10))), (test, [7, 8, 9]),
                                         archive=archive))
    src = formats.cifar_source(tmp_path)
    assert src.name == ("cifar-10-python.tar.gz" if archive else "cifar-10-batches-py")
    x, y = formats.read_cifar(tmp_path, "train")
    assert x.shape == (10, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    # planar rows: the first 1024 bytes are the red plane, row-major
    assert np.array_equal(x, train.transpose(0, 3, 1, 2)) and y.tolist() == list(range(10))
    xt, yt = formats.read_cifar(tmp_path, "test")
    assert np.array_equal(xt, test.transpose(0, 3, 1, 2)) and yt.tolist() == [7, 8, 9]
    assert formats.cifar_source(tmp_path).name == "cifar-10-batches-py"  # unpacked once


class Boom:
    """Unpickling this writes a file: what a hostile 'batch' could do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_cifar_files_without_their_published_checksum_are_never_unpickled(tmp_path, monkeypatch):
    md5s = write_cifar(tmp_path, (_images(5, 0), [0] * 5), (_images(1, 1), [1]))
    trust_cifar(monkeypatch, md5s)
    marker = tmp_path / "pwned"
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(formats.FormatError, match="data_batch_3 does not match its published MD5"):
        formats.read_cifar(tmp_path, "train")
    assert not marker.exists()
    assert formats.cifar_source(tmp_path / "nothing") is None


def test_cifar_archive_is_checked_before_unpacking(tmp_path, monkeypatch):
    md5s = write_cifar(tmp_path, (_images(5, 0), [0] * 5), (_images(1, 1), [1]), archive=True)
    trust_cifar(monkeypatch, {**md5s, "cifar-10-python.tar.gz": "0" * 32})
    with pytest.raises(formats.FormatError, match="cifar-10-python.tar.gz does not match"):
        formats.read_cifar(tmp_path, "test")
    assert not (tmp_path / "cifar-10-batches-py").exists()
