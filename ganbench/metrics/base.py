"""The metric contract: a measurement of generated samples against the real distribution.

``metric(fake, ctx)`` returns a dict of floats whose main entry has the metric's own name
(extra entries, e.g. ``jsd_classifier_ci_low``, start with it). Metrics see samples and the
dataset (through ``EvalContext``), never the trainer.

A metric class declares what it reports and what it needs, so that tables, the regression
check and suite validation read meaning from declarations, not from entry names:

- ``entries``: one ``ResultEntry`` (name, direction "max" / "min" / None, unit, one line about it)
  per key ``__call__`` returns, the main entry first. None is the default direction: a
  bound, a count, a coordinate or a unit conversion is not a score and is never ranked or
  regression-checked. A class that declares no entries reports one main entry named after
  its registered name, with the class's ``direction`` (default None).
- ``needs``: what the run must supply beyond samples and the dataset (keys of ``NEEDS``);
  a suite that evaluates a metric whose needs its runs cannot meet is rejected before
  anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from ganbench.data.base import Dataset


class MetricError(ValueError):
    """A metric cannot be computed on this input (the message says why)."""


@dataclass
class EvalContext:
    #: held-out real samples [N, *shape], same count as the fake ones unless a metric says
    real: Tensor
    dataset: Dataset | None = None
    device: torch.device = torch.device("cpu")
    seed: int = 0
    cache_dir: Path | None = None
    #: optional extras some diagnostics use (e.g. the training critic's outputs)
    extras: dict[str, Any] = field(default_factory=dict)


DIRECTIONS = ("max", "min", None)

#: what a metric may need from the run, beyond samples and the dataset
NEEDS: dict[str, str] = {
    "critic": "the training critic (ctx.extras['critic'](x) -> raw outputs; grad=True for "
              "its input gradient; supplied while training, not for sample files)",
    "codes": "the discrete codes the samples were generated from (ctx.extras['labels']; a "
             "model that packs labels or codes, e.g. mlp_conditional or mlp_infogan)",
    "labels": "the class labels the samples were generated from (a conditional model, e.g. "
              "mlp_conditional)",
    "q_head": "InfoGAN's packed samples and a critic with a Q head (ctx.extras['packed']; an "
              "InfoGAN model, e.g. mlp_infogan)",
    "plain_critic": "a critic that gives one score per sample from the sample alone (a "
                    "conditional model's critic also reads the class labels; InfoGAN's "
                    "also returns its Q head)",
}


def run_supplies(packing: str | None, training: bool = True) -> set[str]:
    """The needs a run meets, from its model's ``packing`` ("label", "code" or None): what
    the trainer puts into ``EvalContext.extras`` (train.evaluate_member)."""
    out = {"critic"} if training else set()
    if training and packing is None:
        out.add("plain_critic")
    if packing == "label":
        out |= {"codes", "labels"}
    elif packing == "code":
        out |= {"codes", "q_head"}
    return out


@dataclass(frozen=True)
class ResultEntry:
    """One key a metric reports."""

    name: str
    #: "max": larger is better, "min": smaller is better, None: not a score
    direction: str | None = None
    unit: str = ""
    #: one line for table legends (e.g. which definition of a mode count)
    about: str = ""
    #: the values it can take, (low, high), None for no bound at that end; a high end of
    #: "modes" is the number of modes of the run's dataset. Unset: from the unit (a
    #: fraction lies in [0, 1], a count of modes in [0, modes]), else unbounded. Results
    #: outside it do not verify (``results.verify``)
    bounds: tuple[float | None, float | str | None] | None = None
    #: whether a value may be infinite (NaN is written as null, "no value")
    finite: bool = True

    def value_range(self) -> tuple[float | None, float | str | None]:
        if self.bounds is not None:
            return self.bounds
        return UNIT_RANGES.get(self.unit, (None, None))


#: the range an entry of a unit has unless it declares its own ``bounds``
UNIT_RANGES: dict[str, tuple[float | None, float | str | None]] = {
    "fraction": (0.0, 1.0), "modes": (0.0, "modes"), "samples": (0.0, None),
    "steps": (0.0, None), "s": (0.0, None)}


class Metric:
    """``metric(fake, ctx)`` measures one run's samples. ``evaluate_many(fakes, ctxs)`` gives
    the same results for the members of a group at once; by default it calls the metric
    once per member, and a metric overrides it where it can batch (e.g. one ensemble of
    fresh classifiers for all of them). The trainer uses an override when there are several
    members and, when it raises, says so on stderr and measures each member alone. A
    member's result must not depend on the others in the call."""

    #: what ``__call__`` reports, the main entry (named like the metric) first
    entries: ClassVar[tuple[ResultEntry, ...]] = ()
    #: direction of the main entry for a class that declares no ``entries``
    direction: ClassVar[str | None] = None
    #: keys of NEEDS the run must supply
    needs: ClassVar[frozenset[str]] = frozenset()
    #: practical-significance band used by the regression check (absolute, relative)
    band: tuple[float, float] = (0.0, 0.05)
    #: fewest samples per side it can measure (checked against a suite's
    #: evaluation.samples before anything runs)
    min_samples: ClassVar[int] = 2
    #: evaluated by default where it applies
    default: bool = False

    def applies(self, dataset: Dataset | None) -> str | None:
        """None if the metric can run on this dataset, else the reason it cannot."""
        return None

    def feature_space(self, dataset: Dataset | None) -> dict[str, object] | None:
        """The feature extractor its values are computed in, with its preprocessing, as a
        run's summary records it (None: the metric reads the samples themselves)."""
        return None

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        raise NotImplementedError

    def evaluate_many(self, fakes: list[Tensor], ctxs: list[EvalContext]) -> list[dict[str, float]]:
        """The results of several members, in order (by default one call each)."""
        return [self(f, c) for f, c in zip(fakes, ctxs)]

    def batches(self) -> bool:
        """Whether ``evaluate_many`` is this metric's own (a batched path), not the loop."""
        return type(self).evaluate_many is not Metric.evaluate_many


def declared_entries(name: str, cls: type) -> tuple[ResultEntry, ...]:
    """The entries metric class ``cls``, registered as ``name``, reports."""
    declared = tuple(getattr(cls, "entries", ()) or ())
    return declared or (ResultEntry(name, getattr(cls, "direction", None)),)


def declaration_problems(name: str, cls: type) -> list[str]:
    """What is wrong with a metric class's declarations (empty: nothing)."""
    out = []
    entries = declared_entries(name, cls)
    if not all(isinstance(e, ResultEntry) for e in entries):
        return [f"metric {name!r}: entries must be ganbench.metrics.base.Entry objects"]
    if entries[0].name != name:
        out.append(f"metric {name!r}: its first entry must be named {name!r}, "
                   f"got {entries[0].name!r}")
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        out.append(f"metric {name!r}: an entry is declared twice ({', '.join(names)})")
    for e in entries:
        lo, hi = e.value_range() if isinstance(e.bounds, (tuple, type(None))) else (0, 0)
        if not (isinstance(e.bounds, (tuple, type(None))) and _bound(lo) and
                (_bound(hi) or hi == "modes")):
            out.append(f"metric {name!r}: entry {e.name!r} has bounds {e.bounds!r}; expected "
                       "(low, high) of numbers or None (high may be 'modes')")
        if e.direction not in DIRECTIONS:
            out.append(f"metric {name!r}: entry {e.name!r} has direction {e.direction!r}; "
                       "expected 'max', 'min' or None")
    unknown = set(getattr(cls, "needs", ()) or ()) - set(NEEDS)
    if unknown:
        out.append(f"metric {name!r}: unknown needs {sorted(unknown)}; valid: "
                   f"{', '.join(NEEDS)}")
    return out


def _bound(x: Any) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))


def needs_modes(dataset: Dataset | None) -> str | None:
    if dataset is None or dataset.mode_centres() is None:
        return "needs a dataset with known mode centres (a mixture such as ring or grid)"
    return None
