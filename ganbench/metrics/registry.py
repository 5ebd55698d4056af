"""The metric registry, and lookups of what registered metrics declare (their entries)."""

from __future__ import annotations

from typing import Any

from ganbench.metrics.base import Metric, ResultEntry, declaration_problems, declared_entries
from ganbench.registry import Registry

# the measurement itself is the one method the Metric base leaves to subclasses
# and its declarations (entries, needs) are checked when it registers
REGISTRY = Registry("metrics", base=Metric, required=("__call__",),
                    validate=declaration_problems)


def entries_of(name: str) -> tuple[ResultEntry, ...]:
    """The entries registered metric ``name`` reports (RegistryError if it is unknown)."""
    return declared_entries(name, REGISTRY.get(name))


def entry_index() -> dict[str, tuple[str, ResultEntry]]:
    """Entry name -> (the metric that reports it, its declaration). A metric's main entry
    belongs to it; an entry several metrics report (``modes_thresholded``, also reported by
    ``modes``) belongs to the metric of that name, else to the first registered."""
    out: dict[str, tuple[str, ResultEntry]] = {}
    for name in REGISTRY.names():
        for e in entries_of(name):
            if e.name not in out or e.name == name:
                out[e.name] = (name, e)
    return out


def find_entry(key: str, evaluated: list[str] | None = None) -> tuple[str, ResultEntry] | None:
    """(metric, declaration) of a result key; with ``evaluated`` (the metric names a run
    evaluated), the one of those metrics that reports it."""
    if evaluated is not None:
        for name in evaluated:
            if name in REGISTRY:
                for e in entries_of(name):
                    if e.name == key:
                        return name, e
        return None
    return entry_index().get(key)


def owner(key: str) -> str | None:
    """The registered metric a result key belongs to: the one declaring it, else the metric
    whose name is its longest prefix (an entry a metric reported under an older version)."""
    found = find_entry(key)
    if found:
        return found[0]
    name = key
    while "_" in name:
        name = name.rsplit("_", 1)[0]
        if name in REGISTRY:
            return name
    return None


def direction(key: str) -> str | None:
    """Declared direction of a result key; None for keys no metric declares."""
    found = find_entry(key)
    return found[1].direction if found else None


def entry_kind(key: str) -> str:
    """'score' for what a metric measures (an entry with a direction, or a metric's main
    entry), 'helper' for what it reports beside it (sample counts, seconds, interval
    bounds: entries declared without a direction, or undeclared keys named after a
    metric), 'other' for keys no metric reports (a trainer's losses)."""
    found = find_entry(key)
    if found is not None:
        name, e = found
        return "score" if e.direction is not None or e.name == name else "helper"
    return "helper" if owner(key) is not None else "other"


def shared_entry_conflicts(refs: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Metrics of one run that report the same entry must compute it alike: the parameters
    they have in common must be equal (else the value in the results would depend on the
    order of evaluation). Returns (index into refs, message) for each conflict."""
    out = []
    seen: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref["name"] not in REGISTRY:
            continue
        for e in entries_of(ref["name"]):
            j = seen.setdefault(e.name, i)
            if j == i:
                continue
            other = refs[j]
            common = set(other["params"]) & set(ref["params"])
            diff = sorted(k for k in common if other["params"][k] != ref["params"][k])
            if other["name"] == ref["name"] or diff:
                what = ", ".join(f"{k}={other['params'][k]!r} vs {ref['params'][k]!r}"
                                 for k in diff) or "evaluated twice"
                out.append((i, f"metric {ref['name']!r} reports {e.name!r}, as metric "
                               f"{other['name']!r} does, with other settings ({what}); "
                               "give both the same settings or evaluate one"))
                break
    return out


def run_metric_problems(refs: list[dict[str, Any]], packing: str | None,
                        training: bool = True) -> list[tuple[int, str]]:
    """(index into refs, message) for each metric of a run that cannot be evaluated there:
    its needs are not met by the run (``base.run_supplies``), or it reports an entry that
    another of the run's metrics reports with other settings."""
    from ganbench.metrics.base import NEEDS, run_supplies

    supplied = run_supplies(packing, training)
    out = []
    for i, ref in enumerate(refs):
        if ref["name"] not in REGISTRY:
            continue
        unmet = sorted(set(getattr(REGISTRY.get(ref["name"]), "needs", ())) - supplied)
        if unmet:
            why = "; ".join(NEEDS.get(n, n) for n in unmet)
            has = {"label": "class labels", "code": "InfoGAN codes"}.get(packing, "no codes")
            out.append((i, f"metric {ref['name']!r} needs {why}; this run's model packs {has}"))
    return out + shared_entry_conflicts(refs)
