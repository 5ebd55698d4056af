"""Whole-suite throughput: a suite's ensembles against its runs one at a time.

``ganbench bench --suite SUITE --steps N`` builds every ensemble the executor would train
(``ganbench.execute.grouping``) and every run alone, times N training steps of each after a
warm-up, in one process on one device, and reports the suite's run-steps per second both
ways and their ratio. Each group's time is also scaled by its runs' iterations / N, which
estimates the suite's whole training time (evaluation excluded) both ways.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ganbench.ci.bench import time_steps
from ganbench.execute.grouping import group_runs
from ganbench.suite import Suite
from ganbench.train import build, device_name, resolve_device


@dataclass
class GroupTiming:
    labels: str
    members: int
    iterations: int
    grouped_s: float
    alone_s: float


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
    groups: list[GroupTiming] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(g.members for g in self.groups)

    def totals(self) -> dict[str, float]:
        grouped = sum(g.grouped_s for g in self.groups)
        alone = sum(g.alone_s for g in self.groups)
        scale = lambda attr: sum(getattr(g, attr) * g.iterations / self.steps  # noqa: E731
                                 for g in self.groups)
        return {"runs": self.runs, "groups": len(self.groups),
                "grouped_run_steps_per_s": self.runs * self.steps / grouped,
                "alone_run_steps_per_s": self.runs * self.steps / alone,
                "speedup": alone / grouped,
                "estimated_training_s_grouped": scale("grouped_s"),
                "estimated_training_s_alone": scale("alone_s")}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "totals": self.totals()}

    def render(self) -> str:
        t = self.totals()
        return "\n".join([
            f"suite {self.suite}: {t['runs']} runs in {t['groups']} ensembles (max "
            f"{self.max_group} members); device: {self.device_name}; torch {self.torch}",
            f"{self.steps} timed steps per ensemble and per run after {self.warmup} warm-up steps",
            f"grouped:  {t['grouped_run_steps_per_s']:.1f} run-steps/s "
            f"(training the whole suite: ~{t['estimated_training_s_grouped']:.0f} s)",
            f"one by one: {t['alone_run_steps_per_s']:.1f} run-steps/s "
            f"(~{t['estimated_training_s_alone']:.0f} s)",
            f"grouped / one by one: {t['speedup']:.2f}x (training only, one process)"])


def bench_suite(suite: Suite, steps: int = 20, warmup: int = 3, device: str = "auto",
                max_group: int = 64) -> SuiteBenchResult:
    if steps < 1 or warmup < 0:
        raise ValueError(f"expected --steps >= 1 and --warmup >= 0, got {steps} and {warmup}")
    dev = resolve_device(device)
    result = SuiteBenchResult(suite=suite.name, device=str(dev), device_name=device_name(dev),
                              torch=torch.__version__, threads=torch.get_num_threads(),
                              steps=steps, warmup=warmup, max_group=max_group)
    for group in group_runs(suite.runs, max_group):
        grouped = time_steps(build(group, dev), steps, warmup, dev)
        alone = sum(time_steps(build([r], dev), steps, warmup, dev) for r in group)
        labels = ", ".join(sorted({f"{k}={v}" for r in group for k, v in r.labels.items()
                                   if k not in ("seed",)}))[:120]
        result.groups.append(GroupTiming(labels, len(group),
                                         group[0].config["training"]["iterations"],
                                         grouped, alone))
    return result
