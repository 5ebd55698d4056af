"""The processes executor: groups trained in spawned worker processes (one torch thread
each by default), longest first, with their step counts in shared memory the parent polls.
Workers still busy STOP_DEADLINE_S after a stop are killed."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganbench.execute import inprocess
from ganbench.execute.inprocess import POLL_S, STOP_DEADLINE_S
from ganbench.execute.plan import default_jobs, group_label
from ganbench.execute.progress import Progress
from ganbench.suite import RunSpec


@dataclass
class _Worker:
    proc: Any
    conn: Any
    gi: int | None = None  # the group it trains
    dead: bool = False


def run_processes(todo: list[list[RunSpec]], root: Path, device: str, jobs: int,
                  bar: Progress, ended: Callable[[int, list[dict]], None]) -> list[int]:
    """Train groups in worker processes, longest first. Returns the groups left to train
    in this process (those of workers that died: out of memory, killed)."""
    return _Pool(todo, root, device, jobs, bar, ended).run()


class _Pool:
    """The parent's side: its workers, the queue of groups, and the groups to retry."""

    def __init__(self, todo: list[list[RunSpec]], root: Path, device: str, jobs: int,
                 bar: Progress, ended: Callable[[int, list[dict]], None]):
        self.todo, self.root, self.device, self.jobs = todo, root, device, jobs
        self.bar, self.ended = bar, ended
        self.ctx = mp.get_context("spawn")  # not fork: a forked child of a running OpenMP pool can hang
        # each group's steps, written by its worker (-1: none yet; a resumed group's first
        # count is its checkpoint's step, which is not progress made now)
        self.steps = self.ctx.Array("q", [-1] * len(todo), lock=False)
        self.flag = self.ctx.Value("b", 0, lock=False)  # the parent asks workers to stop
        self.queue = list(range(len(todo)))
        self.retry: list[int] = []
        self.workers: list[_Worker] = []

    def run(self) -> list[int]:
        stop = inprocess.STOP
        self._start()
        stop.children = [w.proc.pid for w in self.workers]
        try:
            for w in self.workers:
                self._assign(w)
            while any(w.gi is not None for w in self.workers) and not stop.requested:
                self._poll(POLL_S)
                for w in self.workers:
                    if w.gi is None and not w.dead:
                        self._assign(w)
                if not any(not w.dead for w in self.workers):
                    break
            if stop.requested:
                self._stop()
        finally:
            _close_workers(self.workers, STOP_DEADLINE_S if not stop.requested else 0.3)
            stop.children = []
        return self.retry + self.queue if not stop.requested else []

    def _start(self) -> None:
        threads = max(1, default_jobs() // self.jobs)
        # workers start with SIGINT and SIGTERM ignored (inherited through exec), so that a
        # Ctrl-C while they import torch leaves no traceback; they install their own handlers
        ignored = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)} \
            if threading.current_thread() is threading.main_thread() else {}
        try:
            for _ in range(min(self.jobs, len(self.todo))):
                mine, theirs = self.ctx.Pipe()
                proc = self.ctx.Process(target=worker_main, daemon=True, name="ganbench-worker",
                                        args=(theirs, self.steps, self.flag, threads,
                                              str(self.root), self.device, os.getpid()))
                proc.start()
                theirs.close()
                self.workers.append(_Worker(proc, mine))
        finally:
            for s, h in ignored.items():
                signal.signal(s, h)

    def _assign(self, w: _Worker) -> None:
        w.gi = None
        while self.queue and not inprocess.STOP.requested:
            gi = self.queue.pop(0)
            try:
                w.conn.send((gi, self.todo[gi]))
            except OSError:
                self.queue.insert(0, gi)
                w.dead = True
                return
            w.gi = gi
            g = self.todo[gi]
            self.bar.start_group(gi, group_label(g), len(g), g[0].config["training"]["iterations"])
            return

    def _receive(self, w: _Worker) -> None:
        try:
            state, gi, summaries = w.conn.recv()
        except (EOFError, OSError):
            w.dead = True
            return
        if state == "finished":
            self.ended(gi, summaries)
        w.gi = None

    def _poll(self, timeout: float) -> None:
        busy = [w for w in self.workers if w.gi is not None and not w.dead]
        ready = set(mp_connection.wait([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                                       timeout))
        for w in busy:
            if w.conn in ready or w.conn.poll():
                self._receive(w)
            elif w.proc.sentinel in ready:
                w.dead = True
            if w.dead and w.gi is not None:
                if not inprocess.STOP.requested:
                    self.retry.append(w.gi)  # its group is trained again, in this process
                self.bar.drop_group(w.gi)
                w.gi = None
        for gi in list(self.bar.active):
            if self.steps[gi] >= 0:
                self.bar.steps(gi, self.steps[gi])
        self.bar.tick()

    def _stop(self) -> None:
        """Pass the stop on to busy workers and wait for them until STOP_DEADLINE_S."""
        self.flag.value = 1
        for w in self.workers:
            if w.gi is not None and w.proc.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(w.proc.pid, inprocess.STOP.signum or signal.SIGINT)
        deadline = time.monotonic() + STOP_DEADLINE_S
        while any(w.gi is not None for w in self.workers) and time.monotonic() < deadline:
            self._poll(min(POLL_S, max(0.0, deadline - time.monotonic())))


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


def worker_main(conn, steps, flag, threads: int, root: str, device: str,
                parent: int | None = None) -> None:
    """A worker process: trains the groups the parent sends until it sends None."""
    if parent is not None:
        _die_with_parent(parent)
    handler = functools.partial(inprocess.on_stop_signal, second_exits=False)  # the parent kills
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, handler)
    inprocess.STOP.shared = flag
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
        if not inprocess.STOP.requested:
            try:
                state, summaries = inprocess.run_group(group, Path(root), device, publish)
            except inprocess.Stopped:
                state, summaries = "stopped", None
        try:
            conn.send((state, gi, summaries))
        except OSError:
            break
    # all written and sent: skip the interpreter's teardown (seconds once torch is loaded)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
