"""The Dirac-GAN at the notebook's protocol, against exact values: the suite's references
are the vector fields iterated independently (tests/dirac_field.py), the trainer follows
those trajectories step by step, and the game's analytic rates hold (WGAN's SimGD spiral
grows by sqrt(1 + h^2) a step, extragradient contracts by |1 + ih - h^2|, R1's Jacobian has
the eigenvalues -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)). Also the exact kind of published
value and the alternating scheme's order."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from dirac_field import trajectory

from ganbench.cli import main
from ganbench.results import RunDir
from ganbench.suite import load_suite, parse_suite
from ganbench.suite.reference import parse_value
from ganbench.train import train_group
from ganbench.util import stats

CPU = torch.device("cpu")
SUITE = Path(__file__).parents[1] / "suites" / "papers" / "mescheder_dirac.yaml"
H = 0.2


def _sim_args(config):
    """The simulator's (objective, scheme, regularizer) for a resolved run config."""
    reg = config.get("regularizer")
    name = "none" if reg is None else reg["name"]
    par = 0.0 if reg is None else reg["params"].get("clip" if name == "weight_clip" else "weight")
    return (config["objective"]["name"], (config["scheme"]["name"], config["scheme"]["params"]),
            (name, par))


def _exact_cells(suite):
    by = {(r.labels["objective"], r.labels["scheme"], r.labels["regularizer"]): r
          for r in suite.runs if r.seed == 0}
    out = []
    for cell in suite.spec.reference.cells:
        v = parse_value(cell.values["dirac_distance"])
        key = (cell.row["objective"], cell.row["scheme"], cell.column["regularizer"])
        out.append((by[key], v))
    return out


def test_the_suites_exact_values_are_the_notebooks_fields():
    suite = load_suite(SUITE)
    cells = _exact_cells(suite)
    exact = [(r, v) for r, v in cells if v.tol is not None]
    # every deterministic run point carries its exact value; instance noise a bound
    deterministic = {r.run_id for r in suite.runs if r.seed == 0
                     and (r.config.get("regularizer") or {}).get("name") != "instance_noise"}
    assert {r.run_id for r, _ in exact} == deterministic and len(exact) == 56
    for r, v in exact:
        assert r.config["model"]["params"] == {"theta": 1.0, "psi": -1.0}  # the paper's (1, 1)
        want = trajectory(*_sim_args(r.config), steps=r.config["training"]["iterations"], h=H)[-1]
        assert v.mean == pytest.approx(want, abs=5e-7, rel=1e-9), r.labels
    # the table, recomputed: the start (1, 1), not (1, -1), gives 3.0969
    assert trajectory("minimax", ("simultaneous", {}))[-1] == pytest.approx(3.0969, abs=5e-5)
    assert trajectory("minimax", ("simultaneous", {}), start=(1.0, -1.0))[-1] == \
        pytest.approx(3.3534, abs=5e-5)


# one run point per scheme and per kind of regularizer (the whole suite is measured in
# docs/papers.md); each checked at every evaluation, not only at the end
PICKS = [
    ("minimax", "simultaneous", "none"),
    ("minimax", "alternating(order=g_first)", "none"),
    ("nonsaturating", "alternating", "gp"),
    ("minimax", "alternating(order=g_first, d_steps=5)", "none"),
    ("wgan", "alternating(order=g_first, d_steps=5)", "weight_clip"),
    ("nonsaturating", "simultaneous", "r1(weight=1.0)"),
    ("minimax", "consensus", "none"),
    ("wgan", "extragradient", "none"),
    ("wgan", "optimistic", "none"),
]


def test_the_trainer_follows_the_exact_trajectories(tmp_path):
    suite = load_suite(SUITE)
    by = {(r.labels["objective"], r.labels["scheme"], r.labels["regularizer"]): r
          for r in suite.runs if r.seed == 0}
    for key in PICKS:
        r = by[key]
        cfg = json.loads(json.dumps(r.config))
        cfg["training"]["batch_size"] = 4  # nothing is random here: the batch only costs time
        cfg["regularizer"] = cfg["regularizer"] or "none"  # (re-parsed, None is the preset's)
        cfg["evaluation"]["every"] = 25
        (spec,) = parse_suite({"name": "d", "base": cfg}).runs
        train_group([spec], tmp_path, CPU)
        rows = RunDir(tmp_path, spec.suite, spec.run_id).read_metrics()
        want = trajectory(*_sim_args(r.config), steps=cfg["training"]["iterations"], h=H)
        assert len(rows) == 20
        for row in rows:
            # float32 against float64: within 8e-5 relative over every cell (the suite's
            # comment), so 2e-4 here
            assert row["dirac_distance"] == pytest.approx(want[row["step"] - 1], rel=2e-4,
                                                          abs=1e-6), \
                (key, row["step"])


def _run(tmp_path, steps, every=1, **over):
    base = {"dataset": "dirac", "model": {"name": "dirac", "theta": 1.0, "psi": -1.0},
            "regularizer": "none", "objective": "wgan", "scheme": "simultaneous",
            "optimizer": {"name": "sgd", "lr_g": H, "lr_d": H},
            "training": {"iterations": steps, "batch_size": 2},
            "evaluation": {"every": every, "samples": 10}}
    base.update(over)
    (spec,) = parse_suite({"name": "a", "base": base}).runs
    train_group([spec], tmp_path, CPU)
    return RunDir(tmp_path, spec.suite, spec.run_id).read_metrics()


def _rates(rows):
    d = np.array([math.sqrt(2.0)] + [r["dirac_distance"] for r in rows])
    return d[1:] / d[:-1]


def test_wgan_simgd_grows_by_sqrt_1_plus_h2(tmp_path):
    # the bilinear game theta * psi: the step matrix I + hA, A with eigenvalues +-i
    rates = _rates(_run(tmp_path, 40))
    np.testing.assert_allclose(rates, math.sqrt(1 + H * H), rtol=1e-5)


def test_extragradient_contracts_by_modulus_of_1_plus_ih_minus_h2(tmp_path):
    rates = _rates(_run(tmp_path, 40, scheme="extragradient"))
    np.testing.assert_allclose(rates, abs(1 + 1j * H - H * H), rtol=1e-5)
    assert abs(1 + 1j * H - H * H) < 1  # it does contract


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.0])
def test_r1_eigenvalues_are_those_of_the_simulated_fields_jacobian(tmp_path, gamma):
    """One SGD step from w gives the field v(w) = (w' - w) / h; its Jacobian at the
    equilibrium by central differences, against -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2),
    f'(0) = 1/2 (gamma = 1 is critical: the eigenvalues meet at -1/2)."""
    eps = 1e-2
    jac = np.zeros((2, 2))
    for j, (dt, dp) in enumerate([(eps, 0.0), (0.0, eps)]):
        cols = []
        for s in (1, -1):
            rows = _run(tmp_path / f"{j}{s}", 1, objective="minimax",
                        regularizer={"name": "r1", "weight": gamma},
                        model={"name": "dirac", "theta": s * dt, "psi": s * dp})
            w = np.array([rows[0]["dirac_theta"], rows[0]["dirac_psi"]])
            cols.append((w - s * np.array([dt, dp])) / H)
        jac[:, j] = (cols[0] - cols[1]) / (2 * eps)
    got = np.sort_complex(np.linalg.eigvals(jac))
    root = np.sqrt(complex(gamma * gamma / 4 - 0.25))
    want = np.sort_complex(np.array([-gamma / 2 - root, -gamma / 2 + root]))
    np.testing.assert_allclose(got, want, atol=2e-3)


def test_exact_published_values():
    assert parse_value({"exact": 1.5, "tol": 1e-4}).tol == 1e-4
    assert "tol must be > 0" in parse_value({"exact": 1.5, "tol": 0})
    assert "exact: x, tol: t" in parse_value({"exact": 1.5})
    pub = stats.published_value(1.5, None, "none", None, tol=1e-3)
    assert stats.verdict([1.5004], pub).verdict == "agrees"  # one seed decides
    assert stats.verdict([1.5004, 1.502], pub).verdict == "differs"  # every seed must hold
    assert stats.verdict([float("nan")], pub).verdict == "differs"
    v = stats.verdict([1.4999, 1.5002], pub)
    assert v.diff == pytest.approx(0.00005) and v.ci == pytest.approx((-1e-4, 2e-4))


def test_exact_value_in_a_suite_with_a_bad_tolerance_exits_2(tmp_path, capsys):
    text = SUITE.read_text().replace("tol: 1.0e-3}}}", "tol: -1.0e-3}}}", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert main(["run", str(bad), "--results", str(tmp_path / "res"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "reference.cells[0].values.dirac_distance" in err and "tol must be > 0" in err
    assert not (tmp_path / "res").exists()


def test_alternating_order_and_run_ids():
    def spec(scheme):
        return parse_suite({"base": {"dataset": "dirac", "model": "dirac",
                                     "scheme": scheme}}).runs[0]
    plain = spec("alternating")
    # order was added after runs were recorded: at its default it is not in the config
    assert plain.config["scheme"] == {"name": "alternating",
                                      "params": {"d_steps": 1, "g_steps": 1}}
    assert spec({"name": "alternating", "order": "d_first"}).run_id == plain.run_id
    assert spec({"name": "alternating", "order": "g_first"}).run_id != plain.run_id
    with pytest.raises(Exception, match="order: expected one of d_first, g_first"):
        spec({"name": "alternating", "order": "both"})
