"""A member of a vectorised ensemble equals the same run trained alone, for every scheme
(and with a gradient penalty, whose input gradients must stay per member)."""

import numpy as np
import pytest
import torch

from ganbench.execute import plan
from ganbench.results import RunDir
from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.suite import parse_suite
from ganbench.train import train_group

CPU = torch.device("cpu")


def runs_for(scheme, objective="nonsaturating", regularizer=None):
    base = {"model": {"name": "mlp", "latent_dim": 3, "width": 8, "depth": 1},
            "scheme": scheme, "objective": objective,
            "training": {"iterations": 6, "batch_size": 16},
            "evaluation": {"every": 6, "samples": 50, "metrics": ["modes"]}}
    if regularizer:
        base["regularizer"] = regularizer
    return parse_suite({"base": base, "grid": {"seed": [0, 1, 2],
                                               "optimizer.lr_g": [1e-3, 5e-3]}}).runs


def fake(root, r):
    return np.load(RunDir(root, r.suite, r.run_id).path / "samples.npz")["fake"]


@pytest.mark.parametrize("scheme", SCHEMES.names())
def test_every_scheme_member_equals_alone(tmp_path, scheme):
    params = {"k": 2} if scheme.startswith("unrolled") else {}
    runs = runs_for({"name": scheme, **params})
    assert len(plan(runs, tmp_path).todo) == 1
    train_group(runs, tmp_path / "group", CPU)
    for r in runs[::2]:
        train_group([r], tmp_path / "alone", CPU)
        np.testing.assert_allclose(fake(tmp_path / "group", r), fake(tmp_path / "alone", r),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("objective, regularizer", [("wgan_gp", None), ("wgan", None),
                                                    ("nonsaturating", {"name": "r1", "weight": 1.0}),
                                                    ("ragan", {"name": "dragan", "weight": 1.0})])
def test_regularized_member_equals_alone(tmp_path, objective, regularizer):
    runs = runs_for("alternating", objective, regularizer)[:3]
    train_group(runs, tmp_path / "group", CPU)
    for r in runs:
        train_group([r], tmp_path / "alone", CPU)
        np.testing.assert_allclose(fake(tmp_path / "group", r), fake(tmp_path / "alone", r),
                                   rtol=1e-4, atol=1e-5)


def test_max_group_splits_groups(tmp_path):
    runs = runs_for("alternating")
    sizes = [len(g) for g in plan(runs, tmp_path, max_group=4).todo]
    assert sizes == [4, 2]
    assert [len(g) for g in plan(runs, tmp_path, vectorize="off").todo] == [1] * 6
