"""One writer per suite results folder: an advisory lock on ``<root>/<suite>/.lock``.

``ganbench run`` holds the lock from before it plans (which runs are finished) until it
ends, so a second run on the same folder either refuses (the default) or waits for the first
(``--wait``) and then finds the first one's runs finished: no run is trained twice. The
lock is ``flock(2)`` on an open file, so the kernel releases it when the holder exits in
any way, SIGKILL included; the file stays (removing it would let two processes lock two
different files) and records the holder's pid, host and start time for the message.
``flock`` is local to one machine on some network file systems (older NFS): a results folder
shared by several machines needs one driver (the Ray executor's), not several runs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from ganbench.util.containment import ContainmentError

LOCK_NAME = ".lock"


class LockedError(Exception):
    """Another process holds the folder's lock (the message says which, when recorded)."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "a process that did not record itself"


def _open(path: Path) -> int:
    try:  # O_NOFOLLOW: a link planted at the lock's name is not followed
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ContainmentError(f"{path} is a symbolic link; ganbench does not write "
                                   "through links (remove it)") from None
        raise


@contextlib.contextmanager
def suite_lock(folder: Path | str, wait: bool = False,
               say=lambda msg: print(msg, file=sys.stderr)) -> Iterator[Path]:
    """Hold the lock of a suite's results folder (created if needed) for the block.

    Raises LockedError when another process holds it, unless ``wait``: then ``say`` tells
    who is awaited and the call blocks until the lock is free (Ctrl-C interrupts)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = _open(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(fd)
            if not wait:
                raise LockedError(
                    f"{folder} is in use by another ganbench run ({who}); one writer at a "
                    "time: wait for it to end, or pass --wait to start when it does") from None
            say(f"waiting for the other ganbench run on {folder} ({who}) to end")
            fcntl.flock(fd, fcntl.LOCK_EX)
        stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {stamp}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
