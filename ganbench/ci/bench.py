"""Training throughput, and the vectorised ensemble against one run after another.

For each ensemble size E, in one process and on one device:

* the plain loop trains E separate groups of one run, one after another, and
* the ensemble trains one group of E runs (every parameter carries the member axis),

each for the same number of timed steps after a warm-up. The figure of merit is the
aggregate run-steps per second (E x steps / time) and the ratio ensemble / loop. Only
``Built.step()`` (the game's step in the runs' precision) is timed (no evaluation, no
divergence bookkeeping); CUDA is synchronised before the clock is read.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import yaml

from ganbench.suite import RunSpec, label, parse_suite
from ganbench.suite.shipped import shipped
from ganbench.train import build, device_name, resolve_device
from ganbench.util import textfmt

DEFAULT_BATCH = 256
HEADLINE = "mode_collapse"  # the shipped suite whose networks bench measures by default
HEADLINE_SUITE: Path | None = shipped("suites").get(HEADLINE)


def headline_setup() -> tuple[Any, int]:
    """(model, batch size) of the shipped headline suite. Without it (an install that does
    not ship it) this is an error, never a silent fallback to other settings."""
    if HEADLINE_SUITE is None or not HEADLINE_SUITE.is_file():
        raise FileNotFoundError(
            f"ganbench bench measures the model and batch size of the shipped suite "
            f"{HEADLINE!r} by default, and this install has no {HEADLINE}.yaml"
            f"{f' (looked for {HEADLINE_SUITE})' if HEADLINE_SUITE else ''}; give --model "
            "and --batch-size, or --suite FILE")
    base = (yaml.safe_load(HEADLINE_SUITE.read_text()) or {}).get("base") or {}
    return base.get("model", "mlp"), (base.get("training") or {}).get("batch_size",
                                                                      DEFAULT_BATCH)


def setup_source(model: Any, batch_size: int | None) -> str:
    """Where bench's networks and batch come from, for its output."""
    if model is not None and batch_size is not None:
        return "as given (--model, --batch-size)"
    return f"suite {HEADLINE} ({HEADLINE_SUITE})" + (
        "" if model is None and batch_size is None else
        "; --model as given" if model is not None else "; --batch-size as given")


@dataclass
class BenchRow:
    members: int
    steps: int
    loop_s: float
    ensemble_s: float
    loop_run_steps_per_s: float
    ensemble_steps_per_s: float
    ensemble_run_steps_per_s: float
    ensemble_samples_per_s: float
    speedup: float
    peak_memory_bytes: int | None = None
    precision: str = "fp32"


@dataclass
class BenchResult:
    device: str
    device_name: str
    torch: str
    threads: int
    setup: dict[str, str]
    batch_size: int
    steps: int
    warmup: int
    rows: list[BenchRow] = field(default_factory=list)
    source: str = ""  # the suite the model and batch size come from

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        head = ["members", "loop run-steps/s", "ensemble steps/s", "ensemble run-steps/s",
                "ensemble samples/s", "ensemble / loop"]
        body = [[str(r.members), f"{r.loop_run_steps_per_s:.1f}", f"{r.ensemble_steps_per_s:.1f}",
                 f"{r.ensemble_run_steps_per_s:.1f}", f"{r.ensemble_samples_per_s:.3g}",
                 f"{r.speedup:.2f}x"] for r in self.rows]
        if len({r.precision for r in self.rows}) > 1:
            head.insert(0, "precision")
            for b, r in zip(body, self.rows):
                b.insert(0, r.precision)
        if any(r.peak_memory_bytes for r in self.rows):
            head.append("peak MiB")
            for b, r in zip(body, self.rows):
                b.append(f"{(r.peak_memory_bytes or 0) / 2**20:.0f}")
        setup = " / ".join(self.setup.values())
        lines = [f"device: {self.device_name}; torch {self.torch}",
                 f"setup: {setup}; batch {self.batch_size}; {self.steps} timed steps after "
                 f"{self.warmup} warm-up steps"
                 + (f"; model and batch from {self.source}" if self.source else ""),
                 textfmt.render(head, body, align="r"),
                 "loop: E groups of 1 trained one after another; ensemble: one group of E. "
                 "run-steps/s = E x steps / time; samples/s = run-steps/s x batch"]
        return "\n".join(lines)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(built, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds for ``steps`` training steps of a built group, after ``warmup`` steps."""
    for _ in range(warmup):
        built.step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        built.step()
    _sync(device)
    return time.perf_counter() - t0


def with_precision(spec: RunSpec, precision: str, compile: bool | str | None = None
                   ) -> RunSpec:
    """The run in another ``training.precision`` (and ``training.compile`` when given)."""
    training = {**spec.config["training"], "precision": precision}
    if compile is not None:
        training["compile"] = compile
    return replace(spec, config={**spec.config, "training": training})


def bench_runs(dataset: Any = "ring", model: Any = None, objective: Any = "nonsaturating",
               scheme: Any = "alternating", members: int = 1, batch_size: int | None = None):
    """Validated RunSpecs for seeds 0..members-1 of one setup (through the suite schema)."""
    d_model, d_batch = headline_setup() if model is None or batch_size is None else (None, None)
    raw = {"name": "bench",
           "base": {"dataset": dataset, "model": model or d_model, "objective": objective,
                    "scheme": scheme, "training": {"batch_size": batch_size or d_batch},
                    "evaluation": {"metrics": []}},
           "grid": {"seed": list(range(members))}}
    return parse_suite(raw, source="<bench>").runs


def run_bench(dataset: Any = "ring", model: Any = None, objective: Any = "nonsaturating",
              scheme: Any = "alternating", members: list[int] | tuple[int, ...] = (1, 4, 16, 64),
              steps: int = 50, warmup: int = 5, batch_size: int | None = None,
              device: str = "auto", precisions: list[str] | tuple[str, ...] = ("fp32",),
              compile: bool | str | None = None) -> BenchResult:
    if not members or min(members) < 1:
        raise ValueError(f"--members: expected ensemble sizes >= 1, got {list(members)}")
    if steps < 1 or warmup < 0:
        raise ValueError(f"expected --steps >= 1 and --warmup >= 0, got {steps} and {warmup}")
    dev = resolve_device(device)
    from ganbench.train.precision import check_compile, check_precisions

    check_precisions(precisions, dev)  # refuses what the device cannot run
    runs = [with_precision(r, "fp32", compile) for r in
            bench_runs(dataset, model, objective, scheme, max(members), batch_size)]
    check_compile([r.config for r in runs], dev)
    cfg = runs[0].config
    given = {"dataset": dataset, "model": model or headline_setup()[0], "objective": objective,
             "scheme": scheme}
    result = BenchResult(
        device=str(dev), device_name=device_name(dev), torch=torch.__version__,
        threads=torch.get_num_threads(),
        setup={k: label(v) for k, v in given.items()},
        batch_size=cfg["training"]["batch_size"], steps=steps, warmup=warmup,
        source=setup_source(model, batch_size))
    if compile is not None:
        result.setup["compile"] = f"compile={compile}"
    for p, E in ((p, E) for p in dict.fromkeys(precisions) for E in members):
        runs_p = [with_precision(r, p) for r in runs]  # compile kept from runs
        loop_s = 0.0
        for spec in runs_p[:E]:  # E separate groups of one, one after another
            loop_s += time_steps(build([spec], dev), steps, warmup, dev)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        ens_s = time_steps(build(runs_p[:E], dev), steps, warmup, dev)
        peak = torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else None
        run_steps = E * steps
        result.rows.append(BenchRow(
            members=E, steps=steps, loop_s=loop_s, ensemble_s=ens_s,
            loop_run_steps_per_s=run_steps / loop_s, ensemble_steps_per_s=steps / ens_s,
            ensemble_run_steps_per_s=run_steps / ens_s,
            ensemble_samples_per_s=run_steps * result.batch_size / ens_s,
            speedup=loop_s / ens_s, peak_memory_bytes=peak, precision=p))
    return result
