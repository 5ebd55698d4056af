"""Mixed ensembles: runs that differ in objective, regularizer, optimiser hyper-parameters
and EMA decay train as one ensemble, and each member equals its run trained alone."""

import copy

import numpy as np
import torch

from ganbench.execute import plan, run_suite
from ganbench.execute.grouping import group_runs
from ganbench.registry import registry
from ganbench.results import RunDir
from ganbench.suite import parse_suite
from ganbench.train import build, train_group

CPU = torch.device("cpu")


def samples(root, r):
    return np.load(RunDir(root, r.suite, r.run_id).path / "samples.npz")["fake"]


def unpacked_objectives():
    return [e.name for e in registry("objectives").entries()
            if not e.meta.get("requires_packing")]


def mixed_suite(tiny_suite_dict, scheme="alternating"):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["training"] = {"iterations": 12, "batch_size": 16}
    d["base"]["evaluation"] = {"every": 6, "samples": 64, "metrics": ["hq_fraction"]}
    d["base"]["scheme"] = scheme
    d["grid"] = {"seed": [0]}
    regs = registry("regularizers").names()
    # every objective with its preset (or none), every regularizer under one objective,
    # the relativistic generator (reads real data) under a penalty and instance noise, and
    # per-member optimiser settings and EMA decays
    d["cases"] = ([{"objective": o} for o in unpacked_objectives()]
                  + [{"objective": "nonsaturating", "regularizer": r} for r in regs]
                  + [{"objective": "ragan", "regularizer": "instance_noise", "seed": 3},
                     {"objective": "rsgan", "regularizer": "r1", "seed": 4},
                     {"objective": "hinge", "optimizer.beta1": 0.0, "optimizer.beta2": 0.9,
                      "training.ema": 0.9, "seed": 5},
                     {"objective": "lsgan", "optimizer.lr_g": 3e-3, "training.ema": 0.5,
                      "seed": 6}]
                  # lists of terms (in both orders: each member draws in its own order),
                  # a lazy penalty, and a list beside single terms of the same names
                  + [{"objective": "nonsaturating", "regularizer": terms, "seed": 7 + i}
                     for i, terms in enumerate([
                         [{"name": "gp", "weight": 1.0}, {"name": "dragan", "weight": 2.0}],
                         [{"name": "dragan", "weight": 2.0}, {"name": "gp", "weight": 1.0}],
                         [{"name": "instance_noise", "std": 0.05}, {"name": "r1", "every": 2}],
                         {"name": "r2", "weight": 1.0, "every": 3}])])
    return parse_suite(d)


def test_every_objective_and_regularizer_share_one_ensemble(tiny_suite_dict):
    runs = mixed_suite(tiny_suite_dict).runs
    assert len(runs) > 25
    assert len(group_runs(runs)) == 1
    game = build(runs, CPU).game
    # one part per distinct objective / regularizer config, not one per member
    from ganbench.suite import canonical

    assert len(game.objectives) == len({canonical(r.config["objective"]) for r in runs})
    # (a list's terms are parts of their own, one per position and term)
    assert len(game.regularizers) == len({(i, canonical(t.to_config())) for r in runs
                                          for i, t in enumerate(r.regularizers())})
    assert sorted(i for p in game.objectives for i in p.members) == list(range(len(runs)))


def check_members_equal_runs_alone(tmp_path, runs):
    train_group(runs, tmp_path / "group", CPU)
    for r in runs:
        train_group([r], tmp_path / "alone", CPU)
        a, b = samples(tmp_path / "group", r), samples(tmp_path / "alone", r)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{r.labels} differs from its run alone")


def test_mixed_member_equals_the_run_alone(tmp_path, tiny_suite_dict):
    check_members_equal_runs_alone(tmp_path, mixed_suite(tiny_suite_dict).runs)


def test_mixed_member_equals_the_run_alone_unrolled(tmp_path, tiny_suite_dict):
    runs = [r for r in mixed_suite(tiny_suite_dict, {"name": "unrolled", "k": 2}).runs
            if r.config["objective"]["name"] in ("nonsaturating", "ragan", "wgan", "rsgan")]
    check_members_equal_runs_alone(tmp_path, runs)


def test_mixed_member_equals_the_run_alone_simultaneous(tmp_path, tiny_suite_dict):
    runs = [r for r in mixed_suite(tiny_suite_dict, "extragradient").runs
            if r.config["objective"]["name"] in ("minimax", "ragan", "wgan_gp", "hinge")]
    check_members_equal_runs_alone(tmp_path, runs)


def test_stateful_critics_do_not_mix_objectives(tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["model"]["spectral_norm"] = True  # power-iteration vectors advance per pass
    d["grid"] = {"objective": ["nonsaturating", "hinge"], "seed": [0, 1]}
    groups = group_runs(parse_suite(d).runs)
    assert len(groups) == 2
    assert all(len({r.config["objective"]["name"] for r in g}) == 1 for g in groups)


def test_results_do_not_depend_on_grouping(tmp_path, tiny_suite_dict):
    s = mixed_suite(tiny_suite_dict)
    runs = s.runs[:8]
    s.runs[:] = runs
    run_suite(s, tmp_path / "one", device="cpu", progress=False)
    run_suite(s, tmp_path / "capped", device="cpu", progress=False, max_group=3)
    assert len(plan(runs, tmp_path / "x", max_group=3).todo) == 3
    for r in runs:
        np.testing.assert_allclose(samples(tmp_path / "one", r), samples(tmp_path / "capped", r),
                                   rtol=1e-4, atol=1e-5)
