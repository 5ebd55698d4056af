"""Whole-suite throughput against the machine's own limit, in one process on one device.

``ganbench bench --suite SUITE --steps N`` builds every ensemble the executor would train
(``ganbench.execute.grouping``) and, per group:

* times N training steps (after a warm-up) in each precision asked for (default fp32 and
  bf16), and every run alone in the first one: the suite's run-steps per second grouped
  and one by one, their ratio, and the bf16 / fp32 ratio;
* counts one step's FLOPs (torch's formulas, ``ganbench.ci.flops``) and times each of its
  matrix products alone at the step's own shapes and dtypes: achieved GFLOP/s, attainable
  GFLOP/s and utilisation (achieved / attainable) per precision;
* times one evaluation of every metric (on the group's freshly built generator, in a
  temporary folder) and scales it by the runs' number of evaluations: each metric's share
  of the suite's estimated wall time (training in the first precision plus evaluation).

Each group's step time is scaled by its runs' iterations / N, which estimates the suite's
training time. Utilisation and the ratios are the figures of merit: absolute rates depend
on what else the machine runs.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganbench.ci.bench import time_steps, with_precision
from ganbench.ci.flops import step_cost
from ganbench.execute.grouping import group_runs
from ganbench.suite import RunSpec, Suite
from ganbench.train import build, device_name, resolve_device
from ganbench.train.precision import PRECISIONS, native_bf16


@dataclass
class GroupTiming:
    labels: str
    members: int
    iterations: int
    grouped_s: float              # the timed steps, grouped, in the first precision
    alone_s: float                # the same steps of each run alone, summed
    evaluations: int = 0          # evaluations per run
    by_precision: dict[str, dict[str, float]] = field(default_factory=dict)
    eval_s: dict[str, float] = field(default_factory=dict)  # metric -> s per evaluation


@dataclass
class SuiteBenchResult:
    suite: str
    device: str
    device_name: str
    torch: str
    threads: int
    steps: int
    warmup: int
    max_group: int
    precisions: list[str] = field(default_factory=lambda: ["fp32"])
    native_bf16: bool = False
    groups: list[GroupTiming] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(g.members for g in self.groups)

    def totals(self) -> dict[str, Any]:
        grouped = sum(g.grouped_s for g in self.groups)
        alone = sum(g.alone_s for g in self.groups)
        scale = lambda attr: sum(getattr(g, attr) * g.iterations / self.steps  # noqa: E731
                                 for g in self.groups)
        out: dict[str, Any] = {
            "runs": self.runs, "groups": len(self.groups),
            "grouped_run_steps_per_s": self.runs * self.steps / grouped,
            "alone_run_steps_per_s": self.runs * self.steps / alone,
            "speedup": alone / grouped,
            "estimated_training_s_grouped": scale("grouped_s"),
            "estimated_training_s_alone": scale("alone_s")}
        for p in self.precisions:
            t = [g.by_precision[p] for g in self.groups]
            step_s = sum(x["s"] for x in t)
            flops = sum(x["flops"] for x in t) * self.steps
            gemm_s = sum(x["attainable_s"] for x in t) * self.steps
            out[f"{p}_run_steps_per_s"] = self.runs * self.steps / step_s
            out[f"{p}_estimated_training_s"] = sum(
                x["s"] * g.iterations / self.steps for x, g in zip(t, self.groups))
            out[f"{p}_achieved_gflops"] = flops / step_s / 1e9
            out[f"{p}_attainable_gflops"] = flops / gemm_s / 1e9 if gemm_s > 0 else None
            out[f"{p}_utilization"] = gemm_s / step_s
        if "fp32" in self.precisions and "bf16" in self.precisions:
            out["bf16_fp32_ratio"] = out["bf16_run_steps_per_s"] / out["fp32_run_steps_per_s"]
        if any(g.eval_s for g in self.groups):
            ev: dict[str, float] = {}
            for g in self.groups:
                for m, s in g.eval_s.items():
                    ev[m] = ev.get(m, 0.0) + s * g.evaluations
            wall = out[f"{self.precisions[0]}_estimated_training_s"] + sum(ev.values())
            out["evaluation_s"] = ev
            out["estimated_wall_s"] = wall
            out["evaluation_share"] = {m: s / wall for m, s in ev.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals()}

    def render(self) -> str:
        t = self.totals()
        first = self.precisions[0]
        lines = [
            f"suite {self.suite}: {t['runs']} runs in {t['groups']} ensembles (max "
            f"{self.max_group} members); device: {self.device_name}; torch {self.torch}",
            f"{self.steps} timed steps per ensemble and per run after {self.warmup} warm-up "
            "steps",
            f"grouped ({first}):  {t['grouped_run_steps_per_s']:.1f} run-steps/s "
            f"(training the whole suite: ~{t['estimated_training_s_grouped']:.0f} s)",
            f"one by one: {t['alone_run_steps_per_s']:.1f} run-steps/s "
            f"(~{t['estimated_training_s_alone']:.0f} s)",
            f"grouped / one by one: {t['speedup']:.2f}x (training only, one process)"]
        for p in self.precisions:
            att = t[f"{p}_attainable_gflops"]
            lines.append(
                f"{p}: {t[f'{p}_run_steps_per_s']:.1f} run-steps/s; "
                f"{t[f'{p}_achieved_gflops']:.1f} GFLOP/s achieved of "
                f"{att:.1f} attainable at the step's shapes: utilization "
                f"{t[f'{p}_utilization']:.2f}" if att else f"{p}: no matrix products counted")
        if "bf16_fp32_ratio" in t:
            native = "" if self.native_bf16 else " (no native bf16 here: emulated)"
            lines.append(f"bf16 / fp32: {t['bf16_fp32_ratio']:.2f}x run-steps/s{native}")
        if "evaluation_share" in t:
            shares = ", ".join(f"{m} {s:.1%}" for m, s in sorted(
                t["evaluation_share"].items(), key=lambda kv: -kv[1]))
            lines.append(f"evaluation: ~{sum(t['evaluation_s'].values()):.0f} s of "
                         f"~{t['estimated_wall_s']:.0f} s wall ({first}); per metric: {shares}")
        lines.append("FLOPs: torch.utils.flop_counter formulas (matrix products and "
                     "convolutions, forward and backward); attainable: each product of a step "
                     "timed alone at its shapes; utilization = achieved / attainable")
        return "\n".join(lines)


def evaluation_seconds(group: list[RunSpec], device: torch.device) -> dict[str, float]:
    """Seconds of one evaluation of each metric for the whole group (trainer's own path),
    measured in a temporary folder on the freshly built group."""
    from ganbench.train import evaluate, setup

    with tempfile.TemporaryDirectory(prefix="ganbench-bench-") as tmp:
        session = setup(group, Path(tmp), device, allow_resume=False)
        losses = session.built.step()
        evaluate(session, losses)
        t = session.timings
        names = list(session.built.metrics)
        return {m: sum(ti.get(f"eval_{m}_s", 0.0) for ti in t) for m in names}


def evaluations_per_run(spec: RunSpec) -> int:
    it, every = spec.config["training"]["iterations"], spec.config["evaluation"]["every"]
    return it // every + (1 if it % every else 0)


def bench_suite(suite: Suite, steps: int = 20, warmup: int = 3, device: str = "auto",
                max_group: int = 64, precisions: list[str] | tuple[str, ...] = ("fp32",),
                evaluation: bool = False, compile: bool | str | None = None
                ) -> SuiteBenchResult:
    if steps < 1 or warmup < 0:
        raise ValueError(f"expected --steps >= 1 and --warmup >= 0, got {steps} and {warmup}")
    precisions = list(dict.fromkeys(precisions))
    bad = [p for p in precisions if p not in PRECISIONS]
    if not precisions or bad:
        raise ValueError(f"--precision: expected some of {', '.join(PRECISIONS)}, got "
                         f"{', '.join(map(repr, bad)) or 'none'}")
    dev = resolve_device(device)
    from ganbench.train.precision import check_compile, check_precisions

    check_precisions(precisions, dev)  # refuses what the device cannot run
    check_compile([with_precision(r, "fp32", compile).config for r in suite.runs], dev)
    result = SuiteBenchResult(suite=suite.name, device=str(dev), device_name=device_name(dev),
                              torch=torch.__version__, threads=torch.get_num_threads(),
                              steps=steps, warmup=warmup, max_group=max_group,
                              precisions=precisions, native_bf16=native_bf16(dev))
    for group in group_runs(suite.runs, max_group):
        by: dict[str, dict[str, float]] = {}
        for p in precisions:
            runs = [with_precision(r, p, compile) for r in group]
            built = build(runs, dev)
            s = time_steps(built, steps, warmup, dev)
            cost = step_cost(built, dev)
            by[p] = {"s": s, "flops": cost.flops, "attainable_s": cost.attainable_s,
                     "step_s": s / steps, "products": cost.calls, "shapes": cost.shapes}
        first = [with_precision(r, precisions[0], compile) for r in group]
        alone = sum(time_steps(build([r], dev), steps, warmup, dev) for r in first)
        labels = ", ".join(sorted({f"{k}={v}" for r in group for k, v in r.labels.items()
                                   if k not in ("seed",)}))[:120]
        result.groups.append(GroupTiming(
            labels, len(group), group[0].config["training"]["iterations"],
            by[precisions[0]]["s"], alone, evaluations_per_run(group[0]), by,
            evaluation_seconds(first, dev) if evaluation else {}))
    return result


def profile_largest_group(suite: Suite, result: SuiteBenchResult, steps: int) -> str:
    """Per-op profiles of the suite's largest ensemble, in each precision of ``result``."""
    from ganbench.ci.flops import profile_steps

    dev = torch.device(result.device)
    group = max(group_runs(suite.runs, result.max_group), key=len)
    out = []
    for p in result.precisions:
        built = build([with_precision(r, p) for r in group], dev)
        out.append(f"profile: {len(group)} members, {steps} steps, {p}\n"
                   + profile_steps(built, steps))
    return "\n".join(out)
