"""Executors: plan the runs of a suite into groups and train them.

Compatible runs (same config up to ``MEMBER_KEYS``: seed and learning rates) form one
vectorised ensemble when ``vectorize="auto"``; ``"off"`` trains every run alone. Finished
runs are skipped; interrupted groups resume from their checkpoints.
"""

from __future__ import annotations

import concurrent.futures as cf
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganbench.results import RunDir
from ganbench.suite import RunSpec, Suite
from ganbench.train import MEMBER_KEYS, resolve_device, train_group

EXECUTORS = ("local", "processes")


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
    groups: dict[str, list[RunSpec]] = {}
    for r in pending:
        groups.setdefault(r.group_key(MEMBER_KEYS), []).append(r)
    todo = []
    for members in groups.values():
        for i in range(0, len(members), max_group):
            todo.append(members[i:i + max_group])
    return Plan(todo, skipped)


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
                       "traceback": tb, "metrics": {}, "group": r.group_key(MEMBER_KEYS)}
            d.write_summary(summary)
            out.append(summary)
        return out


def run_suite(suite: Suite, root: Path, device: str = "auto", vectorize: str = "auto",
              max_group: int = 64, executor: str = "local", jobs: int = 2,
              progress: bool = True) -> dict[str, Any]:
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    resolve_device(device)  # fail before anything is written
    p = plan(suite.runs, root, vectorize, max_group)
    counts = {"done": 0, "diverged": 0, "failed": 0}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(suite.runs), initial=len(p.skipped), desc=suite.name, unit="run",
                   dynamic_ncols=True)
    if executor == "local" or len(p.todo) <= 1:
        for g in p.todo:
            for s in _train_safe(g, root, device, progress):
                counts[s["status"]] += 1
            if bar is not None:
                bar.update(len(g))
    else:
        threads = max(1, torch.get_num_threads() // jobs)
        with cf.ProcessPoolExecutor(jobs, initializer=torch.set_num_threads,
                                    initargs=(threads,)) as pool:
            futs = {pool.submit(_train_safe, g, root, device, False): g for g in p.todo}
            for f in cf.as_completed(futs):
                for s in f.result():
                    counts[s["status"]] += 1
                if bar is not None:
                    bar.update(len(futs[f]))
    if bar is not None:
        bar.close()
    return {"runs": len(suite.runs), "skipped": len(p.skipped), "groups": len(p.todo), **counts}
