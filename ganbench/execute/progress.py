"""What a running suite shows: a suite bar and one bar per group in training (steps,
run-steps/s, ETA) on a terminal, else a one-line status at most every ``interval`` seconds.

The executor feeds it from the process that trains or, for worker processes, from the step
counts they publish; it never talks to a trainer itself.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

MODES = ("auto", "bars", "lines", "off")
STATUS_EVERY_S = 30.0


def resolve_mode(progress: bool | str, stream: TextIO | None = None) -> str:
    """True = 'auto', False = 'off'; 'auto' draws bars only when stdout and the stream the
    bars go to are terminals (a log file or a CI job gets status lines instead)."""
    mode = {True: "auto", False: "off"}.get(progress, progress)  # type: ignore[arg-type]
    if mode not in MODES:
        raise ValueError(f"progress must be one of {', '.join(MODES)}, got {progress!r}")
    if mode == "auto":
        stream = stream or sys.stderr
        tty = all(getattr(s, "isatty", lambda: False)() for s in (sys.stdout, stream))
        mode = "bars" if tty else "lines"
    return mode


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    h, m = divmod(s, 3600)
    m, s = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


@dataclass
class _Group:
    label: str
    members: int
    total: int
    done: int = 0
    first: int | None = None  # steps done when its first count arrived (resumed groups)
    t_first: float = 0.0
    rate: float | None = None  # steps/s, from the first count to the latest
    bar: Any = None
    slot: int = 0


@dataclass
class Progress:
    """``start_group`` / ``steps`` / ``end_group`` as the executor learns them, ``tick``
    now and then (status lines are printed from there), ``close`` at the end."""

    name: str
    runs: int
    finished: int
    work: dict[Any, tuple[int, int]]  # group key -> (members, iterations): all the planned work
    mode: str = "lines"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    interval: float = STATUS_EVERY_S
    clock: Callable[[], float] = time.monotonic
    counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "diverged": 0, "failed": 0})

    def __post_init__(self):
        self.t0 = self.clock()
        self.last_line: float | None = None
        self.active: dict[Any, _Group] = {}
        self.run_steps = 0  # run-steps trained since the start (members x steps)
        self.left = {k: m * it for k, (m, it) in self.work.items()}  # run-steps still to train
        self.bar = None
        if self.mode == "bars":
            from tqdm.auto import tqdm

            self._tqdm = tqdm
            self.bar = tqdm(total=self.runs, initial=self.finished, desc=self.name, unit="run",
                            dynamic_ncols=True, file=self.stream, position=0,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                       "runs [{elapsed}{postfix}]")

    # --- fed by the executor ---------------------------------------------------------------

    def start_group(self, key: Any, label: str, members: int, total: int) -> None:
        g = _Group(label, members, total)
        if self.mode == "bars":
            used = {a.slot for a in self.active.values()}
            g.slot = next(i for i in range(1, len(used) + 2) if i not in used)
            g.bar = self._tqdm(total=total, desc=f"  {label}", leave=False, dynamic_ncols=True,
                               file=self.stream, position=g.slot,
                               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                          "steps [{elapsed}{postfix}]")
        self.active[key] = g

    def steps(self, key: Any, done: int) -> None:
        g = self.active.get(key)
        if g is None or done == g.done and g.first is not None:
            return
        now = self.clock()
        if g.first is None:  # a resumed group starts where its checkpoint left it
            g.first, g.t_first = done, now
            self.left[key] = self.left.get(key, 0) - g.members * done
        elif now > g.t_first:
            g.rate = (done - g.first) / (now - g.t_first)
        delta = max(0, done - max(g.done, g.first if g.first is not None else 0))
        self.run_steps += g.members * delta
        self.left[key] = max(0, self.left.get(key, 0) - g.members * delta)
        g.done = done
        if g.bar is not None:
            g.bar.n = done
            rs = "" if g.rate is None else f"{g.rate * g.members:,.0f} run-steps/s, "
            g.bar.set_postfix_str(f"{rs}ETA {duration(self._group_eta(g))}", refresh=False)
            g.bar.refresh()
        self._update_suite_bar()

    def end_group(self, key: Any, statuses: list[str]) -> None:
        g = self.active.pop(key, None)
        self.left.pop(key, None)
        for s in statuses:
            self.counts[s] = self.counts.get(s, 0) + 1
        if g is not None and g.bar is not None:
            g.bar.close()
        if self.bar is not None:
            self.bar.update(len(statuses))
        self._update_suite_bar()

    def drop_group(self, key: Any) -> None:
        """A group that will train again elsewhere (its worker died): not counted."""
        g = self.active.pop(key, None)
        if g is not None and g.bar is not None:
            g.bar.close()

    def tick(self) -> None:
        """Print a status line when one is due (lines mode; the first one at once)."""
        if self.mode != "lines":
            return
        now = self.clock()
        if self.last_line is None or now - self.last_line >= self.interval:
            self.last_line = now
            print(self.status(), file=self.stream, flush=True)

    def close(self) -> None:
        for g in self.active.values():
            if g.bar is not None:
                g.bar.close()
        self.active.clear()
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # --- what is shown ---------------------------------------------------------------------

    def rate(self) -> float | None:
        """Run-steps per second over the whole run so far (evaluations included)."""
        dt = self.clock() - self.t0
        return self.run_steps / dt if self.run_steps and dt > 0 else None

    def eta(self) -> float | None:
        r = self.rate()
        return sum(self.left.values()) / r if r else None

    def _group_eta(self, g: _Group) -> float | None:
        return (g.total - g.done) / g.rate if g.rate else None

    def status(self) -> str:
        c = self.counts
        finished = self.finished + sum(c.values())
        parts = [f"{self.name}: {finished}/{self.runs} runs finished"
                 + (f" ({c['diverged']} diverged, {c['failed']} failed)"
                    if c.get("diverged") or c.get("failed") else "")]
        if self.active:
            steps = ", ".join(f"{g.done}/{g.total}" for g in self.active.values())
            parts.append(f"{len(self.active)} group{'s' * (len(self.active) > 1)} training "
                         f"({steps} steps)")
        r = self.rate()
        if r:
            parts.append(f"{r:,.0f} run-steps/s")
        parts.append(f"ETA {duration(self.eta())}")
        parts.append(f"elapsed {duration(self.clock() - self.t0)}")
        return "; ".join(parts)

    def _update_suite_bar(self) -> None:
        if self.bar is None:
            return
        r = self.rate()
        rs = "" if r is None else f"{r:,.0f} run-steps/s, "
        self.bar.set_postfix_str(f"{rs}ETA {duration(self.eta())}")  # tqdm adds the ", "
