"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018): data, model and metrics; the trainer
follows the paper's update equations; suites/papers/mescheder_dirac.yaml reproduces its findings; the
trajectory plot and its CLI verb."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.cli import main
from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext, MetricError
from ganbench.models import REGISTRY as MODELS
from ganbench.report.plots import load_history
from ganbench.results import RunDir
from ganbench.suite import RunSpec, load_suite, parse_suite
from ganbench.train import train_group

CPU = torch.device("cpu")
SUITE = Path(__file__).parents[1] / "suites" / "papers" / "mescheder_dirac.yaml"


def test_data_model_and_metrics():
    ds = DATASETS.create("dirac")
    x, y = ds.sample_labeled(5, torch.Generator())
    assert x.shape == (5, 1) and not x.any() and y is None and ds.mode_centres() is None
    model = MODELS.create("dirac", theta=0.5, psi=-2.0)
    gens = [torch.Generator() for _ in range(3)]
    G, D = model.generator((1,), gens), model.critic((1,), gens)
    assert G.theta.shape == (3, 1) and D.psi.shape == (3, 1)
    out = G(torch.randn(3, 4, model.latent_dim))
    assert out.shape == (3, 4, 1) and (out == 0.5).all()
    assert torch.equal(D(torch.tensor([[[1.0], [3.0]]] * 3)), torch.full((3, 2), -2.0) * torch.tensor([1.0, 3.0]))
    with pytest.raises(ValueError, match="1-D"):
        model.critic((2,), gens)

    ctx = EvalContext(real=x, dataset=ds, extras={"critic": lambda v: -0.3 * v[:, 0] + 7.0})
    fake = torch.full((10, 1), 0.4)
    assert METRICS.create("dirac_theta")(fake, ctx) == {"dirac_theta": pytest.approx(0.4)}
    assert METRICS.create("dirac_psi")(fake, ctx) == {"dirac_psi": pytest.approx(-0.3)}  # D(1) - D(0)
    assert METRICS.create("dirac_distance")(fake, ctx)["dirac_distance"] == pytest.approx(0.5)
    assert METRICS.create("dirac_converged", tol=0.6)(fake, ctx) == {"dirac_converged": 1.0}
    assert METRICS.create("dirac_converged", tol=0.1)(fake, ctx) == {"dirac_converged": 0.0}
    with pytest.raises(MetricError, match="critic"):
        METRICS.create("dirac_psi")(fake, EvalContext(real=x, dataset=ds))
    assert "dirac" in METRICS.create("dirac_distance").applies(DATASETS.create("ring"))
    # evaluated by default on the dirac dataset, and on no other
    dirac = {"dirac_theta", "dirac_psi", "dirac_distance", "dirac_converged"}
    (run,) = parse_suite({"base": {"dataset": "dirac", "model": "dirac"}}).runs
    assert dirac <= {m["name"] for m in run.config["evaluation"]["metrics"]}
    (run,) = parse_suite({"base": {"dataset": "ring"}}).runs
    assert not dirac & {m["name"] for m in run.config["evaluation"]["metrics"]}


def _sigmoid(t):
    return 1 / (1 + math.exp(-t))


def paper_trajectory(objective, scheme, gamma, steps, h=0.2):
    """The paper's vector fields (its notebook's GAN, NSGAN and gradient penalty) iterated
    with step h, in its sign convention (psi_paper = -psi here), f'(t) = sigmoid(-t)."""
    theta, psi = 1.0, -1.0
    fp = lambda t: _sigmoid(-t)  # noqa: E731

    def v_theta(theta, psi):
        return -psi * (fp(psi * theta) if objective == "minimax" else fp(-psi * theta))

    def v_psi(theta, psi):
        return theta * fp(psi * theta) - gamma * psi

    out = []
    for _ in range(steps):
        if scheme == "simultaneous":
            theta, psi = theta + h * v_theta(theta, psi), psi + h * v_psi(theta, psi)
        else:  # the critic first, then the generator against the new critic
            psi = psi + h * v_psi(theta, psi)
            theta = theta + h * v_theta(theta, psi)
        out.append((theta, -psi))
    return out


def dirac_run(tmp_path, **over):
    base = {"dataset": "dirac", "model": "dirac", "regularizer": "none",
            "optimizer": {"name": "sgd", "lr_g": 0.2, "lr_d": 0.2},
            "training": {"iterations": 100, "batch_size": 4},
            "evaluation": {"every": 10, "samples": 10}}
    base.update(over)
    (spec,) = parse_suite({"name": "d", "base": base}).runs
    train_group([spec], tmp_path, CPU)
    return RunDir(tmp_path, spec.suite, spec.run_id).read_metrics()


@pytest.mark.parametrize("objective,scheme,gamma", [
    ("minimax", "simultaneous", 0.0), ("minimax", "alternating", 0.0),
    ("nonsaturating", "simultaneous", 0.0), ("minimax", "alternating", 0.3),
    ("nonsaturating", "simultaneous", 0.3),
])
def test_trainer_follows_the_papers_updates(tmp_path, objective, scheme, gamma):
    reg = {"name": "r1", "weight": gamma} if gamma else "none"
    rows = dirac_run(tmp_path, objective=objective, scheme=scheme, regularizer=reg)
    want = paper_trajectory(objective, scheme, gamma, 100)
    for r in rows:
        theta, psi = want[r["step"] - 1]
        assert r["dirac_theta"] == pytest.approx(theta, abs=1e-4)
        assert r["dirac_psi"] == pytest.approx(psi, abs=1e-4)


def test_dirac_suite_reproduces_the_papers_findings(tmp_path):
    suite = load_suite(SUITE)
    # grid (3 objectives x 3 schemes x 6 regularizers) + instance noise's seeds 1 and 2 +
    # weight clipping + 5 critic steps + consensus + EG/OGD on WGAN
    assert len(suite.runs) == 3 * 3 * 6 + 2 * 3 * 3 + 3 + 4 + 2 + 2
    suite.runs = [r for r in suite.runs if r.seed == 0]
    by = {(r.labels["objective"], r.labels["scheme"],
           r.labels["regularizer"].replace("(weight=0.3)", "")): r for r in suite.runs}

    def final(objective, scheme, regularizer):
        r = by[(objective, scheme, regularizer)]
        cfg = copy.deepcopy(r.config)
        cfg["evaluation"]["every"] = cfg["training"]["iterations"]  # the end is enough here
        (s,) = train_group([RunSpec(r.suite, cfg, r.labels)], tmp_path, CPU)
        return s["metrics"]

    start = math.hypot(1.0, 1.0)
    assert final("minimax", "simultaneous", "none")["dirac_distance"] > 2 * start  # spirals out
    alt = final("minimax", "alternating", "none")["dirac_distance"]
    assert 0.7 * start < alt < 1.5 * start  # circles
    assert final("wgan", "simultaneous", "weight_clip")["dirac_distance"] > 0.7  # WGAN
    assert final("wgan", "alternating", "gp")["dirac_distance"] > 0.7  # WGAN-GP
    for key in [("minimax", "simultaneous", "r1"), ("nonsaturating", "alternating", "r2"),
                ("wgan", "alternating", "r1"), ("minimax", "alternating", "instance_noise"),
                ("wgan", "extragradient", "none")]:
        assert final(*key)["dirac_converged"] == 1.0, key
    # instance noise does not help the WGAN (f''(0) = 0: the noise averages out)
    assert final("wgan", "alternating", "instance_noise")["dirac_converged"] == 0.0


def test_trajectory_plot_and_cli(tmp_path, capsys):
    root = tmp_path / "res"
    for scheme in ("simultaneous", "alternating"):
        dirac_run(root, scheme=scheme, objective="minimax",
                  training={"iterations": 30, "batch_size": 4})
    hist = load_history(root / "d")
    assert set(hist["scheme"]) == {"simultaneous", "alternating"}
    assert sorted(set(hist["step"])) == [10, 20, 30]
    assert len(load_history(root)) == len(hist)  # a results root works as well
    png, pdf = tmp_path / "t.png", tmp_path / "out" / "t.pdf"
    assert main(["plot", "dirac", str(root / "d"), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "wrote" in capsys.readouterr().out
    assert main(["plot", "dirac", str(root / "d"), "-o", str(pdf)]) == 0
    assert pdf.read_bytes()[:4] == b"%PDF"

    assert main(["plot", "diracc", str(root / "d"), "-o", str(png)]) == 2
    assert "did you mean 'dirac'" in capsys.readouterr().err
    assert main(["plot", "dirac", str(root / "d"), "-o", str(tmp_path / "t.gif")]) == 2
    assert "suffix" in capsys.readouterr().err and not (tmp_path / "t.gif").exists()
    assert main(["plot", "dirac", str(tmp_path / "nothing"), "-o", str(png)]) == 2
    ring = tmp_path / "ring"
    (spec,) = parse_suite({"name": "r", "base": {
        "model": {"name": "mlp", "latent_dim": 2, "width": 4, "depth": 1},
        "training": {"iterations": 2, "batch_size": 4},
        "evaluation": {"every": 2, "samples": 20, "metrics": ["modes"]}}}).runs
    train_group([spec], ring, CPU)
    assert main(["plot", "dirac", str(ring), "-o", str(tmp_path / "r.png")]) == 2
    assert "dirac_theta" in capsys.readouterr().err and not (tmp_path / "r.png").exists()
    np.testing.assert_equal(png.stat().st_size > 0, True)
