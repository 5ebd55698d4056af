import numpy as np
import pytest
import torch
from imagefiles import trust_cifar, write_cifar, write_idx_set

from ganbench import cli
from ganbench.data import REGISTRY, images
from ganbench.suite import SuiteError, parse_suite


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- digits ------------------------------------------------------------------------------


def test_digits_split_is_fixed_stratified_and_disjoint():
    d = REGISTRY.create("digits")
    assert d.kind == "image" and d.shape == (1, 8, 8) and d.num_classes == 10
    (xtr, ytr), (xte, yte) = d.raw("train"), d.raw("test")
    assert len(ytr) + len(yte) == 1797
    counts_te, counts_all = torch.bincount(yte, minlength=10), torch.bincount(
        torch.cat([ytr, yte]), minlength=10)
    assert ((counts_te - 0.2 * counts_all).abs() <= 1).all()  # 20% of every class
    # no test image is also a train image
    tr = {bytes(row) for row in xtr.flatten(1).numpy()}
    assert not any(bytes(row) in tr for row in xte.flatten(1).numpy())
    images._RAW.clear()  # a fresh load gives the same split
    images._ON_DEVICE.clear()
    assert torch.equal(REGISTRY.create("digits").raw("test")[1], yte)


def test_digits_values_and_sampling():
    from sklearn.datasets import load_digits

    d = REGISTRY.create("digits")
    x, y = d.sample_labeled(500, gen(0))
    assert x.shape == (500, 1, 8, 8) and x.dtype == torch.float32
    assert x.min() == -1.0 and x.max() == 1.0  # grey levels 0..16 map onto [-1, 1]
    # each sample is a real digit image with its label
    ref = load_digits()
    table = {bytes(((im + 1) * 8).round().to(torch.uint8).flatten().numpy()): lab
             for im, lab in zip(torch.as_tensor(ref.images, dtype=torch.float32) / 8 - 1,
                                ref.target)}
    for xi, yi in zip(x[:50], y[:50]):
        assert table[bytes(((xi + 1) * 8).round().to(torch.uint8).flatten().numpy())] == yi
    # deterministic for a generator state; different splits draw from different pools
    assert torch.equal(d.sample(20, gen(3)), d.sample(20, gen(3)))
    assert not torch.equal(d.sample(20, gen(3), split="test"), d.sample(20, gen(3)))
    with pytest.raises(ValueError, match="split"):
        d.sample(2, gen(), split="valid")


def test_digits_resized():
    d = REGISTRY.create("digits", size=16)
    x = d.sample(10, gen())
    assert d.shape == (1, 16, 16) and x.shape == (10, 1, 16, 16)
    assert x.min() >= -1 and x.max() <= 1
    # the resize keeps the picture: pooled back to 8x8 it correlates with the original
    # (0.98 here, against 0.54 for other digits)
    pooled = torch.nn.functional.avg_pool2d(x, 2).flatten()
    small = REGISTRY.create("digits").sample(10, gen()).flatten()
    assert torch.corrcoef(torch.stack([pooled, small]))[0, 1] > 0.95
    with pytest.raises(ValueError, match="size"):
        REGISTRY.create("digits", size=2)


def test_labeled_split_matches_raw():
    d = REGISTRY.create("digits")
    x, y = d.labeled("test")
    assert x.shape == (len(y), 1, 8, 8) and torch.equal(y, d.raw("test")[1])


# --- stacked digits --------------------------------------------------------------------


def test_stacked_digits_channels_are_independent_base_digits():
    s = REGISTRY.create("stacked_digits")
    assert s.shape == (3, 8, 8) and s.num_classes == 1000 and s.kind == "image"
    base = s.channel_dataset
    x, y = s.sample_labeled(300, gen(5), split="test")
    # replay the index draw: channel c is base image idx[:, c], label digit c of the triple
    bx, by = base.raw("test")
    idx = torch.randint(len(by), (300, 3), generator=gen(5))
    for c in range(3):
        assert torch.equal(x[:, c:c + 1], base.to_float(bx[idx[:, c]]))
    assert torch.equal(y, by[idx[:, 0]] * 100 + by[idx[:, 1]] * 10 + by[idx[:, 2]])
    # all 1000 modes carry (close to) equal mass
    _, many = s.sample_labeled(30000, gen(6))
    counts = torch.bincount(many, minlength=1000)
    assert counts.numel() == 1000 and (counts > 0).all()
    assert abs(counts.float().std().item() - 30 ** 0.5) < 1.5


# --- file-backed sets from tiny files in the official formats ----------------------------


def tiny_idx(folder, compress=True, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    xs = {s: rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
          for s, n in (("train", n_train), ("test", n_test))}
    xs["train"][0] = 0
    xs["train"][1] = 255
    ys = {"train": np.arange(n_train) % 10, "test": (np.arange(n_test) + 3) % 10}
    write_idx_set(folder, {s: (xs[s], ys[s]) for s in xs}, compress=compress)
    return xs, ys


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("compress", [True, False])
def test_idx_sets_load_from_data_dir(tmp_path, name, compress):
    xs, ys = tiny_idx(tmp_path, compress)
    d = REGISTRY.create(name, data_dir=str(tmp_path))
    assert d.shape == (1, 28, 28) and d.kind == "image" and d.num_classes == 10
    x, y = d.labeled("train")
    assert x[0].eq(-1).all() and x[1].eq(1).all()
    assert torch.allclose(x, torch.from_numpy(xs["train"]).float()[:, None] / 127.5 - 1, atol=1e-6)
    assert y.tolist() == ys["train"].tolist()
    assert d.labeled("test")[1].tolist() == ys["test"].tolist()
    xb, yb = d.sample_labeled(8, gen(), split="test")
    assert xb.shape == (8, 1, 28, 28) and set(yb.tolist()) <= set(ys["test"].tolist())
    big = REGISTRY.create(name, size=32, data_dir=str(tmp_path))
    assert big.sample(3, gen()).shape == (3, 1, 32, 32)


def test_env_folder_and_process_cache(tmp_path, monkeypatch):
    tiny_idx(tmp_path / "mnist")
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path))
    a, b = REGISTRY.create("mnist"), REGISTRY.create("mnist", size=32)
    assert a.folder == tmp_path / "mnist"
    # read once per process: both instances share the same tensors
    assert a.raw("train")[0] is b.raw("train")[0]


def test_stacked_mnist(tmp_path):
    tiny_idx(tmp_path)
    s = REGISTRY.create("stacked_mnist", size=32, data_dir=str(tmp_path))
    x, y = s.sample_labeled(5, gen())
    assert x.shape == (5, 3, 32, 32) and s.num_classes == 1000
    assert ((y // 100) < 6).all()  # train labels are 0..5


@pytest.mark.parametrize("archive", [False, True])
def test_cifar10_loads(tmp_path, archive, monkeypatch):
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    trust_cifar(monkeypatch, write_cifar(tmp_path, (train, list(range(10))), (test, [4, 5]),
                                         archive=archive))
    d = REGISTRY.create("cifar10", data_dir=str(tmp_path))
    assert d.shape == (3, 32, 32) and d.num_classes == 10
    x, y = d.labeled("train")
    expect = torch.from_numpy(train).permute(0, 3, 1, 2).float() / 127.5 - 1
    assert torch.allclose(x, expect, atol=1e-6) and y.tolist() == list(range(10))
    assert d.sample(4, gen(), split="test").shape == (4, 3, 32, 32)


@pytest.mark.parametrize("name,files", [
    ("mnist", "train-images-idx3-ubyte.gz"),
    ("fashion_mnist", "t10k-labels-idx1-ubyte.gz"),
    ("cifar10", "cifar-10-python.tar.gz"),
    ("stacked_mnist", "train-labels-idx1-ubyte.gz"),
])
def test_missing_files_fail_at_creation(tmp_path, name, files):
    with pytest.raises(ValueError) as err:
        REGISTRY.create(name, data_dir=str(tmp_path))
    msg = str(err.value)
    assert files in msg and str(tmp_path) in msg
    assert f"ganbench data download {name.replace('stacked_', '')}" in msg


def test_suite_with_missing_data_is_invalid_before_running(tmp_path, capsys):
    raw = {"base": {"dataset": {"name": "mnist", "data_dir": str(tmp_path / "none")},
                    "model": {"name": "dcgan", "width": 4, "latent_dim": 4}}}
    with pytest.raises(SuiteError, match="ganbench data download mnist"):
        parse_suite(raw)
    suite = tmp_path / "s.yaml"
    suite.write_text("base:\n  dataset: {name: cifar10, data_dir: %s}\n  model: dcgan\n"
                     % (tmp_path / "none"))
    assert cli.main(["run", str(suite), "--results", str(tmp_path / "res"), "--no-progress"]) == 2
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_paper_suites_validate_when_their_files_are_present(tmp_path, monkeypatch):
    from pathlib import Path

    from ganbench.suite import load_suite

    suites = Path(__file__).parents[2] / "suites"
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path / "none"))
    with pytest.raises(SuiteError, match="ganbench data download mnist"):
        load_suite(suites / "stacked_mnist_objectives.yaml")
    # tiny stand-ins of the distribution files (and of the Inception weights file)
    tiny_idx(tmp_path / "mnist")
    rng = np.random.default_rng(2)
    write_cifar(tmp_path / "cifar10", (rng.integers(0, 256, (5, 32, 32, 3), np.uint8), [0] * 5),
                (rng.integers(0, 256, (1, 32, 32, 3), np.uint8), [1]), archive=True)
    (tmp_path / "inception.pt").touch()
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(tmp_path / "inception.pt"))
    monkeypatch.setenv("GANBENCH_DATA", str(tmp_path))
    s = load_suite(suites / "stacked_mnist_objectives.yaml")
    assert len(s.runs) == 4 * 3 * 5 + 3 * 3 * 5
    assert {r.config["dataset"]["name"] for r in s.runs} == {"stacked_mnist"}
    c = load_suite(suites / "cifar10_paper.yaml")
    assert {m["name"] for m in c.runs[0].config["evaluation"]["metrics"]} == {"fid", "kid"}
    for path in sorted((suites / "papers").glob("stacked_mnist_*.yaml")):  # the paper tables
        p = load_suite(path)
        assert {r.config["dataset"]["name"] for r in p.runs} == {"stacked_mnist"}, path


def test_test_split_draws_each_image_once_before_repeating():
    d = REGISTRY.create("digits")
    n_test = len(d.raw("test")[1])
    x, _ = d.sample_labeled(n_test, gen(4), split="test")
    assert len({bytes(r) for r in x.flatten(1).numpy()}) == n_test  # the whole test set
    xb, _ = d.sample_labeled(2 * n_test + 5, gen(4), split="test")
    counts = torch.unique(xb.flatten(1), dim=0, return_counts=True)[1]
    assert len(counts) == n_test and set(counts.tolist()) <= {2, 3}
    # training draws stay i.i.d.: a split-sized draw repeats images
    n_train = len(d.raw("train")[1])
    xt, _ = d.sample_labeled(n_train, gen(4))
    assert len(torch.unique(xt.flatten(1), dim=0)) < 0.7 * n_train
