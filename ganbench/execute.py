"""Executors: plan the runs of a suite into groups and train them.

Compatible runs (``ganbench.grouping``) form one vectorised ensemble when
``vectorize="auto"``; ``"off"`` trains every run alone. Finished runs are skipped;
interrupted groups resume from their checkpoints.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganbench.grouping import group_runs
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import RunSpec, Suite
from ganbench.train import resolve_device, train_group

EXECUTORS = ("auto", "local", "processes")


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


def plan(runs: list[RunSpec], root: Path, vectorize: str = "auto", max_group: int = 64) -> Plan:
    if vectorize not in ("auto", "off"):
        raise ValueError(f"vectorize must be 'auto' or 'off', got {vectorize!r}")
    if max_group < 1:
        raise ValueError("max_group must be >= 1")
    skipped, pending = [], []
    for r in runs:
        (skipped if RunDir(root, r.suite, r.run_id).is_finished() else pending).append(r)
    if vectorize == "off":
        return Plan([[r] for r in pending], skipped)
    todo = group_runs(pending, max_group)
    # longest first, so that parallel workers finish together
    todo.sort(key=cost_estimate, reverse=True)
    return Plan(todo, skipped)


def cost_estimate(group: list[RunSpec]) -> float:
    """Rough relative cost: members x iterations x batch x the loss-and-gradient evaluations
    one iteration of the group's scheme makes (its declared ``cost_per_step``)."""
    cfg = group[0].config
    passes = group[0].create("scheme").cost_per_step().total
    return len(group) * cfg["training"]["iterations"] * cfg["training"]["batch_size"] * passes


def _train_safe(group: list[RunSpec], root: Path, device: str, progress: bool) -> list[dict]:
    try:
        return train_group(group, root, resolve_device(device), progress=progress)
    except Exception as exc:  # a crash of one group is recorded; the suite goes on
        tb = traceback.format_exc()
        out = []
        for r in group:
            d = RunDir(root, r.suite, r.run_id)
            d.write_spec(r.to_dict())
            summary = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                       "traceback": tb, "metrics": {}, "group": r.group_key()}
            d.write_summary(summary)
            out.append(summary)
        return out


def run_suite(suite: Suite, root: Path, device: str = "auto", vectorize: str = "auto",
              max_group: int = 64, executor: str = "local", jobs: int | None = None,
              progress: bool = True) -> dict[str, Any]:
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    resolve_device(device)  # fail before anything is written
    write_suite_record(suite, root)
    p = plan(suite.runs, root, vectorize, max_group)
    executor = choose_executor(executor, device, p.todo, jobs)
    counts = {"done": 0, "diverged": 0, "failed": 0}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(suite.runs), initial=len(p.skipped), desc=suite.name, unit="run",
                   dynamic_ncols=True)
    if executor == "local" or len(p.todo) <= 1 or jobs == 1:
        for g in p.todo:
            for s in _train_safe(g, root, device, progress):
                counts[s["status"]] += 1
            if bar is not None:
                bar.update(len(g))
    else:
        threads = max(1, default_jobs() // jobs)
        # spawn, not fork: a forked child of a process whose OpenMP pool is running can hang
        ctx = mp.get_context("spawn")
        with cf.ProcessPoolExecutor(min(jobs, len(p.todo)), mp_context=ctx,
                                    initializer=torch.set_num_threads,
                                    initargs=(threads,)) as pool:
            futs = {pool.submit(_train_safe, g, root, device, False): g for g in p.todo}
            left = list(p.todo)
            try:
                for f in cf.as_completed(futs):
                    for s in f.result():
                        counts[s["status"]] += 1
                    left.remove(futs[f])
                    if bar is not None:
                        bar.update(len(futs[f]))
            except BrokenProcessPool:
                # a worker died (out of memory, killed): finish the rest in this process
                for g in left:
                    for s in _train_safe(g, root, device, False):
                        counts[s["status"]] += 1
                    if bar is not None:
                        bar.update(len(g))
    if bar is not None:
        bar.close()
    return {"runs": len(suite.runs), "skipped": len(p.skipped), "groups": len(p.todo), **counts}
