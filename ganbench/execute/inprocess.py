"""One group trained in whichever process trains it (this one, a worker process, a Ray
worker): the stop signals and the state they set, step reports, and failures recorded as
failed runs. The local, processes and Ray executors all run a group through ``run_group``.

Stopping: the first SIGINT (Ctrl-C) or SIGTERM asks every training process to stop. A
group stops before its next step, where its state is whole, and is checkpointed there; one
busy in a long evaluation is abandoned after STOP_GRACE_S and keeps its last checkpoint.
A second signal exits at once.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganbench.results import RunDir
from ganbench.suite import RunSpec
from ganbench.train import checkpoint, finish, resolve_device, setup, train

REPORT_EVERY_S = 0.5  # how often a training process publishes its step count
STOP_GRACE_S = 0.5  # how long a stopping group may go on with an evaluation
STOP_DEADLINE_S = 1.5  # how long a driver waits for stopping workers before killing them
POLL_S = 0.1  # a driver's wait between looks at its workers


class Stopped(BaseException):
    """Raised in a training process to stop its group. A BaseException, so that no
    ``except Exception`` of the trainer or of a metric records it as a failure. ``clean``:
    raised at a step boundary, where the session is whole and can be checkpointed."""

    def __init__(self, clean: bool):
        super().__init__("stopped")
        self.clean = clean


class StopState:
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


STOP = StopState()


def on_stop_signal(signum: int, frame: Any, second_exits: bool) -> None:
    """The handler of SIGINT and SIGTERM: ask for a stop; a second one exits at once where
    ``second_exits`` (a driver; a worker is killed by its parent)."""
    if STOP.signum is not None:
        if second_exits:
            _exit_now(signum)
        return
    STOP.signum = signum
    if STOP.abandonable:
        # a group stops by itself before its next step; one in a long evaluation is
        # abandoned when this alarm rings (SIGALRM is ours only from now on)
        if STOP.alarm_was is None:
            STOP.alarm_was = (signal.signal(signal.SIGALRM, _on_alarm),)
        signal.setitimer(signal.ITIMER_REAL, STOP_GRACE_S)
        STOP.armed = True


def _on_alarm(signum: int, frame: Any) -> None:
    if STOP.abandonable:
        raise Stopped(clean=False)


def _exit_now(signum: int) -> None:
    for pid in STOP.children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        sys.stderr.write("\ninterrupted again: exiting now; unfinished runs keep their last "
                         "checkpoint\n")
        sys.stderr.flush()
    os._exit(128 + signum)


def disarm() -> None:
    """Nothing may be abandoned from here on: the grace alarm is cleared."""
    STOP.abandonable = False
    if STOP.armed:
        signal.setitimer(signal.ITIMER_REAL, 0)
        STOP.armed = False


@contextlib.contextmanager
def stop_signals():
    """SIGINT and SIGTERM ask for a stop, a second one exits at once; handlers are this
    process's only while the suite runs (and only from the main thread, as Python allows)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = functools.partial(on_stop_signal, second_exits=True)
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        disarm()
        if STOP.alarm_was is not None:
            old[signal.SIGALRM] = STOP.alarm_was[0]
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def reporter(publish: Callable[[int], None]) -> Callable[[int], None]:
    """The trainer's report callback: publishes the step count at most every
    REPORT_EVERY_S, and stops the group at this step boundary once a stop is asked for."""
    last = -math.inf

    def report(step: int) -> None:
        nonlocal last
        if STOP.requested:
            raise Stopped(clean=True)
        now = time.monotonic()
        if now - last >= REPORT_EVERY_S:
            last = now
            publish(step)

    return report


def run_group(group: list[RunSpec], root: Path, device: str,
              publish: Callable[[int], None]) -> tuple[str, list[dict] | None]:
    """('finished', summaries), or ('stopped', None) with the group checkpointed where it
    stopped cleanly (else its last checkpoint kept). A crash is recorded as failed runs."""
    session = None
    try:
        STOP.abandonable = True
        session = setup(group, root, resolve_device(device))
        train(session, reporter(publish))
        disarm()
        return "finished", finish(session)
    except Stopped as stop:
        disarm()
        if stop.clean and session is not None and session.step > session.start:
            checkpoint(session)
        return "stopped", None
    except Exception as exc:  # a crash of one group is recorded; the suite goes on
        disarm()
        return "finished", record_failure(group, root, exc)
    finally:
        disarm()


def record_failure(group: list[RunSpec], root: Path, exc: Exception) -> list[dict]:
    """Each run of the group written as failed, with ``exc`` and the traceback being
    handled (call it where the error is handled)."""
    tb = traceback.format_exc()
    out = []
    for r in group:
        d = RunDir(root, r.suite, r.run_id)
        d.write_spec(r.to_dict())
        summary = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": tb, "metrics": {}, "group": r.group_key()}
        if isinstance(exc, OSError) and exc.errno is not None:
            # the CLI tells a refusing environment (a full disk: exit 4) from a failed run (3)
            summary["errno"] = exc.errno
        out.append(d.write_summary(summary))
    return out
