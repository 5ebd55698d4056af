import gzip
import pickle

import numpy as np
import pytest
from imagefiles import idx_bytes, write_cifar

from ganbench.data import formats


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(x)
    assert data[:4] == b"\x00\x00\x08\x03"  # magic 2051
    path = tmp_path / ("a.gz" if compress else "a")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = formats.read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert np.array_equal(out, x)


def test_idx_big_endian_types(tmp_path):
    y = np.array([1, -2, 70000], dtype=np.int32)
    (tmp_path / "b").write_bytes(idx_bytes(y, type_code=0x0C, dtype=">i4"))
    out = formats.read_idx(tmp_path / "b")
    assert out.tolist() == [1, -2, 70000]


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(formats.FormatError, match="magic"):
        formats.read_idx(tmp_path / "bad")
    short = idx_bytes(np.zeros((4, 2), np.uint8))[:-3]
    (tmp_path / "short").write_bytes(short)
    with pytest.raises(formats.FormatError, match="holds 5 bytes"):
        formats.read_idx(tmp_path / "short")
    (tmp_path / "trunc.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8)))[:-6])
    with pytest.raises(formats.FormatError, match="gzip"):
        formats.read_idx(tmp_path / "trunc.gz")


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("archive", [False, True])
def test_cifar_batches_folder_and_archive(tmp_path, archive):
    train, test = _images(10, 0), _images(3, 1)
    write_cifar(tmp_path, (train, list(range(10))), (test, [7, 8, 9]), archive=archive)
    src = formats.cifar_source(tmp_path)
    assert src.name == ("cifar-10-python.tar.gz" if archive else "cifar-10-batches-py")
    x, y = formats.read_cifar(src, formats.CIFAR_TRAIN)
    assert x.shape == (10, 3, 32, 32) and x.dtype == np.uint8
    assert y.tolist() == list(range(10))
    # planar rows: the first 1024 bytes are the red plane, row-major
    assert np.array_equal(x, train.transpose(0, 3, 1, 2))
    xt, yt = formats.read_cifar(src, formats.CIFAR_TEST)
    assert np.array_equal(xt, test.transpose(0, 3, 1, 2)) and yt.tolist() == [7, 8, 9]


def test_cifar_source_absent_and_bad_batch(tmp_path):
    assert formats.cifar_source(tmp_path) is None
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8),
                                               b"labels": [0, 1]}))
    with pytest.raises(formats.FormatError, match="3072"):
        formats.read_cifar(tmp_path, ("b",))
    (tmp_path / "c").write_bytes(pickle.dumps({"data": 1}))
    with pytest.raises(formats.FormatError, match="b'data'"):
        formats.read_cifar(tmp_path, ("c",))
