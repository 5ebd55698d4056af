import numpy as np
import pytest
import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext
from ganbench.metrics.conditional import best_matching_accuracy
from ganbench.objectives import get
from ganbench.objectives.infogan import mi_lower_bound
from ganbench.suite import SuiteError, parse_suite
from ganbench.train import build, train_group

CPU = torch.device("cpu")


def suite(model, objective="nonsaturating", metrics=("modes",), **kw):
    return parse_suite({"base": {
        "model": {"name": model, "latent_dim": 4, "width": 16, "depth": 1, **kw},
        "objective": objective,
        "training": {"iterations": 6, "batch_size": 16},
        "evaluation": {"every": 3, "samples": 64, "metrics": list(metrics)}},
        "grid": {"seed": [0, 1]}})


@pytest.mark.parametrize("critic", ["projection", "concat"])
def test_conditional_packing_and_penalty_on_x_only(critic):
    b = build(suite("mlp_conditional", critic=critic).runs, CPU)
    g = b.game
    real, z = g.real(), g.noise()
    assert real.shape == (2, 16, 2 + 8) and z.shape == (2, 16, 4 + 8)
    # real labels are the data's mode indices: the point sits on its labelled mode
    idx = real[..., 2:].argmax(-1)
    centres = DATASETS.create("ring").mode_centres()
    assert torch.allclose(real[..., :2], centres[idx], atol=0.2)
    fake = g.generate(z)
    assert torch.equal(fake[..., 2:], z[..., 4:])  # the code passes through G
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(g.D(x).sum(), x)
    assert grad[..., 2:].abs().max() == 0  # the critic reads labels detached
    assert grad[..., :2].abs().max() > 0


def test_infogan_critic_outputs_and_objective():
    b = build(suite("mlp_infogan", objective="infogan", codes=5).runs, CPU)
    g = b.game
    real = g.real()
    assert real.shape == (2, 16, 2 + 5) and real[..., 2:].abs().max() == 0  # no code for data
    out = g.D(g.generate(g.noise()))
    assert out.shape == (2, 16, 1 + 5 + 5)
    loss_d, loss_g = g.d_loss(real, g.generate(g.noise())), g.g_loss(g.noise())
    assert loss_d.shape == loss_g.shape == (2,)
    # on plain scores it is exactly its base objective
    r, f = torch.randn(10), torch.randn(10)
    assert torch.equal(get("infogan").d_loss(r, f), get("nonsaturating").d_loss(r, f))


def test_mi_bound_is_entropy_for_a_perfect_q_and_zero_for_a_blind_one():
    code = torch.nn.functional.one_hot(torch.arange(40) % 4, 4).float()
    perfect = code * 50.0
    blind = torch.zeros(40, 4)
    assert mi_lower_bound(perfect, code).item() == pytest.approx(np.log(4), abs=1e-6)
    assert mi_lower_bound(blind, code).item() == pytest.approx(0.0, abs=1e-6)


def test_infogan_needs_its_model():
    with pytest.raises(SuiteError, match="do not fit"):
        suite("mlp", objective="infogan")
    with pytest.raises(SuiteError, match="do not fit"):
        suite("mlp_infogan", objective="nonsaturating")


def test_conditional_accuracy_and_code_alignment_known_answers():
    ds = DATASETS.create("ring")
    c = ds.mode_centres()
    labels = torch.arange(80) % 8
    exact = c[labels]
    ctx = EvalContext(real=exact, dataset=ds, extras={"labels": labels})
    assert METRICS.create("conditional_accuracy")(exact, ctx)["conditional_accuracy"] == 1.0
    shifted = c[(labels + 1) % 8]  # a permutation of the modes: wrong as conditional,
    assert METRICS.create("conditional_accuracy")(shifted, ctx)["conditional_accuracy"] == 0.0
    assert METRICS.create("code_alignment")(shifted, ctx)["code_alignment"] == 1.0  # perfect as codes
    assert best_matching_accuracy(np.array([0, 0, 1, 1]), np.array([2, 2, 2, 3]), 2, 4) == 0.75


def test_conditional_and_infogan_runs_train_and_report(tmp_path):
    runs = suite("mlp_conditional", metrics=("modes", "conditional_accuracy")).runs
    out = train_group(runs, tmp_path / "c", CPU)
    assert all(0 <= s["metrics"]["conditional_accuracy"] <= 1 for s in out)
    runs = suite("mlp_infogan", objective="infogan",
                 metrics=("modes", "code_alignment", "info_mi")).runs
    out = train_group(runs, tmp_path / "i", CPU)
    for s in out:
        assert s["status"] == "done" and not s["metric_errors"]
        assert s["metrics"]["info_mi"] <= np.log(8) + 1e-6
    z = np.load(next((tmp_path / "i").glob("**/samples.npz")))
    assert z["fake"].shape == (64, 2) and sorted(set(z["labels"].tolist())) == list(range(8))
