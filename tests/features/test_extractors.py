"""Feature extractors as a plug-in kind: a tiny extractor defined here, whose weights this
test writes where the extractor expects them, drives FID and density/coverage through the
real loading path (offline); absent weights and unknown names are clear errors."""

import numpy as np
import pytest
import scipy.linalg
import torch
import yaml
from torch import nn

from ganbench.cli import main
from ganbench.features import REGISTRY, WEIGHTS_ENV, FeatureExtractor, weights_path
from ganbench.features.base import batched
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics import EvalContext, MetricError
from ganbench.metrics.density_coverage import density_coverage

FILE = "tiny_test_extractor.pt"


def tiny_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


class Tiny(FeatureExtractor):
    input_size, dim, accepts = 8, 3, "image"
    resize, normalisation = "none (8 x 8)", "none ([-1, 1])"
    weights = f"$GANBENCH_WEIGHTS/{FILE} (a state dict the test writes)"

    def check_weights(self):
        weights_path(FILE, "written by the test")

    def extract(self, x, ctx):
        net = tiny_net()
        net.load_state_dict(torch.load(weights_path(FILE, "written by the test"),
                                       weights_only=True))
        return batched(net, x.float(), torch.device("cpu"))


@pytest.fixture
def tiny():
    REGISTRY.register("tiny_test", description="test extractor", reference="-")(Tiny)
    yield
    del REGISTRY._entries["tiny_test"]  # registered for this test only


@pytest.fixture
def weights(tmp_path, monkeypatch):
    torch.manual_seed(0)
    net = tiny_net()
    torch.save(net.state_dict(), tmp_path / FILE)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    return net


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_every_shipped_extractor_declares_its_input_preprocessing_and_weights():
    assert {"raw", "classifier", "inception", "dinov2_vitl14", "clip_vitb32"} <= set(
        REGISTRY.names())
    for name in ("inception", "dinov2_vitl14", "clip_vitb32"):
        ext = REGISTRY.create(name)
        pre = ext.preprocessing()
        assert pre["input_size"] and pre["dim"] and pre["resize"] != "none", name
        assert "GANBENCH_WEIGHTS" in ext.weights or "INCEPTION" in ext.weights, name


def test_a_plugin_extractor_drives_fid_and_density_from_its_weights_file(tiny, weights):
    gen = torch.Generator().manual_seed(1)
    real = torch.rand(200, 1, 8, 8, generator=gen) * 2 - 1
    fake = (torch.rand(200, 1, 8, 8, generator=gen) * 2 - 1) * 0.5
    ctx = EvalContext(real=real)
    with torch.no_grad():
        f_real, f_fake = weights(real).double(), weights(fake).double()
    fid = METRICS.create("fid", features="tiny_test")(fake, ctx)["fid"]
    assert fid == pytest.approx(frechet(f_fake.numpy(), f_real.numpy()), rel=1e-4)
    assert fid > 0
    dens = METRICS.create("density", features="tiny_test")(fake, ctx)["density"]
    assert dens == pytest.approx(density_coverage(f_real, f_fake)["density"])


def test_absent_weights_name_the_file_expected(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    why = METRICS.create("fid", features="tiny_test").applies(None)
    assert why and str(tmp_path / FILE) in why and "nothing is downloaded" in why
    with pytest.raises(MetricError, match=FILE):
        Tiny().extract(torch.zeros(2, 1, 8, 8), EvalContext(real=torch.zeros(2, 1, 8, 8)))
    for name, expected in (("dinov2_vitl14", "dinov2_vitl14_pretrain.pth"),
                           ("clip_vitb32", "ViT-B-32.pt")):
        why = METRICS.create("fid", features=name).applies(None)
        assert why and expected in why and str(tmp_path) in why, why
    monkeypatch.delenv(WEIGHTS_ENV)
    assert WEIGHTS_ENV in METRICS.create("coverage", features="dinov2_vitl14").applies(None)


def _suite(tmp_path, metric) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"base": {
        "dataset": "digits", "model": {"name": "dcgan", "latent_dim": 4, "width": 4},
        "training": {"iterations": 2, "batch_size": 16},
        "evaluation": {"every": 2, "samples": 50, "metrics": [metric]}}}))
    return str(path)


def test_a_suite_without_the_weights_or_with_an_unknown_extractor_exits_2(
        tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    results = tmp_path / "results"
    for metric, words in (({"name": "fid", "features": "tiny_test"}, FILE),
                          ({"name": "density", "features": "dinov2"},
                           "did you mean 'dinov2_vitl14'"),
                          ({"name": "kid", "features": "clip"}, "clip_vitb32")):
        code = main(["run", _suite(tmp_path, metric), "--results", str(results),
                     "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "evaluation.metrics[0]" in err, err
        assert not results.exists()


def test_a_suites_weights_key_names_the_folder_and_the_environment_wins(
        tiny, tmp_path, monkeypatch, capsys):
    """`weights:` (relative to the suite file) is where the extractors read their files;
    $GANBENCH_WEIGHTS, where set, names this machine's copy and wins; a folder that does
    not exist is refused at its key, exit 2, nothing written."""
    import yaml
    folder = tmp_path / "suites"
    (folder / "w").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(tiny_net().state_dict(), folder / "w" / FILE)
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    raw = yaml.safe_load(open(_suite(tmp_path, {"name": "fid", "features": "tiny_test"})))
    suite = folder / "s.yaml"
    results = tmp_path / "results"
    for given, code in (("missing", 2), ("w", 0)):
        monkeypatch.delenv(WEIGHTS_ENV, raising=False)
        suite.write_text(yaml.safe_dump({**raw, "weights": given}))
        assert main(["run", str(suite), "--results", str(results), "--no-progress"]) == code
        err = capsys.readouterr().err
        if code == 2:
            assert "weights" in err and "missing" in err and not results.exists(), err
    summary = next(results.glob("s/*/summary.json")).read_text()
    assert '"fid"' in summary and "tiny_test" in summary
    # the environment's folder wins: one without the file is refused, naming that file
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    monkeypatch.setenv(WEIGHTS_ENV, str(empty))
    assert main(["run", str(suite), "--results", str(tmp_path / "r2"), "--no-progress"]) == 2
    assert str(empty / FILE) in capsys.readouterr().err
