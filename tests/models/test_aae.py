"""The adversarial autoencoder: its latent game pulls the aggregate posterior to the prior,
any objective and scheme drives it, members equal their runs alone, and it resumes."""

import copy

import numpy as np
import pytest
import torch

from ganbench.execute import plan
from ganbench.results import RunDir
from ganbench.suite import parse_suite
from ganbench.train import build, train_group

CPU = torch.device("cpu")


def aae_suite(seeds=(0,), iterations=40, objectives=("nonsaturating",), **model):
    return {
        "base": {"dataset": {"name": "ring", "modes": 1, "radius": 3.0, "std": 1.0},
                 "model": {"name": "aae", "latent_dim": 2, "width": 32, "depth": 2,
                           "critic_width": 32, "critic_depth": 2, **model},
                 "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
                 "training": {"iterations": iterations, "batch_size": 128},
                 "evaluation": {"every": iterations // 2, "samples": 500,
                                "metrics": ["hq_fraction"]}},
        "grid": {"objective": list(objectives), "seed": list(seeds)},
    }


def codes(game, n=4000):
    """The encoder's codes of fresh data (the aggregate posterior), member 0."""
    g = torch.Generator().manual_seed(123)
    x = game.dataset.sample(n, g).unsqueeze(0).expand(game.members, -1, -1)
    with torch.no_grad():
        return game.generate(x)[0]


def test_the_aggregate_posterior_moves_to_the_prior():
    (r,) = parse_suite(aae_suite()).runs
    b = build([r], CPU)
    game = b.game
    before = codes(game)
    # the untrained encoder's codes are far from N(0, I): narrow
    assert ((before.var(0) - 1).abs() > 0.5).all()
    for _ in range(600):
        game.train_step(b.scheme)
    after = codes(game)
    assert after.mean(0).abs().max() < 0.2, after.mean(0)
    np.testing.assert_allclose(after.var(0).numpy(), [1.0, 1.0], rtol=0.3)
    # ... and a real autoencoder: reconstructions track the data
    x = game.dataset.sample(1000, torch.Generator().manual_seed(5)).unsqueeze(0)
    with torch.no_grad():
        err = (game.sample(game.generate(x)) - x).square().sum(-1).mean()
    assert err < 0.1 * x.var(1).sum()


def samples(root, r):
    return np.load(RunDir(root, r.suite, r.run_id).path / "samples.npz")["fake"]


def test_members_of_a_mixed_aae_ensemble_equal_their_runs_alone_and_resume(tmp_path):
    """Seeds and objectives share one ensemble (the latent critic keeps no state)."""
    runs = parse_suite(aae_suite(seeds=(0, 1), objectives=("nonsaturating", "lsgan"))).runs
    assert len(plan(runs, tmp_path / "plan").todo) == 1
    train_group(runs, tmp_path / "group", CPU)
    for r in runs:
        train_group([r], tmp_path / "alone", CPU)
        np.testing.assert_allclose(samples(tmp_path / "group", r), samples(tmp_path / "alone", r),
                                   rtol=1e-4, atol=1e-5)
    assert not np.allclose(samples(tmp_path / "group", runs[0]),
                           samples(tmp_path / "group", runs[1]))
    part = tmp_path / "part"
    train_group(runs, part, CPU, keep_checkpoint=True, checkpoint_every_s=0)
    for r in runs:
        rd = RunDir(part, r.suite, r.run_id)
        rd.summary_path.unlink()
        (rd.path / "samples.npz").unlink()
    out = train_group(runs, part, CPU)
    assert all(s["resumed_from"] == 20 for s in out)
    for r in runs:
        np.testing.assert_array_equal(samples(tmp_path / "group", r), samples(part, r))


@pytest.mark.parametrize("scheme", ["simultaneous", "optimistic", "extragradient",
                                    {"name": "unrolled", "k": 2},
                                    {"name": "alternating", "d_steps": 2}])
def test_every_scheme_plays_the_latent_game(scheme):
    d = aae_suite()
    d["base"]["scheme"] = scheme
    d["base"]["regularizer"] = {"name": "gp", "weight": 1.0}
    (r,) = parse_suite(d).runs
    b = build([r], CPU)
    enc = [p.detach().clone() for p in b.game.G.encoder.parameters()]
    crit = [p.detach().clone() for p in b.game.D.parameters()]
    losses = b.game.train_step(b.scheme)
    assert all(torch.isfinite(v).all() for v in losses.values())
    moved = lambda before, now: any(not torch.equal(a, p) for a, p in zip(before, now))  # noqa: E731
    assert moved(enc, b.game.G.encoder.parameters()) and moved(crit, b.game.D.parameters())


def image_suite(name, **model):
    return {
        "base": {"dataset": "stacked_digits", "model": {"name": name, **model},
                 "objective": "none" if name.startswith("vae") else "nonsaturating",
                 # SGD: Adam would blow up float noise in the ~0 gradients of the biases
                 # before batch norm into whole steps
                 "optimizer": {"name": "sgd", "lr_g": 0.01, "lr_d": 0.01},
                 "training": {"iterations": 3, "batch_size": 8},
                 "evaluation": {"every": 3, "samples": 16, "metrics": ["stacked_modes"]}},
        "grid": {"seed": [0, 1]},
    }


@pytest.mark.parametrize("name,model", [
    ("aae_dcgan", {"latent_dim": 4, "width": 4, "critic_width": 8, "critic_depth": 1}),
    ("vae_dcgan", {"latent_dim": 4, "width": 4}),
])
def test_a_member_of_a_dcgan_shaped_ensemble_trains_as_it_does_alone(name, model):
    runs = parse_suite(image_suite(name, **model)).runs
    group = build(runs, CPU)
    alone = [build([r], CPU) for r in runs]
    for _ in range(3):
        group.game.train_step(group.scheme)
        for b in alone:
            b.game.train_step(b.scheme)
    for e, b in enumerate(alone):
        for (k, p), q in zip(group.game.G.named_parameters(), b.game.G.parameters()):
            torch.testing.assert_close(p[e:e + 1], q, rtol=1e-4, atol=1e-5, msg=k)
        z = torch.randn(1, 5, b.game.latent_dim)
        with torch.no_grad():
            x = b.game.sample(z)
        assert x.shape == (1, 5, 3, 8, 8) and x.abs().max() <= 1


def test_an_aae_refuses_no_objective_and_critic_metrics():
    from ganbench.suite import SuiteError

    for over in ({"objective": "none"}, {"evaluation": {"metrics": ["critic_gap"]}}):
        d = aae_suite()
        d["grid"].pop("objective") if "objective" in over else None
        d["base"] = {**copy.deepcopy(d["base"]), **over}
        with pytest.raises(SuiteError, match="model 'aae'|has none"):
            parse_suite(d)
