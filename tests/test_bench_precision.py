"""The bench against the machine's limit: FLOPs by torch's formulas, attainable time from
each product replayed alone, utilisation, the bf16 / fp32 ratio and the evaluation's share,
as numbers under named --json keys. Timings are never asserted (a shared machine); the
arithmetic on them is."""

import json
import subprocess
import sys

import pytest
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from ganbench.ci.bench import bench_runs, run_bench
from ganbench.ci.bench_suite import GroupTiming, SuiteBenchResult, evaluations_per_run
from ganbench.ci.flops import _Recorder, step_cost, time_call
from ganbench.suite import parse_suite
from ganbench.train import build

CPU = torch.device("cpu")
CLI = "import sys; from ganbench.cli import main; sys.exit(main())"
SUITE = {"name": "bp",
         "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1},
                  "training": {"iterations": 40, "batch_size": 16},
                  "evaluation": {"every": 20, "samples": 100, "metrics": ["modes", "hq_fraction"]}},
         "grid": {"objective": ["nonsaturating", "hinge"], "seed": [0, 1]},
         "cases": [{"objective": "nonsaturating", "regularizer": "r1"}]}


def test_a_product_counts_its_analytic_flops_and_replays_with_its_layout():
    E, N, K, M = 3, 20, 7, 5
    x, w, b = torch.randn(E, N, K), torch.randn(E, M, K).transpose(1, 2), torch.randn(E, 1, M)
    rec = _Recorder()
    with rec:
        torch.baddbmm(b, x, w)
    assert rec.flops == 2 * E * N * K * M
    ((key, n),) = rec.calls.items()
    assert n == 1
    _, args, _ = key
    assert args[1][2][2] == w.stride()  # the transposed operand's strides are kept
    assert time_call(key, CPU, repeat=2) > 0


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_steps_flops_are_torchs_flop_counter_and_include_the_penalty(precision):
    def runs(reg):
        d = {"base": {"model": {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1},
                      "training": {"batch_size": 16, "precision": precision},
                      "evaluation": {"metrics": []}, "regularizer": reg},
             "grid": {"seed": [0, 1]}}
        return parse_suite(d).runs

    built = build(runs("none"), CPU)
    with FlopCounterMode(display=False) as fc:
        built.step()
    cost = step_cost(built, CPU, repeat=1)
    assert cost.flops == fc.get_total_flops() > 0
    assert cost.calls >= cost.shapes > 0 and cost.attainable_s > 0
    # R1's double backprop adds products: a penalised step counts more
    assert step_cost(build(runs("r1"), CPU), CPU, repeat=1).flops > cost.flops


def _result():
    g = lambda members, it, fp32_s, bf16_s, eval_s: GroupTiming(  # noqa: E731
        "x", members, it, fp32_s, 4 * fp32_s, evaluations=2,
        by_precision={"fp32": {"s": fp32_s, "flops": 1e9, "attainable_s": fp32_s / 20},
                      "bf16": {"s": bf16_s, "flops": 1e9, "attainable_s": bf16_s / 40}},
        eval_s=eval_s)
    return SuiteBenchResult("s", "cpu", "cpu", "t", 1, steps=10, warmup=0, max_group=64,
                            precisions=["fp32", "bf16"],
                            groups=[g(4, 100, 2.0, 1.0, {"modes": 1.0, "jsd": 4.0}),
                                    g(2, 50, 1.0, 0.5, {"modes": 0.5, "jsd": 2.0})])


def test_totals_ratio_utilization_and_evaluation_share_from_the_timings():
    t = _result().totals()
    assert t["fp32_run_steps_per_s"] == pytest.approx(6 * 10 / 3.0)
    assert t["bf16_fp32_ratio"] == pytest.approx(2.0)
    # attainable time per timed step over measured time: 1/2 of a step's products ...
    assert t["fp32_utilization"] == pytest.approx((2.0 / 20 + 1.0 / 20) * 10 / 3.0)
    assert t["bf16_utilization"] == pytest.approx((1.0 / 40 + 0.5 / 40) * 10 / 1.5)
    # ... which is achieved / attainable GFLOP/s
    assert t["fp32_utilization"] == pytest.approx(t["fp32_achieved_gflops"]
                                                  / t["fp32_attainable_gflops"])
    assert t["fp32_achieved_gflops"] == pytest.approx(2e9 * 10 / 3.0 / 1e9)
    # wall: training scaled to the iterations (2 s x 100/10 + 1 s x 50/10) + evaluations
    training = 2.0 * 10 + 1.0 * 5
    ev = {"modes": 2 * 1.0 + 2 * 0.5, "jsd": 2 * 4.0 + 2 * 2.0}
    assert t["evaluation_s"] == pytest.approx(ev)
    assert t["estimated_wall_s"] == pytest.approx(training + 15.0)
    assert t["evaluation_share"]["jsd"] == pytest.approx(12.0 / 40.0)
    assert "bf16 / fp32: 2.00x" in _result().render()


def test_evaluations_per_run_count_the_end():
    (r,) = parse_suite({"base": {"training": {"iterations": 45}, "evaluation": {"every": 20}}}).runs
    assert evaluations_per_run(r) == 3  # 20, 40 and the end


def test_bench_suite_json_names_the_figures(tmp_path):
    path = tmp_path / "bp.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    out = subprocess.run([sys.executable, "-c", CLI, "bench", "--suite", str(path), "--steps",
                          "1", "--warmup", "0", "--device", "cpu", "--threads", "1", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    t = json.loads(out.stdout)["totals"]
    ratio = [k for k in t if "bf16" in k and "ratio" in k]
    util = [k for k in t if "utilization" in k]
    assert ratio == ["bf16_fp32_ratio"] and isinstance(t[ratio[0]], float)
    assert sorted(util) == ["bf16_utilization", "fp32_utilization"]
    assert all(0 < t[k] for k in util)
    assert set(t["evaluation_share"]) == {"modes", "hq_fraction"}
    assert 0 < sum(t["evaluation_share"].values()) < 1


def test_bench_refuses_fp16_on_the_cpu_with_exit_2():
    out = subprocess.run([sys.executable, "-c", CLI, "bench", "--members", "1", "--steps", "1",
                          "--device", "cpu", "--precision", "fp16"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "fp16" in out.stderr and "Traceback" not in out.stderr


def test_run_bench_rows_per_precision():
    res = run_bench(members=[1, 2], steps=1, warmup=0, device="cpu",
                    precisions=["fp32", "bf16"], batch_size=8,
                    model={"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1})
    assert [(r.precision, r.members) for r in res.rows] == [
        ("fp32", 1), ("fp32", 2), ("bf16", 1), ("bf16", 2)]
    assert "precision" in res.render()
    assert bench_runs(members=1)[0].config["training"]["precision"] == "fp32"


def test_bench_compiles_when_asked_and_refuses_cudagraphs_on_the_cpu():
    tiny = {"name": "mlp", "latent_dim": 4, "width": 8, "depth": 1}
    res = run_bench(members=[1], steps=1, warmup=0, device="cpu", batch_size=8, model=tiny,
                    compile="eager")
    assert res.setup["compile"] == "compile=eager" and res.rows[0].ensemble_s > 0
    with pytest.raises(ValueError, match="cudagraphs needs a GPU"):
        run_bench(members=[1], steps=1, device="cpu", model=tiny, compile="cudagraphs")
