"""Checks of what a suite asks of its results: table axes and metrics, regression bands,
and published values that name a row, a column and a metric of its table."""

from __future__ import annotations

from ganbench.registry import registry, unknown_message
from ganbench.suite import reference as published
from ganbench.suite.errors import SuiteError
from ganbench.suite.run import RunSpec
from ganbench.suite.schema import RUN_KEYS, SuiteFile
from ganbench.util.strict_yaml import show


def check_table(spec: SuiteFile, axes: list[str], runs: list[RunSpec], source: str) -> None:
    problems = []
    for part in ("rows", "columns"):
        for i, a in enumerate(getattr(spec.table, part)):
            if a.split(".")[0] not in RUN_KEYS:
                problems.append((f"table.{part}[{i}]", unknown_message("table axis", a, RUN_KEYS)))
            elif "." in a and a not in spec.grid and not any(_has_path(r.config, a)
                                                             for r in runs):
                # a dotted axis names a setting some run has (else a column of "none")
                known = list(dict.fromkeys([*spec.grid, *RUN_KEYS, *_paths(runs[0].config)]))
                problems.append((f"table.{part}[{i}]", unknown_message("table axis", a, known)))
    if spec.table.metrics:
        reported = reported_entries(runs)
        for i, m in enumerate(spec.table.metrics):
            if m not in reported:
                problems.append((f"table.metrics[{i}]",
                                 unknown_message("evaluated metric", m, reported)))
    evaluated = list(dict.fromkeys(m.name for r in runs for m in r.metrics()))
    for metric in spec.check:
        if metric not in registry("metrics"):
            problems.append((f"check.{metric}", unknown_message("metric", metric, registry("metrics").names())))
        elif metric not in evaluated:  # a band nothing uses is a typo or a stale entry
            problems.append((f"check.{metric}", unknown_message("evaluated metric", metric, evaluated)))
        for key, value in spec.check[metric].items():
            if key not in ("abs", "rel"):  # the band of the regression check (baseline.py)
                problems.append((f"check.{metric}.{key}", unknown_message("key", key, ["abs", "rel"])))
            elif value < 0:  # (pydantic made it a finite number)
                problems.append((f"check.{metric}.{key}", f"expected a band >= 0, got {show(value)}"))
    if problems:
        raise SuiteError(source, problems)


def _has_path(config: dict, dotted: str) -> bool:
    """Whether a run config holds ``dotted`` (a plug-in's parameters under its key too)."""
    node: object = config
    for k in dotted.split("."):
        if isinstance(node, dict) and isinstance(node.get("params"), dict) and k in node["params"]:
            node = node["params"][k]
        elif isinstance(node, dict) and k in node:
            node = node[k]
        else:
            return False
    return True


def _paths(config: dict, prefix: str = "") -> list[str]:
    """Every dotted setting of a run config (plug-in parameters without 'params')."""
    out = []
    for k, v in config.items():
        if k == "params" and isinstance(v, dict):
            out += _paths(v, prefix)
            continue
        path = f"{prefix}{k}"
        out += _paths(v, path + ".") if isinstance(v, dict) else [path]
    return out


def reported_entries(runs: list[RunSpec]) -> list[str]:
    """Every entry the runs' evaluated metrics declare, in order."""
    from ganbench.metrics.registry import entries_of

    names = dict.fromkeys(m.name for r in runs for m in r.metrics())
    return list(dict.fromkeys(e.name for n in names for e in entries_of(n)))


def check_references(spec: SuiteFile, runs: list[RunSpec], source: str) -> None:
    """Published values must name one row, one column and a metric of the suite's table."""
    if spec.reference is not None and spec.references:
        raise SuiteError(source, [("references", "give one published table as reference: or "
                                   "several as references:, not both")])
    refs = published.blocks(spec.reference, spec.references)
    if not refs:
        return
    metrics = spec.table.metrics or reported_entries(runs)
    problems = published.check(refs, spec.table.rows, spec.table.columns,
                               [r.labels for r in runs], metrics)
    if problems:
        raise SuiteError(source, problems)
