"""Throughput of lazy regularization: training steps per second of one ensemble with a
penalty applied every k critic updates (StyleGAN2's lazy regularization) against every
update and against no penalty, on the headline's networks by default. Measured as ratios
in one process (``ganbench bench --lazy K ...``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ganbench.ci.bench import bench_runs, time_steps
from ganbench.suite import parse_suite
from ganbench.train import build, resolve_device
from ganbench.train.device import device_name
from ganbench.util import textfmt


@dataclass
class LazyResult:
    device: str
    regularizer: str
    members: int
    steps: int
    #: (every, steps/s); every 0 stands for no penalty
    rows: list[tuple[int, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        base = dict(self.rows).get(0)
        body = [["none" if k == 0 else str(k), f"{s:.1f}",
                 f"{s / base:.2f}x" if base else "-"] for k, s in self.rows]
        return "\n".join([f"device: {self.device}; {self.regularizer} on an ensemble of "
                          f"{self.members}, {self.steps} timed steps",
                          textfmt.render(["every", "ensemble steps/s", "/ no penalty"], body,
                                         align="r")])


def lazy_bench(every: list[int], regularizer: str = "r1", weight: float = 1.0,
               members: int = 16, steps: int = 50, warmup: int = 5, device: str = "auto",
               **setup: Any) -> LazyResult:
    """Steps per second with no penalty, then with ``regularizer`` every k updates for each
    k in ``every`` (the runs' configs otherwise those of ``bench_runs``)."""
    if not every or min(every) < 1:
        raise ValueError(f"--lazy: expected intervals >= 1, got {list(every)}")
    dev = resolve_device(device)
    base = bench_runs(members=members, **setup)
    out = LazyResult(device_name(dev), regularizer, members, steps)
    for k in [0, *dict.fromkeys(every)]:
        term = "none" if k == 0 else {"name": regularizer, "weight": weight, "every": k}
        runs = parse_suite({"name": "bench", "base": {**_raw(base[0].config), "regularizer": term},
                            "grid": {"seed": list(range(members))}}, source="<bench>").runs
        out.rows.append((k, steps / time_steps(build(runs, dev), steps, warmup, dev)))
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return out


def _raw(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved run config as suite-file base keys (the seed is the grid's)."""
    return {k: v for k, v in config.items() if k not in ("seed", "regularizer")}
