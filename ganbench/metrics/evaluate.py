"""Score a sample set against real samples with named or default metrics (what
``ganbench.evaluate`` and the ``evaluate`` verb run)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext, MetricError
from ganbench.metrics.samples import SampleFileError
from ganbench.util import warn


def default_metrics(dataset, samples: int | None = None) -> list[str]:
    """The metrics evaluated by default: those marked ``default`` that apply to the
    dataset and, given the number of evaluation ``samples`` (suites give it), can measure
    that many."""
    return [e.name for e in METRICS.entries()
            if getattr(e.obj, "default", False) and e.create().applies(dataset) is None
            and (samples is None or samples >= getattr(e.obj, "min_samples", 0))]


def evaluate(real: Tensor, fake: Tensor, dataset=None, metrics: list[str] | None = None,
             seed: int = 0, device: str = "cpu", cache_dir: Path | None = None,
             names: tuple[str, str] = ("real", "fake")) -> dict[str, float]:
    """Metric -> value (with extras such as ``_ci_low``) of ``fake`` against ``real``.

    Named metrics that cannot run are errors; default metrics (``metrics=None``) that fail
    on these samples are skipped with a note on stderr.
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
    for name, m in objs.items():
        try:
            out.update(m(fake, ctx))
        except MetricError as exc:
            if explicit:
                raise MetricError(f"metric {name!r}: {exc}") from None
            warn(f"skipped {name}: {exc}", kind="note")
    return out


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
