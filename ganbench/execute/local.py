"""The local executor: groups trained one after another in this process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ganbench.execute import inprocess
from ganbench.execute.plan import group_label
from ganbench.execute.progress import Progress
from ganbench.suite import RunSpec


def run_local(todo: list[list[RunSpec]], order: list[int], root: Path, device: str,
              bar: Progress, ended: Callable[[int, list[dict]], None]) -> None:
    """Train the groups ``order`` names, here; ``ended(gi, summaries)`` as each finishes.
    Returns early once a stop is asked for."""
    for gi in order:
        if inprocess.STOP.requested:
            return
        g = todo[gi]
        bar.start_group(gi, group_label(g), len(g), g[0].config["training"]["iterations"])

        def publish(step: int, gi: int = gi) -> None:
            bar.steps(gi, step)
            bar.tick()

        try:
            state, summaries = inprocess.run_group(g, root, device, publish)
        except inprocess.Stopped:  # the alarm rang just as the group left its abandonable part
            state, summaries = "stopped", None
        if state == "stopped" or summaries is None:
            return
        ended(gi, summaries)
