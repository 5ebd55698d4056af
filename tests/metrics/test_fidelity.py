"""FID / KID / precision-recall through torch-fidelity, with ganbench feature extractors."""

import numpy as np
import pytest
import scipy.linalg
import torch

from ganbench.data.synthetic import GaussianMixture, ring_centres
from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics import fidelity as fid_mod
from ganbench.metrics.features import INCEPTION_ENV, INCEPTION_FILE


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    # never read or write the user's cache or torch hub from tests
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)


def gaussian(n, mean, cov, seed):
    g = np.random.default_rng(seed)
    return torch.from_numpy(g.multivariate_normal(mean, cov, size=n)).float()


def frechet(x, y):
    """Closed-form Frechet distance of the Gaussians with the samples' moments."""
    x, y = x.double().numpy(), y.double().numpy()
    m1, m2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_raw_is_the_frechet_distance_of_sample_moments():
    real = gaussian(2000, [0, 0, 0], [[1, 0.3, 0], [0.3, 1, 0], [0, 0, 0.5]], 0)
    fake = gaussian(1500, [0.5, -0.2, 0.1], [[2, 0, 0.2], [0, 0.7, 0], [0.2, 0, 1]], 1)
    out = REGISTRY.create("fid")(fake, EvalContext(real=real))
    assert out["fid"] == pytest.approx(frechet(real, fake), rel=1e-4)


def test_kid_raw_equals_the_unbiased_polynomial_mmd_on_all_samples():
    # 500 samples: one subset is all of them (a permutation), so KID is deterministic
    real = gaussian(500, [0, 0], np.eye(2), 0).double()
    fake = gaussian(500, [0.7, 0], np.eye(2) * 1.5, 1).double()
    out = REGISTRY.create("kid", subsets=1)(fake.float(), EvalContext(real=real.float()))
    k = lambda a, b: (a @ b.T / 2 + 1) ** 3  # noqa: E731  (degree 3, gamma 1/d, coef 1)
    kxx, kyy, kxy = k(fake, fake), k(real, real), k(fake, real)
    n = 500
    want = ((kxx.sum() - kxx.trace()) + (kyy.sum() - kyy.trace())) / (n * (n - 1)) - 2 * kxy.mean()
    assert out["kid"] == pytest.approx(float(want), rel=1e-3)
    same = REGISTRY.create("kid")(gaussian(500, [0, 0], np.eye(2), 2), EvalContext(real=real.float()))
    assert abs(same["kid"]) < 0.1 * out["kid"]


def test_precision_and_recall_see_dropped_modes():
    g = torch.Generator().manual_seed(0)
    ring = GaussianMixture(ring_centres(8, 2.0), 0.02)
    half = GaussianMixture(ring_centres(8, 2.0)[::2], 0.02)
    ctx = EvalContext(real=ring.sample(2000, g), dataset=ring)
    fake = half.sample(2000, g)
    p = REGISTRY.create("precision")(fake, ctx)["precision"]
    r = REGISTRY.create("recall")(fake, ctx)["recall"]
    assert p > 0.95
    assert 0.4 < r < 0.6


# three well separated classes: the dataset classifier trains in a few hundred steps
THREE = GaussianMixture(torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]), 0.3)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")  # the classifier of THREE is trained once


def test_classifier_features_and_real_feature_cache(shared_cache):
    g = torch.Generator().manual_seed(0)
    ds = THREE
    real = ds.sample(1000, g)
    ctx = EvalContext(real=real, dataset=ds, cache_dir=shared_cache)
    fid = REGISTRY.create("fid", features="classifier")
    same = fid(ds.sample(1000, g), ctx)["fid"]
    dropped = fid(GaussianMixture(ds.centres[:2], 0.3).sample(1000, g), ctx)["fid"]
    assert dropped > 10 * same
    cached = sorted(p.name for p in (shared_cache / "fidelity").iterdir())
    assert cached and all(n.startswith("ganbench-real-") for n in cached)
    # a second evaluation on the same real samples reads the real statistics back
    assert fid(ds.sample(1000, g), ctx)["fid"] < dropped


def test_missing_inception_weights_name_the_file(tmp_path, monkeypatch):
    ds = type("Img", (), {"kind": "image", "num_classes": 10, "shape": (1, 8, 8)})()
    fid = REGISTRY.create("fid")
    why = fid.applies(ds)
    assert why is not None and INCEPTION_FILE in why and INCEPTION_ENV in why
    x = torch.zeros(4, 1, 8, 8)
    with pytest.raises(MetricError, match=INCEPTION_FILE):
        fid(x, EvalContext(real=x, dataset=ds))
    monkeypatch.setenv(INCEPTION_ENV, str(tmp_path / "nowhere.pth"))
    with pytest.raises(MetricError, match="nowhere.pth"):
        fid(x, EvalContext(real=x))


def test_inception_features_from_a_local_weights_file(tmp_path):
    # random weights in the right format: the plumbing (uint8 RGB, weights path, no
    # download) is what is tested here, not the numbers
    from unittest import mock

    from torch_fidelity import FeatureExtractorInceptionV3

    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"), \
            mock.patch("torch.load", return_value={}):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                          feature_extractor_weights_path="unused")
    weights = tmp_path / INCEPTION_FILE
    torch.save(net.state_dict(), weights)
    g = torch.Generator().manual_seed(0)
    real = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
    fake = torch.rand(4, 1, 8, 8, generator=g) * 2 - 1
    # KID rather than FID: FID's 2048 x 2048 matrix square root alone takes seconds
    out = REGISTRY.create("kid", inception_weights=str(weights), subsets=2)(
        fake, EvalContext(real=real, cache_dir=tmp_path / "cache"))
    assert np.isfinite(out["kid"])
    assert any((tmp_path / "cache" / "fidelity").glob("ganbench-real-*"))


def test_fake_features_are_shared_between_metrics_of_one_sample_set(shared_cache, monkeypatch):
    from ganbench.metrics.classifiers import dataset_classifier

    g = torch.Generator().manual_seed(1)
    ctx = EvalContext(real=THREE.sample(300, g), dataset=THREE, cache_dir=shared_cache)
    fake = THREE.sample(300, g)
    REGISTRY.create("fid", features="classifier")(fake, ctx)
    assert any(p.name.startswith("ganbench-fake-") for p in fid_mod._fake_cache().iterdir())
    net = dataset_classifier(THREE, cache_dir=shared_cache)
    calls = []
    monkeypatch.setattr(net, "features", lambda x: calls.append(len(x)) or type(net).features(net, x))
    REGISTRY.create("kid", features="classifier", subsets=2)(fake, ctx)
    assert calls == []  # both sample sets' features came from the cache
    REGISTRY.create("kid", features="classifier", subsets=2)(THREE.sample(300, g), ctx)
    assert calls == [300]  # new generated samples: only they are extracted


def test_a_group_trains_the_classifier_once_and_extracts_in_one_pass(tmp_path, monkeypatch):
    from ganbench.metrics import classifiers

    # a dataset no other test uses, so its classifier is not in this process's memo
    ds = GaussianMixture(torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]), 0.4)
    fits = []
    real_fit = classifiers.fit
    monkeypatch.setattr(classifiers, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    g = torch.Generator().manual_seed(3)
    real = ds.sample(400, g)
    fakes = [ds.sample(300, g), GaussianMixture(ds.centres[:2], 0.4).sample(300, g),
             GaussianMixture(ds.centres[:1], 0.4).sample(300, g)]
    # members 0 and 1 share their real samples, member 2 has its own
    ctxs = [EvalContext(real=r, dataset=ds, cache_dir=tmp_path, seed=s)
            for r, s in ((real, 0), (real, 1), (ds.sample(400, g), 2))]
    net = classifiers.dataset_classifier(ds, cache_dir=tmp_path)
    assert fits == [1]
    calls = []
    monkeypatch.setattr(net, "features", lambda x: calls.append(len(x)) or
                        type(net).features(net, x))
    metrics = {name: REGISTRY.create(name, features="classifier", **kw) for name, kw in
               (("fid", {}), ("kid", {"subsets": 5}), ("precision", {}), ("recall", {}))}
    many = {name: m.evaluate_many(fakes, ctxs) for name, m in metrics.items()}
    # one pass over every distinct sample set (3 fake, 2 real), shared by all four metrics
    assert calls == [3 * 300 + 2 * 400] and fits == [1]
    assert many["fid"][2]["fid"] > many["fid"][1]["fid"] > many["fid"][0]["fid"]
    assert many["recall"][0]["recall"] > many["recall"][2]["recall"]
    # each member's numbers are those of its own call (torch-fidelity's extractor path)
    fid_mod._last_prc.clear()
    for name, m in metrics.items():
        for f, c, got in zip(fakes, ctxs, many[name]):
            want = m(f, c)
            assert got.keys() == want.keys()
            for k in want:
                assert got[k] == pytest.approx(want[k], rel=1e-5, abs=1e-9), (name, k)
    assert fits == [1]


def test_evaluate_many_with_raw_features_is_the_per_member_loop():
    reals = [gaussian(300, [0, 0], np.eye(2), s) for s in range(2)]
    fakes = [gaussian(300, [m, 0], np.eye(2), 10 + s) for s, m in enumerate((0.0, 1.0))]
    ctxs = [EvalContext(real=r, seed=s) for s, r in enumerate(reals)]
    fid = REGISTRY.create("fid")
    assert fid.evaluate_many(fakes, ctxs) == [fid(f, c) for f, c in zip(fakes, ctxs)]
