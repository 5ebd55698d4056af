"""What a running suite shows: a suite bar and one bar per group in training (steps,
run-steps/s, ETA) on a terminal, else a one-line status at most every ``interval`` seconds.

The suite bar counts run-steps (members x steps), so it moves while groups train, not only
when they finish; every bar fits the terminal's width (the label is shortened first, the
ETA never). Rates are exponentially weighted over the last ``RATE_TAU_S`` seconds of step
reports, so that an ETA neither waits for the whole run's average nor jumps with one
report.

The executor feeds it from the process that trains or, for worker processes, from the step
counts they publish; it never talks to a trainer itself.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

MODES = ("auto", "bars", "lines", "off")
STATUS_EVERY_S = 30.0
# time constant of the rates behind the ETAs: long enough to average over evaluations and
# uneven step reports, short enough to follow a change of pace (another group starting)
RATE_TAU_S = 30.0
# no ETA until the rate has been observed this long (the first reports say little)
RATE_MIN_OBSERVED_S = 2.0
MIN_BAR = 10  # the fewest characters a bar keeps
MIN_LABEL = 8  # a label is never shortened below this (parts of the right side go first)


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


class SmoothedRate:
    """Units per second, exponentially weighted in time: the ratio of the decayed sums of
    units and of seconds between reports (weight exp(-age / tau)). The clock starts at the
    first report, so start-up time (imports, worker processes) is not read as slowness."""

    def __init__(self, tau: float = RATE_TAU_S, min_observed: float = RATE_MIN_OBSERVED_S):
        self.tau, self.min_observed = tau, min_observed
        self.t_last: float | None = None
        self.observed = 0.0
        self.units = 0.0
        self.seconds = 0.0

    def update(self, now: float, units: float) -> None:
        """``units`` done since the previous report, reported at ``now``."""
        if self.t_last is None:
            self.t_last = now
            return
        dt = max(0.0, now - self.t_last)
        decay = math.exp(-dt / self.tau)
        self.units = self.units * decay + units
        self.seconds = self.seconds * decay + dt
        self.observed += dt
        self.t_last = now

    def value(self) -> float | None:
        if self.observed < self.min_observed or self.seconds <= 0 or self.units <= 0:
            return None
        return self.units / self.seconds


def fit_line(label: str, parts: list[str], width: int, fixed: int) -> tuple[str, str]:
    """(label, right side) of a bar line that fits ``width`` columns with ``fixed`` columns
    of frame and a bar of at least MIN_BAR: the label is shortened first (to MIN_LABEL),
    then the right side's parts before the last go, nearest the last first (a rate before
    a count); the last part (the ETA) always stays."""
    parts = list(parts)
    while True:
        right = ", ".join(parts)
        room = width - fixed - MIN_BAR - len(right)
        if room >= min(len(label), MIN_LABEL) or len(parts) == 1:
            break
        parts.pop(-2)
    if len(label) > room:
        label = label[:max(1, room - 1)] + "…" if room >= 2 else label[:max(0, room)]
    return label, right


# "{label}: 100%|{bar}| {right}": what the frame around the label, the bar and the right
# side takes, and one column spare so that no terminal wraps
_FRAME = len(": 100%|| ") + 1


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@dataclass
class _Group:
    label: str
    members: int
    total: int
    done: int = 0
    first: int | None = None  # steps done when its first count arrived (resumed groups)
    rate: SmoothedRate = field(default_factory=SmoothedRate)  # steps/s
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
    width: int | None = None  # columns of the bars (None: the terminal's, read at each draw)

    def __post_init__(self):
        self.t0 = self.clock()
        self.last_line: float | None = None
        self.active: dict[Any, _Group] = {}
        self.run_steps = 0  # run-steps trained since the start (members x steps)
        self.left = {k: m * it for k, (m, it) in self.work.items()}  # run-steps still to train
        self.total_work = sum(self.left.values())
        self.suite_rate = SmoothedRate()  # run-steps/s
        self.bar = None
        if self.mode == "bars":
            from tqdm.auto import tqdm

            self._tqdm = tqdm
            self.bar = tqdm(total=max(1, self.total_work), file=self.stream, position=0,
                            bar_format="{bar}")
            self._update_suite_bar()

    # --- fed by the executor ---------------------------------------------------------------

    def start_group(self, key: Any, label: str, members: int, total: int) -> None:
        g = _Group(label, members, total)
        if self.mode == "bars":
            used = {a.slot for a in self.active.values()}
            g.slot = next(i for i in range(1, len(used) + 2) if i not in used)
            g.bar = self._tqdm(total=total, leave=False, file=self.stream, position=g.slot,
                               bar_format="{bar}")
            self._draw(g.bar, f"  {label}", [f"0/{total} steps", "ETA ?"], 0)
        self.active[key] = g

    def steps(self, key: Any, done: int) -> None:
        g = self.active.get(key)
        if g is None or done == g.done and g.first is not None:
            return
        now = self.clock()
        if g.first is None:  # a resumed group starts where its checkpoint left it
            g.first = done
            self.left[key] = self.left.get(key, 0) - g.members * done
        delta = max(0, done - max(g.done, g.first))
        g.rate.update(now, delta)
        self.suite_rate.update(now, g.members * delta)
        self.run_steps += g.members * delta
        self.left[key] = max(0, self.left.get(key, 0) - g.members * delta)
        g.done = done
        if g.bar is not None:
            r = g.rate.value()
            parts = [f"{done}/{g.total} steps"]
            if r is not None:
                parts.append(f"{r * g.members:,.0f} run-steps/s")
            parts.append(f"ETA {duration(self._group_eta(g))}")
            self._draw(g.bar, f"  {g.label}", parts, done)
        self._update_suite_bar()

    def end_group(self, key: Any, statuses: list[str]) -> None:
        g = self.active.pop(key, None)
        self.left.pop(key, None)
        for s in statuses:
            self.counts[s] = self.counts.get(s, 0) + 1
        if g is not None and g.bar is not None:
            g.bar.close()
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
        """Run-steps per second, exponentially weighted over recent step reports."""
        return self.suite_rate.value()

    def eta(self) -> float | None:
        r = self.rate()
        left = sum(self.left.values())
        return 0.0 if not left else (left / r if r else None)

    def fraction(self) -> float:
        """The share of this invocation's run-steps trained (resumed steps count as done)."""
        return 1.0 - sum(self.left.values()) / self.total_work if self.total_work else 1.0

    def _group_eta(self, g: _Group) -> float | None:
        r = g.rate.value()
        return (g.total - g.done) / r if r else None

    def _finished(self) -> int:
        return self.finished + sum(self.counts.values())

    def status(self) -> str:
        c = self.counts
        parts = [f"{self.name}: {self._finished()}/{self.runs} runs finished"
                 + (f" ({c['diverged']} diverged, {c['failed']} failed)"
                    if c.get("diverged") or c.get("failed") else "")]
        if self.active:
            steps = ", ".join(f"{g.done}/{g.total}" for g in self.active.values())
            parts.append(f"{len(self.active)} group{'s' * (len(self.active) > 1)} training "
                         f"({steps} steps)")
        if self.total_work and self.fraction() > 0:
            parts.append(f"{100 * self.fraction():.0f}% of run-steps done")
        r = self.rate()
        if r:
            parts.append(f"{r:,.0f} run-steps/s")
        parts.append(f"ETA {duration(self.eta())}")
        parts.append(f"elapsed {duration(self.clock() - self.t0)}")
        return "; ".join(parts)

    def _columns(self) -> int:
        if self.width is not None:
            return self.width
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = shutil.get_terminal_size((80, 24)).columns
        return columns if columns > 0 else 80  # a pseudo-terminal may report 0

    def _draw(self, bar: Any, label: str, parts: list[str], n: float) -> None:
        width = self._columns()
        label, right = fit_line(label, parts, width, _FRAME)
        bar.bar_format = f"{_escape(label)}: {{percentage:3.0f}}%|{{bar}}| {_escape(right)}"
        bar.ncols = width - 1
        bar.n = n
        bar.refresh()

    def _update_suite_bar(self) -> None:
        if self.bar is None:
            return
        c = self.counts
        runs = f"{self._finished()}/{self.runs} runs"
        if c.get("diverged") or c.get("failed"):
            runs += f" ({c.get('diverged', 0)} div, {c.get('failed', 0)} fail)"
        parts = [runs]
        r = self.rate()
        if r is not None:
            parts.append(f"{r:,.0f} run-steps/s")
        parts.append(f"ETA {duration(self.eta())}")
        self._draw(self.bar, self.name, parts, round(self.fraction() * self.bar.total))
