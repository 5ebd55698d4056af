"""`ganbench evaluate`: metrics of sample files, and clear errors for bad files."""

import json

import numpy as np
import pytest
import torch

from ganbench.cli import main
from ganbench.data.synthetic import GaussianMixture, ring_centres
from ganbench.metrics.samples import SampleFileError, load_samples


@pytest.fixture
def ring_files(tmp_path):
    g = torch.Generator().manual_seed(0)
    real = GaussianMixture(ring_centres(8, 2.0), 0.02).sample(600, g).numpy()
    fake = GaussianMixture(ring_centres(8, 2.0)[::2], 0.02).sample(600, g).numpy()
    np.save(tmp_path / "real.npy", real)
    np.savez(tmp_path / "fake.npz", fake=fake, z=np.zeros((600, 4), np.float32))
    return tmp_path / "real.npy", tmp_path / "fake.npz"


def run(capsys, *args):
    code = main(["evaluate", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_output_with_mode_metrics(ring_files, capsys, tmp_path):
    real, fake = ring_files
    code, out, _ = run(capsys, "--real", real, "--fake", fake, "--dataset", "ring", "--json",
                       "--metric", "modes", "wasserstein", "jsd_classifier", "fid",
                       "--cache-dir", tmp_path / "cache")
    assert code == 0
    values = json.loads(out)
    assert values["modes"] == 4
    assert values["jsd_classifier_ci_low"] <= values["jsd_classifier"] <= values["jsd_classifier_ci_high"]
    assert 0.1 < values["jsd_classifier"] < 0.3  # truth 3/4 log(4/3) = 0.216
    assert values["wasserstein"] > 0 and values["fid"] > 0


def test_default_metrics_and_text_output(ring_files, capsys):
    real, fake = ring_files
    code, out, _ = run(capsys, "--real", real, "--fake", fake, "--dataset", "ring")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    for m in ("modes", "hq_fraction", "mode_kl", "jsd_classifier", "wasserstein", "fid"):
        assert m in names
    assert "[" in next(line for line in out.splitlines() if line.startswith("jsd_classifier "))
    # without a dataset, the mode metrics are not defaults
    code, out, _ = run(capsys, "--real", real, "--fake", fake, "--json")
    assert code == 0 and "modes" not in json.loads(out) and "fid" in json.loads(out)


@pytest.mark.parametrize("make, words", [
    (lambda d: np.save(d / "bad.npy", np.zeros((10, 3), np.float32)), ["bad.npy", "(3,)", "(2,)"]),
    (lambda d: np.save(d / "bad.npy", np.zeros((0, 2), np.float32)), ["bad.npy", "no samples"]),
    (lambda d: np.save(d / "bad.npy", np.array([[0.0, np.nan]] * 5)), ["bad.npy", "5 NaN"]),
    (lambda d: np.save(d / "bad.npy", np.zeros((4, 2, 2), np.float32)), ["bad.npy", "[N, D]"]),
    (lambda d: (d / "bad.npy").write_text("not numpy"), ["bad.npy", "not a readable"]),
    (lambda d: None, ["bad.npy", "no such file"]),
])
def test_bad_fake_files_exit_2_naming_the_file(ring_files, capsys, tmp_path, make, words):
    real, _ = ring_files
    make(tmp_path)
    code, out, err = run(capsys, "--real", real, "--fake", tmp_path / "bad.npy", "--metric", "fid")
    assert code == 2 and out == ""
    for w in words:
        assert w in err, err


def test_usage_errors_exit_2(ring_files, capsys):
    real, fake = ring_files
    code, _, err = run(capsys, "--real", real, "--fake", fake, "--metric", "wasserstien")
    assert code == 2 and "did you mean 'wasserstein'" in err
    code, _, err = run(capsys, "--real", real, "--fake", fake, "--metric", "modes")
    assert code == 2 and "mode centres" in err and "--dataset" in err
    code, _, err = run(capsys, "--real", real, "--fake", fake, "--dataset", "grid_of_things")
    assert code == 2 and "unknown dataset" in err


def test_npz_selection(tmp_path):
    a = np.ones((3, 2), np.float32)
    np.savez(tmp_path / "two.npz", first=a, second=2 * a)
    with pytest.raises(SampleFileError, match="first, second"):
        load_samples(tmp_path / "two.npz")
    assert load_samples(f"{tmp_path / 'two.npz'}:second").max() == 2
    with pytest.raises(SampleFileError, match="no array 'third'"):
        load_samples(f"{tmp_path / 'two.npz'}:third")


def test_image_folder_is_scaled_to_minus_one_one(tmp_path):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, v in enumerate((0, 255, 51)):
        Image.fromarray(np.full((6, 5), v, np.uint8)).save(folder / f"{i}.png")
    x = load_samples(folder)
    assert x.shape == (3, 1, 6, 5)
    assert x[0].max() == -1 and x[1].min() == 1 and x[2].mean() == pytest.approx(51 / 127.5 - 1)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / "3.png")
    with pytest.raises(SampleFileError, match="3.png"):
        load_samples(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SampleFileError, match="no PNG or JPG"):
        load_samples(empty)


def test_image_folders_with_default_metrics(tmp_path, capsys, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights here
    monkeypatch.delenv("GANBENCH_INCEPTION_WEIGHTS", raising=False)
    rng = np.random.default_rng(0)
    for name, lo in (("real", 0), ("fake", 100)):
        (tmp_path / name).mkdir()
        for i in range(120):
            Image.fromarray(rng.integers(lo, lo + 150, (8, 8), dtype=np.uint8)).save(
                tmp_path / name / f"{i:03d}.png")
    code, out, err = run(capsys, "--real", tmp_path / "real", "--fake", tmp_path / "fake", "--json")
    assert code == 0
    values = json.loads(out)
    assert values["jsd_classifier"] > 0.3 and values["wasserstein"] > 0
    # FID would need Inception-v3 weights: a default metric that cannot run is skipped
    assert "fid" not in values and "skipped fid" in err and "weights-inception" in err
