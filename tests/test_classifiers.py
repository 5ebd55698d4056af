"""Fresh classifiers: building blocks, fitting, and the cached dataset classifier."""

import pytest
import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.data.synthetic import GaussianMixture
from ganbench.metrics import classifiers as C


def test_standardize_per_coordinate_and_per_channel():
    x = torch.randn(500, 3) * torch.tensor([1.0, 10.0, 0.0]) + torch.tensor([5.0, -2.0, 7.0])
    z = C.Standardize.fit(x)(x)
    assert torch.allclose(z[:, :2].mean(0), torch.zeros(2), atol=1e-4)
    assert torch.allclose(z[:, :2].std(0), torch.ones(2), atol=1e-3)
    assert torch.isfinite(z).all()  # a constant coordinate is left unscaled, not divided by 0
    img = torch.randn(50, 2, 4, 4) * torch.tensor([3.0, 0.5]).view(1, 2, 1, 1)
    zi = C.Standardize.fit(img)(img)
    assert torch.allclose(zi.transpose(0, 1).reshape(2, -1).std(1), torch.ones(2), atol=1e-3)


def test_networks_are_functions_of_their_seed():
    x = torch.randn(64, 2)
    a = C.mlp(x, 3, torch.Generator().manual_seed(0), fourier=(1.0, 8.0))
    torch.manual_seed(123)  # the global RNG plays no part
    b = C.mlp(x, 3, torch.Generator().manual_seed(0), fourier=(1.0, 8.0))
    c = C.mlp(x, 3, torch.Generator().manual_seed(1), fourier=(1.0, 8.0))
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    assert a(x).shape == (64, 3) and a.features(x).shape == (64, a.feature_dim)
    for size in (4, 8, 28, 32):
        imgs = torch.randn(5, 3, size, size)
        net = C.cnn(imgs, 10, torch.Generator().manual_seed(0))
        assert net(imgs).shape == (5, 10)


def test_fit_early_stops_and_keeps_the_best_weights():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 2, generator=g)
    y = (x[:, 0] + 0.3 * torch.randn(2000, generator=g) > 0).float()
    net = C.mlp(x[:1500], 1, g)
    res = C.fit(net, (x[:1500], y[:1500]), (x[1500:], y[1500:]), g, max_steps=5000, patience=100)
    assert res.steps < 5000 and res.best_step <= res.steps
    val = float(C.per_sample_loss(C.predict(net, x[1500:]), y[1500:]).mean())
    assert val == pytest.approx(res.best_val, abs=1e-5)
    assert ((C.predict(net, x[1500:]) > 0).float() == y[1500:]).float().mean() > 0.85


def test_dataset_classifier_on_a_mixture_is_cached(tmp_path):
    ds = GaussianMixture(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]), 0.2)
    net = C.dataset_classifier(ds, cache_dir=tmp_path)
    assert net.test_accuracy > 0.99
    files = list((tmp_path / "classifiers").glob("*.pt"))
    assert len(files) == 1
    C._MEMO.clear()  # a new process: the classifier comes back from disk
    again = C.dataset_classifier(ds, cache_dir=tmp_path)
    x = ds.sample(100, torch.Generator().manual_seed(5))
    assert torch.equal(net(x), again(x)) and again.test_accuracy == net.test_accuracy
    # other data, other classifier
    other = GaussianMixture(ds.centres * 2, 0.2)
    C.dataset_classifier(other, cache_dir=tmp_path)
    assert len(list((tmp_path / "classifiers").glob("*.pt"))) == 2


@pytest.mark.slow
def test_digit_classifier_is_accurate(tmp_path):
    # the stacked-digit mode counting reads digits with it: it must be reliable
    net = C.dataset_classifier(DATASETS.create("digits"), cache_dir=tmp_path)
    assert net.test_accuracy >= 0.97
    x, y = DATASETS.create("digits").labeled("test")
    assert (net(x).argmax(-1) == y).double().mean() == pytest.approx(net.test_accuracy)


def _member(seed, shift, n=1200):
    """Two classes along x0, ``shift`` apart (0: nothing to learn, large: separable)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (torch.arange(n) % 2).float()
    x[:, 0] += shift * y
    return (x[:800], y[:800]), (x[800:], y[800:])


def test_ensemble_fitter_members_equal_their_own_fitters():
    # one member with nothing to learn (stops on patience), one separable (stops on
    # good_enough), two in between: members stop at different steps, and each one's fit is
    # the fit its own Fitter makes (same draws, same arithmetic), whatever the others do
    shifts = [0.0, 12.0, 1.0, 2.0]
    data = [_member(s, sh) for s, sh in enumerate(shifts)]
    kw = dict(batch_size=256, patience=60, good_enough=1e-3, lr=3e-3)

    def net(i):
        g = torch.Generator().manual_seed(100 + i)
        return C.mlp(data[i][0][0], 1, g, width=16, fourier=(1.0, 4.0), fourier_features=4), g

    alone = []
    for i in range(len(data)):
        n, g = net(i)
        alone.append((C.Fitter(n, *data[i], g, **kw).run(400).finish(), n))
    built = [net(i) for i in range(len(data))]
    ens = C.EnsembleFitter([b[0] for b in built], [d[0] for d in data], [d[1] for d in data],
                           [b[1] for b in built], **kw)
    results = ens.run(400).finish()
    steps = [r.steps for r in results]
    assert len(set(steps)) >= 3 and max(steps) == 400  # stopped at different steps
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(9))
    for (want, n_alone), got, (n_ens, _) in zip(alone, results, built):
        assert (got.steps, got.best_step) == (want.steps, want.best_step)
        assert got.best_val == pytest.approx(want.best_val, abs=1e-5)
        # the kept (best) weights are loaded, as Fitter.finish does
        assert torch.allclose(n_ens(x), n_alone(x), atol=1e-4)


def test_ensemble_fitter_stopped_members_freeze():
    data = [_member(0, 0.0), _member(1, 1.5)]
    built = [C.mlp(d[0][0], 1, torch.Generator().manual_seed(i), width=8) for i, d in
             enumerate(data)]
    ens = C.EnsembleFitter(built, [d[0] for d in data], [d[1] for d in data],
                           [torch.Generator().manual_seed(i) for i in range(2)], batch_size=128,
                           patience=1000)
    ens.run(50)
    ens.stop([0])
    frozen, trained = ens.best_flat[0].clone(), ens.flat[0].clone()  # after stop: member 1
    assert ens.active == [1]
    ens.run(150)
    assert ens.steps == [50, 150]
    assert torch.equal(ens.best_flat[0], frozen)  # no update after it stopped
    assert not torch.equal(ens.flat[0], trained)  # while member 1 trained on


def test_ensemble_fitter_rejects_mixed_members():
    (x, y), val = _member(0, 1.0)
    nets = [C.mlp(x, 1, torch.Generator().manual_seed(0), width=8),
            C.mlp(x, 1, torch.Generator().manual_seed(0), width=16)]
    gens = [torch.Generator(), torch.Generator()]
    with pytest.raises(ValueError, match="architecture"):
        C.EnsembleFitter(nets, [(x, y)] * 2, [val] * 2, gens)
    with pytest.raises(ValueError, match="shape"):
        C.EnsembleFitter(nets[:1] * 2, [(x, y), (x[:10], y[:10])], [val] * 2, gens)
