"""Score a sample set against real samples with named or default metrics (what
``ganbench.evaluate`` and the ``evaluate`` verb run)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import torch
from torch import Tensor

from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext, MetricError
from ganbench.metrics.registry import owner
from ganbench.metrics.samples import SampleFileError
from ganbench.util import warn


def default_metrics(dataset, samples: int | None = None) -> list[str]:
    """The metrics evaluated by default: those marked ``default`` that apply to the
    dataset and, given the number of evaluation ``samples`` (suites give it), can measure
    that many."""
    return [e.name for e in METRICS.entries()
            if getattr(e.obj, "default", False) and e.create().applies(dataset) is None
            and (samples is None or samples >= getattr(e.obj, "min_samples", 0))]


# a metric still running after this long gets a progress line (quicker ones show nothing)
SLOW_METRIC_S = 2.0


class MetricProgress:
    """A bar over the metrics of one call that appears only when one of them runs longer
    than ``delay`` seconds, naming it (tqdm's own delay waits for the next metric to end)."""

    def __init__(self, names: list[str], enabled: bool, delay: float | None = None,
                 stream=None):
        delay = SLOW_METRIC_S if delay is None else delay
        self.bar, self.timer = None, None
        if enabled and names:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(names), desc="evaluate", unit="metric", delay=delay,
                            file=stream or sys.stderr, leave=False)
        self.delay = delay

    def start(self, name: str) -> None:
        if self.bar is None:
            return
        self._cancel()
        self.bar.set_postfix_str(name, refresh=False)
        self.timer = threading.Timer(self.delay, self.bar.refresh)
        self.timer.daemon = True
        self.timer.start()

    def done(self) -> None:
        if self.bar is not None:
            self._cancel()
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self._cancel()
            self.bar.close()

    def _cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def evaluate(real: Tensor, fake: Tensor, dataset=None, metrics: list[str] | None = None,
             seed: int = 0, device: str = "cpu", cache_dir: Path | None = None,
             names: tuple[str, str] = ("real", "fake"), progress: bool = True,
             ) -> dict[str, float]:
    """Metric -> value (with extras such as ``_ci_low``) of ``fake`` against ``real``: the
    entries of the metrics asked for (or the defaults), not those a metric reports for
    another registered metric (``modes`` computes ``modes_thresholded`` too; it is returned
    only when asked for).

    Named metrics that cannot run are errors; default metrics (``metrics=None``) that fail
    on these samples are skipped with a note on stderr. ``progress``: a bar on stderr once a
    metric has run for SLOW_METRIC_S seconds.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise SampleFileError(f"{names[1]}: samples are {tuple(fake.shape[1:])} but {names[0]} "
                              f"has {tuple(real.shape[1:])}")
    if dataset is not None and tuple(real.shape[1:]) != tuple(dataset.shape):
        raise SampleFileError(f"{names[0]}: samples are {tuple(real.shape[1:])} but dataset "
                              f"{type(dataset).__name__} has {tuple(dataset.shape)}")
    explicit = metrics is not None
    chosen = list(dict.fromkeys(metrics)) if explicit else default_metrics(dataset)
    objs = {}
    for name in chosen:
        m = METRICS.create(name)
        why = m.applies(dataset)
        if why is not None:
            raise MetricError(f"metric {name!r} {why}"
                              + ("" if dataset is not None else " (give --dataset)"))
        objs[name] = m
    ctx = EvalContext(real=real, dataset=dataset, device=torch.device(device), seed=seed,
                      cache_dir=cache_dir)
    out: dict[str, float] = {}
    shown = MetricProgress(list(objs), progress)
    try:
        for name, m in objs.items():
            shown.start(name)
            try:
                values = m(fake, ctx)
            except MetricError as exc:
                if explicit:
                    raise MetricError(f"metric {name!r}: {exc}") from None
                warn(f"skipped {name}: {exc}", kind="note")
                continue
            finally:
                shown.done()
            out.update({k: v for k, v in values.items() if _asked(k, name, objs)})
    finally:
        shown.close()
    return out


def _asked(key: str, metric: str, asked) -> bool:
    """Whether entry ``key``, reported by ``metric``, belongs to a metric that was asked for
    (an entry that belongs to another registered metric is left out)."""
    belongs = owner(key)
    return belongs is None or belongs == metric or belongs in asked


def format_text(values: dict[str, float]) -> str:
    """One line per metric: value, and its CI when it has one."""
    rows = []
    for k, v in values.items():
        if k.endswith(("_ci_low", "_ci_high")):
            continue
        line = f"{k:32s} {v:.6g}"
        if f"{k}_ci_low" in values:
            line += f"  [{values[k + '_ci_low']:.6g}, {values[k + '_ci_high']:.6g}]"
        rows.append(line)
    return "\n".join(rows)
