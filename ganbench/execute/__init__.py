"""Executors: plan the runs of a suite into groups and train them, in this process
("local"), in worker processes ("processes") or as Ray tasks on a cluster ("ray", in
``ganbench.execute.ray``), with live progress and a clean stop.

Compatible runs (``ganbench.execute.grouping``) form one vectorised ensemble when
``vectorize="auto"``; ``"off"`` trains every run alone. Finished runs are skipped;
interrupted groups resume from their checkpoints.

Progress: whichever process trains a group publishes its step count at most every
REPORT_EVERY_S (workers through shared memory the parent polls); ``ganbench.execute.progress``
shows it.

Stopping: the first SIGINT (Ctrl-C) or SIGTERM asks every training process to stop. A
group stops before its next step, where its state is whole, and is checkpointed there; one
busy in a long evaluation is abandoned after STOP_GRACE_S and keeps its last checkpoint.
Workers still running after STOP_DEADLINE_S are killed. Finished runs are kept, and
``run_suite`` raises Interrupted. A second signal exits at once.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ganbench.execute.grouping import group_runs
from ganbench.execute.progress import Progress, resolve_mode
from ganbench.results import (
    RunDir,
    inspect_run,
    remove_stale_temporaries,
    write_suite_record,
)
from ganbench.suite import RunSpec, Suite
from ganbench.train import checkpoint, finish, resolve_device, setup, train
from ganbench.util.containment import check_name, refuse_links
from ganbench.util.lock import suite_lock

EXECUTORS = ("auto", "local", "processes", "ray")
REPORT_EVERY_S = 0.5  # how often a training process publishes its step count
STOP_GRACE_S = 0.5  # how long a stopping group may go on with an evaluation
STOP_DEADLINE_S = 1.5  # how long the parent waits for stopping workers before killing them
POLL_S = 0.1  # the parent's wait between looks at its workers


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


# --- training one group, in whichever process trains it ------------------------------------


class Stopped(BaseException):
    """Raised in a training process to stop its group. A BaseException, so that no
    ``except Exception`` of the trainer or of a metric records it as a failure. ``clean``:
    raised at a step boundary, where the session is whole and can be checkpointed."""

    def __init__(self, clean: bool):
        super().__init__("stopped")
        self.clean = clean


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


class _StopState:
    """One per process: whether a stop was asked for (by a signal, or by the parent through
    a shared flag), and whether the group in training may be abandoned right now."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.signum: int | None = None
        self.shared = None  # the parent's flag, in a worker process
        self.abandonable = False  # in setup or training: nothing half-written to lose
        self.children: list[int] = []  # worker pids, killed on a second signal
        self.armed = False  # the grace alarm is set
        self.alarm_was: Any = None  # (the SIGALRM handler before ours,) once ours is in

    @property
    def requested(self) -> bool:
        return self.signum is not None or (self.shared is not None and bool(self.shared.value))


_STOP = _StopState()


def _on_stop_signal(signum: int, frame: Any, second_exits: bool) -> None:
    if _STOP.signum is not None:
        if second_exits:
            _exit_now(signum)
        return
    _STOP.signum = signum
    if _STOP.abandonable:
        # a group stops by itself before its next step; one in a long evaluation is
        # abandoned when this alarm rings (SIGALRM is ours only from now on)
        if _STOP.alarm_was is None:
            _STOP.alarm_was = (signal.signal(signal.SIGALRM, _on_alarm),)
        signal.setitimer(signal.ITIMER_REAL, STOP_GRACE_S)
        _STOP.armed = True


def _on_alarm(signum: int, frame: Any) -> None:
    if _STOP.abandonable:
        raise Stopped(clean=False)


def _exit_now(signum: int) -> None:
    for pid in _STOP.children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        sys.stderr.write("\ninterrupted again: exiting now; unfinished runs keep their last "
                         "checkpoint\n")
        sys.stderr.flush()
    os._exit(128 + signum)


def _disarm() -> None:
    _STOP.abandonable = False
    if _STOP.armed:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _STOP.armed = False


def _reporter(publish: Callable[[int], None]) -> Callable[[int], None]:
    """The trainer's report callback: publishes the step count at most every
    REPORT_EVERY_S, and stops the group at this step boundary once a stop is asked for."""
    last = -math.inf

    def report(step: int) -> None:
        nonlocal last
        if _STOP.requested:
            raise Stopped(clean=True)
        now = time.monotonic()
        if now - last >= REPORT_EVERY_S:
            last = now
            publish(step)

    return report


def _train_group(group: list[RunSpec], root: Path, device: str,
                 publish: Callable[[int], None]) -> tuple[str, list[dict] | None]:
    """('finished', summaries), or ('stopped', None) with the group checkpointed where it
    stopped cleanly (else its last checkpoint kept). A crash is recorded as failed runs."""
    session = None
    try:
        _STOP.abandonable = True
        session = setup(group, root, resolve_device(device))
        train(session, _reporter(publish))
        _disarm()
        return "finished", finish(session)
    except Stopped as stop:
        _disarm()
        if stop.clean and session is not None and session.step > session.start:
            checkpoint(session)
        return "stopped", None
    except Exception as exc:  # a crash of one group is recorded; the suite goes on
        _disarm()
        return "finished", _record_failure(group, root, exc)
    finally:
        _disarm()


def _record_failure(group: list[RunSpec], root: Path, exc: Exception) -> list[dict]:
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


def with_checkpoint_every(spec: RunSpec, seconds: float) -> RunSpec:
    """The same run (same id) with another checkpoint interval."""
    config = {**spec.config, "training": {**spec.config["training"],
                                          "checkpoint_every_s": float(seconds)}}
    return replace(spec, config=config)


def run_title(spec: RunSpec) -> str:
    return ", ".join(f"{k}={v}" for k, v in spec.labels.items()) or spec.run_id


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def group_label(group: list[RunSpec]) -> str:
    labels = [v for k, v in group[0].labels.items() if k != "seed"]
    return f"{', '.join(labels) or group[0].run_id} x{len(group)}"


# --- the suite ------------------------------------------------------------------------


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
    jobs = jobs or default_jobs()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if checkpoint_every_s is not None and not 0 <= checkpoint_every_s < math.inf:
        raise ValueError(f"the checkpoint interval must be >= 0 seconds, got {checkpoint_every_s}")
    mode = resolve_mode(progress)
    # every check before anything is written: the device, and that the suite's folder is
    # a plain folder below the root
    if executor != "ray":  # a Ray cluster's devices are checked when it is joined, below
        resolve_device(device)
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
    """The ray executor's cluster (``ray_executor.Cluster``), else None. Ray is imported
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
        _warn(f"removed {len(stale)} temporary file(s) left by writes that were killed "
              f"midway under {root / suite.name}")
    write_suite_record(suite, root)
    runs = suite.runs if checkpoint_every_s is None else \
        [with_checkpoint_every(r, checkpoint_every_s) for r in suite.runs]
    p = plan(runs, root, vectorize, max_group)
    for r in runs:
        if r.run_id in p.redo:
            _warn(f"{suite.name}/{r.run_id} ({run_title(r)}): {p.redo[r.run_id]}; "
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
        finished.add(gi)
        bar.end_group(gi, [s["status"] for s in summaries])

    _STOP.reset()
    try:
        with _stop_signals():
            if p.todo:
                bar.tick()
            local = list(range(len(p.todo)))
            if cluster is not None:
                from ganbench.execute.ray import run_ray

                run_ray(p.todo, root, cluster, bar, ended)
                local = []
            elif executor != "local" and len(p.todo) > 1 and jobs > 1:
                local = _run_processes(p.todo, root, device, jobs, bar, ended)
            if not _STOP.requested:
                _run_local(p.todo, local, root, device, bar, ended)
    finally:
        bar.close()
    if _STOP.requested:
        left = [r for gi, g in enumerate(p.todo) if gi not in finished for r in g]
        out["unfinished"] = len(left)
        out["checkpointed"] = sum(RunDir(root, r.suite, r.run_id).checkpoint_path.is_file()
                                  for r in left)
        raise Interrupted(_STOP.signum or signal.SIGINT, out)
    return out


@contextlib.contextmanager
def _stop_signals():
    """SIGINT and SIGTERM ask for a stop, a second one exits at once; handlers are this
    process's only while the suite runs (and only from the main thread, as Python allows)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = functools.partial(_on_stop_signal, second_exits=True)
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        _disarm()
        if _STOP.alarm_was is not None:
            old[signal.SIGALRM] = _STOP.alarm_was[0]
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def _run_local(todo: list[list[RunSpec]], order: list[int], root: Path, device: str,
               bar: Progress, ended: Callable[[int, list[dict]], None]) -> None:
    for gi in order:
        if _STOP.requested:
            return
        g = todo[gi]
        bar.start_group(gi, group_label(g), len(g), g[0].config["training"]["iterations"])

        def publish(step: int, gi: int = gi) -> None:
            bar.steps(gi, step)
            bar.tick()

        try:
            state, summaries = _train_group(g, root, device, publish)
        except Stopped:  # the alarm rang just as the group left its abandonable part
            state, summaries = "stopped", None
        if state == "stopped" or summaries is None:
            return
        ended(gi, summaries)


@dataclass
class _Worker:
    proc: Any
    conn: Any
    gi: int | None = None  # the group it trains
    dead: bool = False


def _run_processes(todo: list[list[RunSpec]], root: Path, device: str, jobs: int,
                   bar: Progress, ended: Callable[[int, list[dict]], None]) -> list[int]:
    """Train groups in worker processes, longest first. Returns the groups left to train
    in this process (those of workers that died: out of memory, killed)."""
    ctx = mp.get_context("spawn")  # not fork: a forked child of a running OpenMP pool can hang
    threads = max(1, default_jobs() // jobs)
    # each group's steps, written by its worker (-1: none yet; a resumed group's first count
    # is its checkpoint's step, which is not progress made now)
    steps = ctx.Array("q", [-1] * len(todo), lock=False)
    flag = ctx.Value("b", 0, lock=False)  # the parent asks workers to stop
    queue = list(range(len(todo)))
    retry: list[int] = []
    workers: list[_Worker] = []
    # workers start with SIGINT and SIGTERM ignored (inherited through exec), so that a
    # Ctrl-C while they import torch leaves no traceback; they install their own handlers
    ignored = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        for _ in range(min(jobs, len(todo))):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, daemon=True, name="ganbench-worker",
                               args=(theirs, steps, flag, threads, str(root), device,
                                     os.getpid()))
            proc.start()
            theirs.close()
            workers.append(_Worker(proc, mine))
    finally:
        for s, h in ignored.items():
            signal.signal(s, h)
    _STOP.children = [w.proc.pid for w in workers]

    def assign(w: _Worker) -> None:
        w.gi = None
        while queue and not _STOP.requested:
            gi = queue.pop(0)
            try:
                w.conn.send((gi, todo[gi]))
            except OSError:
                queue.insert(0, gi)
                w.dead = True
                return
            w.gi = gi
            g = todo[gi]
            bar.start_group(gi, group_label(g), len(g), g[0].config["training"]["iterations"])
            return

    def receive(w: _Worker) -> None:
        try:
            state, gi, summaries = w.conn.recv()
        except (EOFError, OSError):
            w.dead = True
            return
        if state == "finished":
            ended(gi, summaries)
        w.gi = None

    def poll(timeout: float) -> None:
        busy = [w for w in workers if w.gi is not None and not w.dead]
        ready = set(mp_connection.wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                       timeout))
        for w in busy:
            if w.conn in ready or w.conn.poll():
                receive(w)
            elif w.proc.sentinel in ready:
                w.dead = True
            if w.dead and w.gi is not None:
                if not _STOP.requested:
                    retry.append(w.gi)  # its group is trained again, in this process
                bar.drop_group(w.gi)
                w.gi = None
        for gi in list(bar.active):
            if steps[gi] >= 0:
                bar.steps(gi, steps[gi])
        bar.tick()

    try:
        for w in workers:
            assign(w)
        while any(w.gi is not None for w in workers) and not _STOP.requested:
            poll(POLL_S)
            for w in workers:
                if w.gi is None and not w.dead:
                    assign(w)
            if not any(not w.dead for w in workers):
                break
        if _STOP.requested:
            flag.value = 1
            for w in workers:
                if w.gi is not None and w.proc.is_alive():
                    with contextlib.suppress(OSError):
                        os.kill(w.proc.pid, _STOP.signum or signal.SIGINT)
            deadline = time.monotonic() + STOP_DEADLINE_S
            while any(w.gi is not None for w in workers) and time.monotonic() < deadline:
                poll(min(POLL_S, max(0.0, deadline - time.monotonic())))
    finally:
        _close_workers(workers, STOP_DEADLINE_S if not _STOP.requested else 0.3)
        _STOP.children = []
    return retry + queue if not _STOP.requested else []


def _close_workers(workers: list[_Worker], wait: float) -> None:
    """Tell idle workers to exit; kill those that do not within ``wait`` seconds."""
    for w in workers:
        with contextlib.suppress(OSError):
            w.conn.send(None)
    deadline = time.monotonic() + wait
    for w in workers:
        w.proc.join(max(0.0, deadline - time.monotonic()))
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join()
        w.conn.close()


def _die_with_parent(parent: int) -> None:
    """End this worker when its parent ends, even by SIGKILL: an orphan would go on writing
    to a results folder whose lock died with the parent (Linux: PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _worker_main(conn, steps, flag, threads: int, root: str, device: str,
                 parent: int | None = None) -> None:
    """A worker process: trains the groups the parent sends until it sends None."""
    if parent is not None:
        _die_with_parent(parent)
    handler = functools.partial(_on_stop_signal, second_exits=False)  # the parent kills
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, handler)
    _STOP.shared = flag
    torch.set_num_threads(threads)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break  # the parent is gone
        if msg is None:
            break
        gi, group = msg

        def publish(step: int, gi: int = gi) -> None:
            steps[gi] = step

        state, summaries = "stopped", None
        if not _STOP.requested:
            try:
                state, summaries = _train_group(group, Path(root), device, publish)
            except Stopped:
                state, summaries = "stopped", None
        try:
            conn.send((state, gi, summaries))
        except OSError:
            break
    # all written and sent: skip the interpreter's teardown (seconds once torch is loaded)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
