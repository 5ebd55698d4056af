"""The progress display, with a fake clock: what it shows and how often."""

import io

import pytest

from ganbench.execute.progress import Progress, duration, resolve_mode


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make(mode="lines", **kw):
    clock, stream = Clock(), io.StringIO()
    p = Progress("demo", runs=10, finished=2, work={0: (4, 1000), 1: (4, 1000)}, mode=mode,
                 stream=stream, clock=clock, **kw)
    return p, clock, stream


def test_status_lines_at_most_every_interval():
    p, clock, stream = make(interval=30.0)
    p.tick()
    assert stream.getvalue().splitlines() == ["demo: 2/10 runs finished; ETA ?; elapsed 0s"]
    p.start_group(0, "ring x4", 4, 1000)
    p.steps(0, 0)
    clock.t += 10
    p.steps(0, 500)  # 500 steps x 4 members in 10 s
    p.tick()
    assert len(stream.getvalue().splitlines()) == 1  # not yet 30 s
    clock.t += 20.5
    p.tick()
    line = stream.getvalue().splitlines()[-1]
    # 2000 run-steps in 30.5 s; 6000 run-steps left (this group's half, the other's all)
    assert line.startswith("demo: 2/10 runs finished; 1 group training (500/1000 steps); "
                           "66 run-steps/s; ETA 1m32s")
    p.end_group(0, ["done", "done", "diverged", "failed"])
    assert p.status().startswith("demo: 6/10 runs finished (1 diverged, 1 failed)")


def test_resumed_group_counts_only_new_steps():
    p, clock, _ = make()
    p.start_group(1, "grid x4", 4, 1000)
    p.steps(1, 600)  # resumed at step 600: not trained now
    assert p.run_steps == 0 and p.left[1] == 4 * 400
    clock.t += 2
    p.steps(1, 700)
    assert p.run_steps == 400 and p.active[1].rate == pytest.approx(50.0)


def test_bars_show_steps_rate_and_eta():
    p, clock, stream = make(mode="bars")
    p.start_group(0, "ring, minimax x4", 4, 1000)
    p.steps(0, 0)
    clock.t += 4
    p.steps(0, 400)
    text = stream.getvalue()
    assert "ring, minimax x4" in text and "400/1000 steps" in text
    assert "400 run-steps/s" in text and "ETA 6s" in text  # 100 steps/s, 600 to go
    p.end_group(0, ["done"] * 4)
    p.close()
    assert "6/10 runs" in stream.getvalue()


def test_modes():
    assert resolve_mode(False) == "off" and resolve_mode("lines") == "lines"
    assert resolve_mode(True, io.StringIO()) == "lines"  # not a terminal
    with pytest.raises(ValueError, match="progress"):
        resolve_mode("fancy")
    assert [duration(x) for x in (None, 5, 95, 7300)] == ["?", "5s", "1m35s", "2h01m"]
