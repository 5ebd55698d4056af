"""Several regularizers per run (R3GAN's R1 + R2), lazy regularization (``every: k``) and
the r3gan preset: the suite forms, the loss each term adds, the history, a member equal to
its run alone, and the Dirac-GAN's convergence under R1 + R2."""

import math

import numpy as np
import pytest
import torch

from ganbench.objectives.regularizers import R1, R2
from ganbench.results import RunDir
from ganbench.suite import label, parse_suite, run_id
from ganbench.train import build, train_group

CPU = torch.device("cpu")
TINY = {"model": {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1},
        "training": {"iterations": 6, "batch_size": 16},
        "evaluation": {"every": 3, "samples": 64, "metrics": ["hq_fraction"]}}


def run_of(**over):
    (spec,) = parse_suite({"name": "t", "base": {**TINY, **over}}).runs
    return spec


def test_a_single_mapping_keeps_its_id_and_a_one_term_list_is_the_same_run():
    single = run_of(regularizer={"name": "r1", "weight": 1.0})
    # the resolved form run ids have always hashed: lazy regularization's default is left out
    assert single.config["regularizer"] == {"name": "r1", "params": {"weight": 1.0}}
    assert run_of(regularizer=[{"name": "r1", "weight": 1.0}]).run_id == single.run_id
    assert run_of(regularizer={"name": "r1", "weight": 1.0, "every": 1}).run_id == single.run_id
    lazy = run_of(regularizer={"name": "r1", "weight": 1.0, "every": 4})
    assert lazy.config["regularizer"]["params"] == {"weight": 1.0, "every": 4}
    assert lazy.run_id != single.run_id
    both = run_of(regularizer=[{"name": "r1", "weight": 5}, {"name": "r2", "weight": 5}])
    assert [r.name for r in both.regularizers()] == ["r1", "r2"]
    assert label(both.config["regularizer"]) == "r1(weight=5.0)+r2(weight=5.0)"
    assert run_id(both.config) == both.run_id
    with pytest.raises(ValueError, match="regularizers()"):
        both.plugin("regularizer")


def test_the_r3gan_preset_is_rsgan_with_r1_and_r2_at_one_gamma():
    r = run_of(objective="r3gan")
    assert r.config["objective"]["name"] == "r3gan"
    assert r.config["regularizer"] == [{"name": "r1", "params": {"weight": 1.0}},
                                       {"name": "r2", "params": {"weight": 1.0}}]
    assert run_of(objective="r3gan", regularizer="none").config["regularizer"] is None


def test_each_term_adds_its_weighted_penalty_and_is_in_the_history(tmp_path):
    spec = run_of(objective="rsgan", regularizer=[{"name": "r1", "weight": 2.0},
                                                  {"name": "r2", "weight": 3.0}])
    game = build([spec], CPU).game
    real, fake = game.real(), game.generate(game.noise()).detach()
    critic = lambda x: game.D(x)  # noqa: E731  (one member: the ensemble's critic)
    rand = game.reg_rng.rand
    obj = game.objectives[0].plugin
    want = (obj.d_loss(game.D(real), game.D(fake)) + 2 * R1().penalty(critic, real, fake, rand)
            + 3 * R2().penalty(critic, real, fake, rand))
    assert torch.allclose(game.d_loss(real, fake), want, atol=1e-6)
    assert set(game.penalties) == {"r1", "r2"}
    train_group([spec], tmp_path, CPU)
    rows = RunDir(tmp_path, spec.suite, spec.run_id).read_metrics()
    assert all(r["penalty_r1"] >= 0 and r["penalty_r2"] >= 0 for r in rows)
    assert rows[0]["penalty_r1"] != rows[0]["penalty_r2"]  # real and fake points differ


def test_lazy_regularization_applies_k_times_the_weight_on_every_kth_update():
    k = 3
    lazy = build([run_of(regularizer={"name": "r1", "weight": 2.0, "every": k})], CPU).game
    plain = build([run_of(regularizer="none")], CPU).game
    eager = build([run_of(regularizer={"name": "r1", "weight": 2.0})], CPU).game
    real, fake = lazy.real(), lazy.generate(lazy.noise()).detach()
    base = plain.d_loss(real, fake)  # same seed: the same networks
    extra = []
    for step in range(2 * k):
        lazy.d_updates = step
        extra.append((lazy.d_loss(real, fake) - base).detach())
    on = [float(e) for e in extra[::k]]
    assert all(abs(float(e)) < 1e-7 for i, e in enumerate(extra) if i % k)
    # applied: k x the eager term, so its mean over k updates is the eager term
    assert on == pytest.approx([k * float((eager.d_loss(real, fake) - base).detach())] * 2,
                               rel=1e-5)


def test_lazy_regularization_resumes_in_phase(tmp_path):
    over = dict(regularizer={"name": "r1", "weight": 1.0, "every": 4},
                training={"iterations": 10, "batch_size": 16})
    spec = run_of(**over)
    whole = train_group([spec], tmp_path / "whole", CPU)
    from ganbench.train.checkpoints import checkpoint
    from ganbench.train.loop import finish, train
    from ganbench.train.session import setup

    session = setup([spec], tmp_path / "cut", CPU)

    def stop(step):
        if step == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train(session, stop)
    checkpoint(session)
    resumed = setup([spec], tmp_path / "cut", CPU)
    assert resumed.start == 5 and resumed.game.d_updates == 5
    train(resumed)
    finish(resumed)
    a = np.load(RunDir(tmp_path / "whole", spec.suite, spec.run_id).path / "samples.npz")
    b = np.load(RunDir(tmp_path / "cut", spec.suite, spec.run_id).path / "samples.npz")
    np.testing.assert_allclose(a["fake"], b["fake"], rtol=1e-5, atol=1e-6)
    assert whole[0]["status"] == "done"


def _dirac(tmp_path, **over):
    base = {"dataset": "dirac", "model": "dirac", "scheme": "simultaneous",
            "optimizer": {"name": "sgd", "lr_g": 0.2, "lr_d": 0.2},
            "training": {"iterations": 300, "batch_size": 4},
            "evaluation": {"every": 100, "samples": 10}, **over}
    (spec,) = parse_suite({"name": "d", "base": base}).runs
    (summary,) = train_group([spec], tmp_path, CPU)
    return spec, summary["metrics"], RunDir(tmp_path, spec.suite, spec.run_id).read_metrics()


def test_r1_plus_r2_converges_on_the_dirac_gan(tmp_path):
    # C(x) = psi x has the same input gradient psi at real and fake points, so R1 + R2 at
    # gamma each is one zero-centred penalty at 2 gamma: the same trajectory, which
    # converges under simultaneous steps where the unregularized game spirals out
    gamma = 0.3
    _, both, rows = _dirac(tmp_path / "a", objective="minimax",
                           regularizer=[{"name": "r1", "weight": gamma},
                                        {"name": "r2", "weight": gamma}])
    _, twice, rows2 = _dirac(tmp_path / "b", objective="minimax",
                             regularizer={"name": "r1", "weight": 2 * gamma})
    _, none, _ = _dirac(tmp_path / "c", objective="minimax", regularizer="none")
    assert both["dirac_converged"] == 1.0 and none["dirac_converged"] == 0.0
    assert none["dirac_distance"] > 2 * math.hypot(1.0, 1.0)
    for r, s in zip(rows, rows2):
        assert r["dirac_theta"] == pytest.approx(s["dirac_theta"], abs=1e-5)
        assert r["dirac_psi"] == pytest.approx(s["dirac_psi"], abs=1e-5)
    # the r3gan preset (relativistic pairing loss + R1 + R2) converges too
    _, r3, _ = _dirac(tmp_path / "d", objective="r3gan")
    assert r3["dirac_converged"] == 1.0
