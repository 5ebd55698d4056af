"""Checksums and the download path, offline: sources point at local file:// URLs."""

import hashlib
from pathlib import Path

import pytest

from ganbench import cli
from ganbench.data import download
from ganbench.data.download import DownloadError, Source


def test_verify_md5_and_sha256(tmp_path):
    f = tmp_path / "blob"
    f.write_bytes(b"ganbench")
    md5, sha = hashlib.md5(b"ganbench").hexdigest(), hashlib.sha256(b"ganbench").hexdigest()
    download.verify(f, md5=md5, sha256=sha)
    download.verify(f, md5=md5.upper())
    with pytest.raises(DownloadError, match="md5 is"):
        download.verify(f, md5="0" * 32)
    with pytest.raises(DownloadError, match="sha256 is"):
        download.verify(f, md5=md5, sha256="0" * 64)
    with pytest.raises(DownloadError, match="no such file"):
        download.verify(tmp_path / "absent", md5=md5)


def test_published_checksums_are_well_formed():
    for name, sources in download.SOURCES.items():
        assert sources, name
        for s in sources:
            assert len(s.md5) == 32 and int(s.md5, 16) >= 0
            assert all(u.endswith(s.filename) for u in s.urls)


def test_data_folder_order(tmp_path, monkeypatch):
    monkeypatch.delenv(download.ENV, raising=False)
    assert download.data_folder("cifar10") == Path.home() / ".cache/ganbench/data/cifar10"
    monkeypatch.setenv(download.ENV, str(tmp_path))
    assert download.data_folder("cifar10") == tmp_path / "cifar10"
    assert download.data_folder("stacked_mnist") == tmp_path / "mnist"
    assert download.data_folder("mnist", tmp_path / "x") == tmp_path / "x"


@pytest.fixture
def local_sources(tmp_path, monkeypatch):
    """mnist's sources replaced by two local files served through file:// URLs."""
    served = tmp_path / "served"
    served.mkdir()
    files = {"a.gz": b"first file", "b.gz": b"second file"}
    for name, data in files.items():
        (served / name).write_bytes(data)
    sources = tuple(Source(n, (f"file://{tmp_path}/nowhere/{n}", (served / n).as_uri()),
                           hashlib.md5(d).hexdigest()) for n, d in files.items())
    monkeypatch.setitem(download.SOURCES, "mnist", sources)
    return served


def test_download_fetches_verifies_and_skips(tmp_path, local_sources):
    dest = tmp_path / "data"
    logs = []
    paths = download.download("mnist", dest, log=logs.append)
    assert [p.name for p in paths] == ["a.gz", "b.gz"]
    assert (dest / "a.gz").read_bytes() == b"first file"  # from the second mirror
    assert not list(dest.glob(".*part"))
    logs.clear()
    download.download("stacked_mnist", dest, log=logs.append)  # alias: same files, kept
    assert all("checksum ok" in line for line in logs)


def test_download_with_bad_checksum_leaves_nothing(tmp_path, local_sources, monkeypatch):
    good = download.SOURCES["mnist"]
    monkeypatch.setitem(download.SOURCES, "mnist", (Source("a.gz", good[0].urls, "0" * 32),))
    dest = tmp_path / "data"
    with pytest.raises(DownloadError, match="md5 is"):
        download.download("mnist", dest, log=lambda s: None)
    assert list(dest.iterdir()) == []


def test_cli_download(tmp_path, local_sources, monkeypatch, capsys):
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "b.gz").is_file()
    assert cli.main(["data", "download", "mnits"]) == 2
    assert "did you mean 'mnist'" in capsys.readouterr().err
    monkeypatch.setitem(download.SOURCES, "mnist", (Source("c.gz", ("file:///nowhere/c.gz",), "0" * 32),))
    assert cli.main(["data", "download", "mnist", "--data-dir", str(tmp_path / "e")]) == 1
    assert "could not fetch c.gz" in capsys.readouterr().err
