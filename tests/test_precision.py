"""training.precision: bf16 autocast of the players' passes with fp32 master weights,
optimiser state, losses and evaluation; run ids unchanged at fp32; penalties that
differentiate twice close to fp32; mixed ensembles exact in bf16; bad precisions refused."""

import copy
import json
from pathlib import Path

import pytest
import torch
from test_mixed_ensembles import check_members_equal_runs_alone

from ganbench.cli.main import main
from ganbench.game import score_of
from ganbench.registry import registry
from ganbench.suite import load_suite, parse_suite, run_id
from ganbench.train import build
from ganbench.train import precision as prec

CPU = torch.device("cpu")
ROOT = Path(__file__).resolve().parents[1]


def _suite(tiny_suite_dict, precision, **training):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["training"] = {**d["base"]["training"], "precision": precision, **training}
    return parse_suite(d)


def test_fp32_is_out_of_run_ids_and_other_precisions_in_them(tiny_suite_dict):
    plain = parse_suite(copy.deepcopy(tiny_suite_dict)).runs
    fp32, bf16 = (_suite(tiny_suite_dict, p).runs for p in ("fp32", "bf16"))
    assert plain[0].config["training"]["precision"] == "fp32"  # stated in spec.yaml
    assert [r.run_id for r in fp32] == [r.run_id for r in plain]
    cfg = copy.deepcopy(plain[0].config)
    del cfg["training"]["precision"]  # a run written before the key existed
    assert run_id(cfg) == plain[0].run_id
    assert not {r.run_id for r in bf16} & {r.run_id for r in plain}
    assert bf16[0].group_key() != plain[0].group_key()  # never one ensemble with fp32


def test_shipped_ci_suite_keeps_its_baseline_group_keys():
    keys = {r.group_key() for r in load_suite(ROOT / "suites" / "ci.yaml").runs}
    baseline = json.loads((ROOT / "results" / "baselines" / "ci.json").read_text())
    assert keys == set(baseline["groups"])


@pytest.mark.parametrize("value, says", [("fp64", "fp32"), ("fp16", "fp16 cannot train")])
def test_bad_precision_exits_2_and_writes_nothing(tmp_path, tiny_suite_dict, value, says,
                                                  capsys):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**tiny_suite_dict, "name": "s"}))
    out = tmp_path / "results"
    code = main(["run", str(path), "--results", str(out), "--device", "cpu",
                 "--set", f"training.precision={value}"])
    assert code == 2
    err = capsys.readouterr().err
    assert says in err and "precision" in err
    assert not out.exists() or not any(out.rglob("*"))


def test_bf16_without_native_support_warns_with_the_measured_slowdown(monkeypatch):
    monkeypatch.setattr(prec, "native_bf16", lambda device: False)
    monkeypatch.setattr(prec, "bf16_slowdown", lambda device: 23.4)
    (msg,) = prec.check_precisions({"bf16", "fp32"}, CPU)
    assert "23.4x slower" in msg and "no native bf16" in msg
    monkeypatch.setattr(prec, "native_bf16", lambda device: True)
    assert prec.check_precisions({"bf16"}, CPU) == []
    assert prec.check_precisions({"fp32"}, CPU) == []
    with pytest.raises(ValueError, match="fp16"):
        prec.check_precisions({"fp16"}, CPU)


def test_fp16_is_refused_on_every_path_to_a_step():
    with pytest.raises(ValueError, match="loss scaling"):
        prec.autocast("fp16", CPU)


def test_the_measured_slowdown_is_a_timing_ratio():
    slow = prec.bf16_slowdown("cpu")
    assert slow > 0 and slow == prec.bf16_slowdown("cpu")  # measured once per process


def _critic(seed=0, width=64):
    gens = [torch.Generator().manual_seed(seed + i) for i in range(3)]
    model = registry("models").create("mlp", width=width, depth=2, latent_dim=4)
    return model.critic((2,), gens)


# bf16 keeps 8 bits of mantissa (relative rounding 2^-9 per product): through a two-layer
# critic, its input gradient and a squared norm, a penalty stays within 5% of fp32
PENALTY_RTOL = 0.05


@pytest.mark.parametrize("name", ["r1", "r2", "gp", "dragan"])
def test_double_backprop_penalties_in_bf16_are_within_tolerance_of_fp32(name):
    torch.manual_seed(0)
    D = _critic()
    reg = registry("regularizers").create(name)
    real, fake = torch.randn(3, 128, 2), torch.randn(3, 128, 2) * 1.5
    critic = lambda x: score_of(D(x).float())  # noqa: E731 (as Game._penalised passes it)

    def penalty(precision):
        g = torch.Generator().manual_seed(7)  # the same draws in both precisions
        rand = lambda *shape: torch.rand(3, *shape, generator=g)  # noqa: E731
        with prec.autocast(precision, CPU):
            pen = reg.penalty(critic, real, fake, rand)
            # the last bias moves no input gradient: unused by the penalty
            grads = torch.autograd.grad(pen.sum(), list(D.parameters()), allow_unused=True)
        return pen, [g for g in grads if g is not None]

    p32, g32 = penalty("fp32")
    p16, g16 = penalty("bf16")
    assert p16.dtype == torch.float32 and all(g.dtype == torch.float32 for g in g16)
    assert not torch.equal(p16, p32)  # bf16 really ran
    torch.testing.assert_close(p16, p32, rtol=PENALTY_RTOL, atol=1e-4)
    # the penalty's gradient (the second differentiation) points the same way
    flat32, flat16 = torch.cat([g.flatten() for g in g32]), torch.cat([g.flatten() for g in g16])
    assert torch.nn.functional.cosine_similarity(flat32, flat16, dim=0) > 0.99


def test_bf16_step_keeps_fp32_weights_optimiser_state_and_losses(tiny_suite_dict):
    runs = _suite(tiny_suite_dict, "bf16").runs
    built = build(runs, CPU)
    ref = build(_suite(tiny_suite_dict, "fp32").runs, CPU)
    for b in (built, ref):
        for _ in range(3):
            losses = b.step()
    assert not torch.is_autocast_enabled("cpu")  # the step's context ends with it
    assert all(v.dtype == torch.float32 for v in losses.values())
    game = built.game
    assert all(p.dtype == torch.float32 for p in game.g_params + game.d_params)
    assert all(m.dtype == torch.float32 for m in game.opt_g.m + game.opt_g.v + game.opt_d.m)
    # the same seeds in fp32 end elsewhere: the step did run in bf16 ...
    assert not all(torch.equal(a, b) for a, b in zip(game.g_params, ref.game.g_params))
    # ... but close to fp32 after three steps
    for a, b in zip(game.g_params, ref.game.g_params):
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.02)


def test_bf16_grouped_members_equal_their_runs_alone(tmp_path, tiny_suite_dict):
    d = copy.deepcopy(tiny_suite_dict)
    d["base"]["training"] = {"iterations": 8, "batch_size": 16, "precision": "bf16"}
    d["base"]["evaluation"] = {"every": 4, "samples": 64, "metrics": ["hq_fraction"]}
    d["grid"] = {"seed": [0]}
    d["cases"] = [{"objective": "nonsaturating", "regularizer": r, "seed": i}
                  for i, r in enumerate(["r1", "gp", "dragan", "none"])] + \
                 [{"objective": "hinge", "seed": 5}, {"objective": "ragan", "seed": 6}]
    runs = parse_suite(d).runs
    from ganbench.execute.grouping import group_runs

    assert len(group_runs(runs)) == 1
    check_members_equal_runs_alone(tmp_path, runs)


# --- training.compile -------------------------------------------------------------------------


def _compile_runs(compile_, reg="none", scheme="alternating"):
    d = {"base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
                  "training": {"batch_size": 16, "compile": compile_}, "scheme": scheme,
                  "evaluation": {"metrics": []}, "regularizer": reg},
         "grid": {"seed": [0, 1]}}
    return parse_suite(d).runs


def test_compile_is_out_of_run_ids_unless_set():
    off, on = _compile_runs(False), _compile_runs("eager")
    cfg = copy.deepcopy(off[0].config)
    del cfg["training"]["compile"]
    assert run_id(cfg) == off[0].run_id != on[0].run_id


@pytest.mark.parametrize("backend, reg", [("eager", "r1"), ("aot_eager", "none")])
def test_a_compiled_step_trains_as_the_plain_one(backend, reg):
    plain, compiled = build(_compile_runs(False, reg), CPU), build(_compile_runs(backend, reg), CPU)
    assert compiled.compile_backend == backend and plain.compile_backend is None
    # the modules keep their parameter names (checkpoints, member slicing)
    assert [n for n, _ in compiled.game.D.named_parameters()] == \
        [n for n, _ in plain.game.D.named_parameters()]
    for _ in range(3):
        plain.step()
        compiled.step()
    for a, b in zip(plain.game.g_params + plain.game.d_params,
                    compiled.game.g_params + compiled.game.d_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend, reg, scheme, says", [
    ("cudagraphs", "none", "alternating", "needs a GPU"),
    (True, "r1", "alternating", "gradient penalty"),
    ("aot_eager", "gp", "alternating", "differentiates twice"),
    ("inductor", "none", {"name": "unrolled", "k": 2}, "unrolled"),
])
def test_compile_refuses_what_it_cannot_run(backend, reg, scheme, says):
    with pytest.raises(ValueError, match=says):
        prec.check_compile([r.config for r in _compile_runs(backend, reg, scheme)], CPU)


def test_compile_allows_eager_with_penalties_and_inductor_without():
    prec.check_compile([r.config for r in _compile_runs("eager", "r1")], CPU)
    prec.check_compile([r.config for r in _compile_runs(True, "instance_noise")], CPU)


def test_compile_cudagraphs_on_cpu_exits_2_and_writes_nothing(tmp_path, tiny_suite_dict, capsys):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**tiny_suite_dict, "name": "s"}))
    out = tmp_path / "results"
    assert main(["run", str(path), "--results", str(out), "--device", "cpu",
                 "--set", "training.compile=cudagraphs"]) == 2
    assert "cudagraphs needs a GPU" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*"))
