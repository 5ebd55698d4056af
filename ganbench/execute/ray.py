"""The Ray executor: each group (ensemble) of a suite is one Ray task on a cluster.

    ganbench run SUITE --executor ray [--address auto|HOST:PORT]

Without ``--address`` Ray starts on this machine alone; ``auto`` joins the cluster this node
belongs to (``ray start``); ``HOST:PORT`` joins the cluster whose head listens there. Ray is
an optional extra (``pip install "ganbench[ray]"``) imported only here, only when asked for.

Resources: a task asks for one CPU (one torch thread, as the processes executor's workers)
and, on a cluster with GPUs, a share of one GPU in proportion to its group's work per step
(``gpu_share``), so that small ensembles share a GPU.

Results: tasks write them, into the results folder, which must be on a filesystem every node
sees at the same path. Why not return summaries to the driver for it to write: a task also
writes metrics at every evaluation, samples and, above all, checkpoints; a task whose worker
died is retried (``MAX_RETRIES``) on whichever node Ray picks, and it can resume only from
checkpoints that node can read. Shared storage is thus needed anyway, and the trainer's own
atomic writes (temporary file, then rename in the same folder) keep every file whole there.
A task refuses to train when it cannot see the suite record the driver wrote (a folder that
is not shared). A retried task trains only its runs not yet finished, so none is written
twice, and resumes from their checkpoints. A driver that dies takes its tasks with it (Ray
ends a job's workers when its driver goes), so the folder's lock keeps one writer.

Progress: tasks publish their step count to a small actor (the board) at most every
REPORT_EVERY_S; the driver reads it and feeds ``ganbench.execute.progress`` as the other executors do.
The board is a named actor (``BOARD_PREFIX`` + suite + an id), so a running suite's progress
can be read from elsewhere on the cluster.

Stopping: on the first SIGINT / SIGTERM the driver raises the board's stop flag; a task
stops at its next step boundary, checkpoints there and returns. Queued tasks are cancelled;
tasks still busy after STOP_DEADLINE_S (a long evaluation) are cancelled by force and keep
their last checkpoint. ``run_suite`` then raises Interrupted, as with the local executors.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganbench.execute import inprocess
from ganbench.execute.inprocess import POLL_S, STOP_DEADLINE_S, record_failure, run_group
from ganbench.execute.plan import cost_estimate, group_label
from ganbench.execute.progress import Progress
from ganbench.results import SUITE_RECORD, RunDir
from ganbench.suite import RunSpec

MAX_RETRIES = 3  # a task whose worker or node dies is run again this many times
BOARD_PREFIX = "ganbench-progress:"
# work per step (members x batch x loss-and-gradient passes) that keeps one GPU busy; a group
# asks for that fraction of a GPU, in steps of 1/GPU_SHARES (a rough guide, not measured)
GPU_FULL_STEP = 2 ** 16
GPU_SHARES = 8


class WorkerLost(RuntimeError):
    """A group's task lost its worker more often than it is retried."""


class ClusterError(ValueError):
    """The cluster cannot run the suite as set up (no Ray, no cluster at the address, no GPU
    for device cuda, a results folder the workers cannot see): bad input, exit code 2."""


def gpu_share(group: list[RunSpec]) -> float:
    """The fraction of one GPU a group asks for: its work per step over GPU_FULL_STEP,
    rounded up to a multiple of 1/GPU_SHARES, at most one GPU."""
    per_step = cost_estimate(group) / group[0].config["training"]["iterations"]
    shares = max(1, math.ceil(GPU_SHARES * per_step / GPU_FULL_STEP))
    return min(GPU_SHARES, shares) / GPU_SHARES


# --- the connection -----------------------------------------------------------------------


@dataclass
class Cluster:
    ray: Any  # the ray module
    device: str  # where tasks train: 'cuda' (the cluster has GPUs) or 'cpu'
    owned: bool  # connected by us (else by the caller): we disconnect at the end

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()


def connect(address: str | None, device: str) -> Cluster:
    """Join (or, without an address, start) a Ray cluster and decide where tasks train;
    fails with a ClusterError before anything is written."""
    try:
        import ray
    except ModuleNotFoundError:
        raise ClusterError('the ray executor needs Ray, an optional extra: '
                           'pip install "ganbench[ray]"') from None
    if device not in ("auto", "cpu", "cuda"):
        raise ClusterError(f"device must be auto, cpu or cuda with the ray executor (each task "
                           f"is given its own GPUs), got {device!r}")
    owned = not ray.is_initialized()
    if owned:
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
        if address is None:
            kwargs["include_dashboard"] = False  # a local cluster for this run alone
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = "here" if address is None else f"at {address}"
            raise ClusterError(f"no Ray cluster could be joined {where} (start one with "
                               "`ray start --head`; with token authentication, an address "
                               f"needs RAY_AUTH_MODE=token and the token): {exc}") from None
    gpus = ray.cluster_resources().get("GPU", 0)
    if device == "cuda" and not gpus:
        if owned:
            ray.shutdown()
        raise ClusterError("device 'cuda' was asked for but the Ray cluster has no GPUs")
    return Cluster(ray, "cuda" if gpus and device != "cpu" else "cpu", owned)


# --- in a Ray worker ------------------------------------------------------------------------


class Board:
    """The driver's actor: the latest (pid, attempt, steps) of each group's task, and the
    stop flag. Tasks publish; the driver reads."""

    def __init__(self):
        self.stop = False
        self.groups: dict[int, tuple[int, str, int]] = {}

    def publish(self, gi: int, pid: int, attempt: str, step: int) -> bool:
        self.groups[gi] = (pid, attempt, step)
        return self.stop

    def snapshot(self) -> dict[int, tuple[int, str, int]]:
        return self.groups

    def request_stop(self) -> None:
        self.stop = True


class _BoardLink:
    """A task's line to the board. ``value`` is whether a stop was asked for, read by the
    trainer's reporter at every step (as the processes executor's shared flag)."""

    def __init__(self, ray: Any, board: Any, gi: int):
        self.ray, self.board, self.gi = ray, board, gi
        self.attempt = uuid.uuid4().hex  # a retried task is a new attempt
        self.value = False

    def publish(self, step: int) -> None:
        try:
            self.value = self.ray.get(self.board.publish.remote(self.gi, os.getpid(),
                                                                 self.attempt, step))
        except self.ray.exceptions.RayError:
            pass  # the board is gone (the driver is ending): training is not its business


def train_task(gi: int, group: list[RunSpec], root: str, device: str, threads: int,
               board: Any) -> tuple[str, list[dict] | None]:
    """One group, in a Ray worker: ('finished', a summary per member) or ('stopped', None).
    Members finished by an earlier attempt are not trained again."""
    import ray

    path = Path(root)
    record = path / group[0].suite / SUITE_RECORD
    if not record.is_file():
        raise ClusterError(f"{record} is not visible on node {ray.util.get_node_ip_address()}: "
                           "the results folder must be on a filesystem every node of the "
                           "cluster sees at the same path")
    torch.set_num_threads(threads)
    inprocess.STOP.reset()  # a worker process runs many tasks
    link = _BoardLink(ray, board, gi)
    inprocess.STOP.shared = link
    try:
        link.publish(-1)  # started; steps unknown until the trainer counts them
        if link.value:
            return "stopped", None
        dirs = {r.run_id: RunDir(path, r.suite, r.run_id) for r in group}
        todo = [r for r in group if not dirs[r.run_id].is_finished()]
        new: dict[str, dict] = {}
        if todo:
            state, summaries = run_group(todo, path, device, link.publish)
            if state == "stopped" or summaries is None:
                return "stopped", None
            new = {r.run_id: s for r, s in zip(todo, summaries)}
        return "finished", [new.get(r.run_id) or dirs[r.run_id].read_summary() for r in group]
    finally:
        inprocess.STOP.shared = None


# --- the driver ---------------------------------------------------------------------------


def run_ray(todo: list[list[RunSpec]], root: Path, cluster: Cluster, bar: Progress,
            ended: Callable[[int, list[dict]], None], threads: int = 1) -> None:
    """Train every group of ``todo`` as a Ray task; ``ended(gi, summaries)`` as each
    finishes. Returns when all have, or once stopped (``inprocess.STOP.requested``)."""
    if not todo:
        return
    ray = cluster.ray
    root = root.resolve()  # tasks run elsewhere, in other working directories
    name = f"{BOARD_PREFIX}{todo[0][0].suite}:{uuid.uuid4().hex[:8]}"
    here = ray.get_runtime_context().get_node_id()
    board = ray.remote(Board).options(
        name=name, num_cpus=0, max_restarts=0,
        scheduling_strategy=ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
            here, soft=True)).remote()
    task = ray.remote(train_task)
    refs: dict[Any, int] = {}
    for gi, g in enumerate(todo):
        gpus = gpu_share(g) if cluster.device == "cuda" else 0
        ref = task.options(name=f"ganbench {group_label(g)}", num_cpus=threads, num_gpus=gpus,
                           max_retries=MAX_RETRIES, retry_exceptions=False).remote(
            gi, g, str(root), cluster.device, threads, board)
        refs[ref] = gi
    shown: dict[int, str] = {}  # group -> the attempt its bar shows

    def collect(ref: Any) -> None:
        gi = refs.pop(ref)
        try:
            state, summaries = ray.get(ref)
        except ray.exceptions.RayError as exc:
            state, summaries = _failed(exc, todo[gi], root, ray)
        if state == "finished" and summaries is not None:
            shown.pop(gi, None)
            ended(gi, summaries)
        else:
            bar.drop_group(gi)

    def show() -> dict[int, tuple[int, str, int]]:
        try:
            snap = ray.get(board.snapshot.remote(), timeout=5)
        except ray.exceptions.RayError:
            return {}
        left = set(refs.values())
        for gi, (_, attempt, step) in snap.items():
            if gi not in left:
                continue
            if shown.get(gi) != attempt:  # first seen, or retried after its worker died
                if gi in shown:
                    bar.drop_group(gi)
                shown[gi] = attempt
                g = todo[gi]
                bar.start_group(gi, group_label(g), len(g), g[0].config["training"]["iterations"])
            if step >= 0:
                bar.steps(gi, step)
        bar.tick()
        return snap

    try:
        while refs and not inprocess.STOP.requested:
            ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=POLL_S)
            for ref in ready:
                collect(ref)
            show()
        if refs and inprocess.STOP.requested:
            _stop(ray, board, refs, show, collect)
    except BaseException:
        for ref in refs:  # an error of the cluster's setup, or a second signal
            ray.cancel(ref, force=True)
        raise
    finally:
        with contextlib.suppress(Exception):  # the cluster may be gone with the error
            ray.kill(board)


def _failed(exc: Exception, group: list[RunSpec], root: Path,
            ray: Any) -> tuple[str, list[dict] | None]:
    """What a task's error means: a stop (cancelled, or interrupted by the terminal's
    signal), a ClusterError of the task (raised here), or a worker that died
    MAX_RETRIES + 1 times (its unfinished runs recorded as failed, as a crash would be;
    called where ``exc`` is handled, so that the record carries its traceback)."""
    if inprocess.STOP.requested or isinstance(exc, ray.exceptions.TaskCancelledError):
        return "stopped", None
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause
        if isinstance(cause, KeyboardInterrupt):
            return "stopped", None
        if isinstance(cause, ClusterError):
            raise ClusterError(str(cause)) from None
        raise ClusterError(f"a task failed outside the trainer (is ganbench installed on "
                           f"every node?): {type(cause).__name__}: {cause}") from None
    dirs = {r.run_id: RunDir(root, r.suite, r.run_id) for r in group}
    lost = [r for r in group if not dirs[r.run_id].is_finished()]
    died = WorkerLost(f"its Ray worker died {MAX_RETRIES + 1} times (killed, out of memory, "
                      f"or its node lost); last: {type(exc).__name__}")
    new = dict(zip((r.run_id for r in lost), record_failure(lost, root, died)))
    return "finished", [new.get(r.run_id) or dirs[r.run_id].read_summary() for r in group]


def _stop(ray: Any, board: Any, refs: dict[Any, int], show: Callable[[], dict],
          collect: Callable[[Any], None]) -> None:
    """Ask running tasks to stop at their next step (they checkpoint there), cancel queued
    ones, and cancel by force those still busy after STOP_DEADLINE_S."""
    import time

    try:
        ray.get(board.request_stop.remote(), timeout=5)
    except ray.exceptions.RayError:
        pass
    started = show()
    for ref, gi in refs.items():
        if gi not in started:
            ray.cancel(ref)  # still queued: it never runs
    deadline = time.monotonic() + STOP_DEADLINE_S
    while refs and time.monotonic() < deadline:
        ready, _ = ray.wait(list(refs), num_returns=len(refs),
                            timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
        for ref in ready:
            collect(ref)
    for ref in list(refs):
        ray.cancel(ref, force=True)  # busy in a long evaluation: keeps its last checkpoint
        refs.pop(ref)
