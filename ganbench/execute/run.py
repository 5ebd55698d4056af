"""Running a suite: checks before anything is written, the folder's lock, the suite record,
the plan, then the executor (local, processes or Ray), with progress; a stop raises
Interrupted with the counts of what was kept."""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

from ganbench.execute import inprocess
from ganbench.execute.local import run_local
from ganbench.execute.plan import (
    EXECUTORS,
    choose_executor,
    default_jobs,
    plan,
    run_title,
    with_checkpoint_every,
)
from ganbench.execute.processes import run_processes
from ganbench.execute.progress import Progress, resolve_mode
from ganbench.results import RunDir, remove_stale_temporaries, write_suite_record
from ganbench.suite import Suite
from ganbench.train import resolve_device
from ganbench.train.precision import check_compile, check_precisions
from ganbench.util import warn
from ganbench.util.containment import check_name, refuse_links
from ganbench.util.lock import suite_lock


class Interrupted(Exception):
    """``run_suite`` stopped on a signal: finished runs are kept, unfinished ones keep their
    checkpoint (if any) and resume on the next run. ``outcome`` is run_suite's count."""

    def __init__(self, signum: int, outcome: dict[str, Any]):
        self.signum = signum
        self.outcome = outcome
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    def explain(self, resume: str) -> str:
        """What was kept, what was not, and the command that resumes."""
        o = self.outcome
        kept = o["skipped"] + o["done"] + o["diverged"] + o["failed"]
        left, ckpt = o.get("unfinished", 0), o.get("checkpointed", 0)
        how = ("all resume from a checkpoint" if ckpt == left else
               "none has a checkpoint: they start over" if not ckpt else
               f"{ckpt} resume from a checkpoint, the rest start over")
        return (f"{self}: {kept} of {o['runs']} runs finished and kept; {left} unfinished "
                f"({how})\nresume with: {resume}")


def run_suite(suite: Suite, root: Path, device: str = "auto", vectorize: str = "auto",
              max_group: int = 64, executor: str = "local", jobs: int | None = None,
              progress: bool | str = True, wait: bool = False,
              checkpoint_every_s: float | None = None,
              address: str | None = None) -> dict[str, Any]:
    """Train every unfinished run of ``suite`` under ``root``; returns the counts.

    ``progress``: 'auto' (True): bars on a terminal, else status lines; 'bars', 'lines', or
    'off' (False). Raises Interrupted on SIGINT / SIGTERM (in the main thread), after
    stopping every group as described in the module docstring.

    The suite's folder is locked while it runs (``ganbench.util.lock``): another run on it
    raises LockedError, or with ``wait`` is waited for. ``checkpoint_every_s`` replaces the
    suite's ``training.checkpoint_every_s`` (not part of run ids). ``address``: the Ray
    cluster of the ray executor (``ganbench.execute.ray``)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")
    jobs = default_jobs() if jobs is None else jobs  # 0 is an error below, not the default
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    # what plan() would refuse, refused before the lock and the suite record are written
    if not isinstance(max_group, int) or max_group < 1:
        raise ValueError(f"the largest ensemble (max_group) must be >= 1, got {max_group}")
    if vectorize not in ("auto", "off"):
        raise ValueError(f"vectorize must be 'auto' or 'off', got {vectorize!r}")
    if checkpoint_every_s is not None and not 0 <= checkpoint_every_s < math.inf:
        raise ValueError(f"the checkpoint interval must be >= 0 seconds, got {checkpoint_every_s}")
    mode = resolve_mode(progress)
    # every check before anything is written: the device, and that the suite's folder is
    # a plain folder below the root
    if executor != "ray":  # a Ray cluster's devices are checked when it is joined, below
        for text in check_precisions({r.config["training"].get("precision", "fp32")
                                      for r in suite.runs}, resolve_device(device)):
            warn(text)
        check_compile([r.config for r in suite.runs], resolve_device(device))
    check_name(suite.name, f"{suite.source}: suite name")
    refuse_links(Path(root), suite.name)
    cluster = _join_ray(executor, address, device)
    try:
        with suite_lock(Path(root) / suite.name, wait=wait):
            return _run_locked(suite, Path(root), device, vectorize, max_group, executor, jobs,
                               mode, checkpoint_every_s, cluster)
    finally:
        if cluster is not None:
            cluster.close()


def _join_ray(executor: str, address: str | None, device: str) -> Any:
    """The ray executor's cluster (``execute.ray.Cluster``), else None. Ray is imported
    only here: it is an optional extra."""
    if executor != "ray":
        if address is not None:
            raise ValueError("a cluster address (--address) is for the ray executor "
                             "(--executor ray)")
        return None
    from ganbench.execute.ray import connect

    return connect(address, device)


def _run_locked(suite: Suite, root: Path, device: str, vectorize: str, max_group: int,
                executor: str, jobs: int, mode: str,
                checkpoint_every_s: float | None, cluster: Any = None) -> dict[str, Any]:
    stale = remove_stale_temporaries(root / suite.name)
    if stale:
        warn(f"removed {len(stale)} temporary file(s) left by writes that were killed "
              f"midway under {root / suite.name}")
    write_suite_record(suite, root)
    runs = suite.runs if checkpoint_every_s is None else \
        [with_checkpoint_every(r, checkpoint_every_s) for r in suite.runs]
    p = plan(runs, root, vectorize, max_group)
    for r in runs:
        if r.run_id in p.redo:
            warn(f"{suite.name}/{r.run_id} ({run_title(r)}): {p.redo[r.run_id]}; "
                  "training it again")
    executor = choose_executor(executor, device, p.todo, jobs)
    out = {"runs": len(suite.runs), "skipped": len(p.skipped), "groups": len(p.todo),
           "done": 0, "diverged": 0, "failed": 0}
    finished: set[int] = set()
    bar = Progress(suite.name, len(suite.runs), len(p.skipped),
                   {gi: (len(g), g[0].config["training"]["iterations"])
                    for gi, g in enumerate(p.todo)}, mode=mode)

    def ended(gi: int, summaries: list[dict]) -> None:
        for s in summaries:
            out[s["status"]] += 1
            if s["status"] == "failed" and isinstance(s.get("errno"), int):
                out.setdefault("os_errors", []).append((s["errno"], s.get("error", "")))
        finished.add(gi)
        bar.end_group(gi, [s["status"] for s in summaries])

    inprocess.STOP.reset()
    try:
        with inprocess.stop_signals():
            if p.todo:
                bar.tick()
            local = list(range(len(p.todo)))
            if cluster is not None:
                from ganbench.execute.ray import run_ray

                run_ray(p.todo, root, cluster, bar, ended)
                local = []
            elif executor != "local" and len(p.todo) > 1 and jobs > 1:
                local = run_processes(p.todo, root, device, jobs, bar, ended)
            if not inprocess.STOP.requested:
                run_local(p.todo, local, root, device, bar, ended)
    finally:
        bar.close()
    if inprocess.STOP.requested:
        left = [r for gi, g in enumerate(p.todo) if gi not in finished for r in g]
        out["unfinished"] = len(left)
        out["checkpointed"] = sum(RunDir(root, r.suite, r.run_id).checkpoint_path.is_file()
                                  for r in left)
        raise Interrupted(inprocess.STOP.signum or signal.SIGINT, out)
    return out
