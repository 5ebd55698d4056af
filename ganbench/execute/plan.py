"""The plan: which runs of a suite train (finished ones are skipped, unverified ones
trained again), in which groups (``grouping``), longest first, and which executor runs them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from ganbench.execute.grouping import group_runs
from ganbench.results import RunDir, inspect_run
from ganbench.suite import RunSpec
from ganbench.train import resolve_device

EXECUTORS = ("auto", "local", "processes", "ray")


# below this much work (cost_estimate units, ~4 s per 1.5e6 on one core) starting worker
# processes (a few seconds each, mostly importing torch) does not pay
PROCESS_MIN_COST = 1e7


def choose_executor(executor: str, device: str, groups: list[list[RunSpec]], jobs: int) -> str:
    """'auto': one single-threaded worker per core on a CPU (tiny GAN networks scale far
    better across processes than across threads: measured 4 ms vs 34 ms per step for a
    3-member ring ensemble with one vs two threads on a busy 2-core machine) when there is
    enough work; in-process on a GPU, where ensembles already fill the device."""
    if executor != "auto":
        return executor
    if (resolve_device(device).type == "cpu" and jobs > 1 and len(groups) > 1
            and sum(map(cost_estimate, groups)) >= PROCESS_MIN_COST):
        return "processes"
    return "local"


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


@dataclass
class Plan:
    todo: list[list[RunSpec]]
    skipped: list[RunSpec]
    # run id -> why a run with results on disk is trained again (they do not verify, or
    # the run failed)
    redo: dict[str, str] = field(default_factory=dict)


def plan(runs: list[RunSpec], root: Path, vectorize: str = "auto", max_group: int = 64) -> Plan:
    """Which runs to train, in which groups. A run is skipped only when its results verify
    (``results.inspect_run``); one whose files do not, or that failed, is trained again
    (resuming from its checkpoint where it has one) and listed in ``redo``."""
    if vectorize not in ("auto", "off"):
        raise ValueError(f"vectorize must be 'auto' or 'off', got {vectorize!r}")
    if max_group < 1:
        raise ValueError("max_group must be >= 1")
    skipped, pending, redo = [], [], {}
    for r in runs:
        c = inspect_run(RunDir(root, r.suite, r.run_id).path)
        if c.finished:
            skipped.append(r)
            continue
        pending.append(r)
        if c.state in ("invalid", "failed"):
            redo[r.run_id] = c.reason if c.state == "invalid" else f"it failed ({c.reason})"
    if vectorize == "off":
        return Plan([[r] for r in pending], skipped, redo)
    todo = group_runs(pending, max_group)
    # longest first, so that parallel workers finish together
    todo.sort(key=cost_estimate, reverse=True)
    return Plan(todo, skipped, redo)


def cost_estimate(group: list[RunSpec]) -> float:
    """Rough relative cost: members x iterations x batch x the loss-and-gradient evaluations
    one iteration of the group's scheme makes (its declared ``cost_per_step``)."""
    cfg = group[0].config
    passes = group[0].create("scheme").cost_per_step().total
    return len(group) * cfg["training"]["iterations"] * cfg["training"]["batch_size"] * passes


def with_checkpoint_every(spec: RunSpec, seconds: float) -> RunSpec:
    """The same run (same id) with another checkpoint interval."""
    config = {**spec.config, "training": {**spec.config["training"],
                                          "checkpoint_every_s": float(seconds)}}
    return replace(spec, config=config)


def run_title(spec: RunSpec) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.labels.items()) or spec.run_id


def group_label(group: list[RunSpec]) -> str:
    """What a group trains: the labels its members share, then each label they mix with
    its values (``ring, objective=nonsaturating|hinge x6``); seeds are counted, not named."""
    keys = list(dict.fromkeys(k for r in group for k in r.labels if k != "seed"))
    parts = []
    for k in keys:
        values = list(dict.fromkeys(r.labels.get(k, "-") for r in group))
        parts.append(values[0] if len(values) == 1 else f"{k}={'|'.join(values)}")
    return f"{', '.join(parts) or group[0].run_id} x{len(group)}"
