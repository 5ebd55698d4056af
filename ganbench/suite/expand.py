"""Expansion: base x grid x cases into run points, each resolved, with short labels that
tell runs apart; conflicting keys and oversized grids are refused first."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

from ganbench.registry import registry, unknown_message
from ganbench.suite.checks import check_references, check_table
from ganbench.suite.errors import SuiteError
from ganbench.suite.paths import get_path, set_path
from ganbench.suite.resolve import resolve_run
from ganbench.suite.run import PluginRef, RunSpec, label
from ganbench.suite.schema import DEFAULT_BASE, MAX_RUNS, PLUGIN_KEYS, RUN_KEYS, SuiteFile
from ganbench.util import warn


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    # whole sections first, then dotted keys into them (shallowest first): a dotted key is
    # never undone by its section written after it
    for k, v in sorted(over.items(), key=lambda kv: kv[0].count(".")):
        if "." in k:
            set_path(out, k.split("."), copy.deepcopy(v))
        else:
            out[k] = copy.deepcopy(v)
    return out


def expand(spec: SuiteFile, name: str, source: str) -> list[RunSpec]:
    problems: list[tuple[str, str]] = []
    base = _merge(DEFAULT_BASE, spec.base)
    for axis, values in spec.grid.items():
        if axis.split(".")[0] not in RUN_KEYS:
            problems.append((f"grid.{axis}", unknown_message("run key", axis.split('.')[0], RUN_KEYS)))
        if not values:
            problems.append((f"grid.{axis}", "expected a non-empty list of values"))
    problems += _conflicts(spec.grid, "grid", axes=True)
    problems += _conflicts(spec.base, "base")
    for ci, case in enumerate(spec.cases):
        problems += _conflicts(case, f"cases[{ci}]")
    if problems:
        raise SuiteError(source, problems)
    _check_run_count(spec, source)

    label_axes = list(dict.fromkeys([*spec.grid, *spec.table.rows, *spec.table.columns]))
    points: list[tuple[str, dict]] = []  # (where, overrides)
    axes = list(spec.grid)
    for combo in itertools.product(*(range(len(spec.grid[a])) for a in axes)):
        over = {a: spec.grid[a][i] for a, i in zip(axes, combo)}
        where = ", ".join(f"grid.{a}[{i}]" for a, i in zip(axes, combo))
        points.append((where, over))
    for ci, case in enumerate(spec.cases):
        open_axes = _open_axes(axes, case)
        for combo in itertools.product(*(range(len(spec.grid[a])) for a in open_axes)):
            over = {a: spec.grid[a][i] for a, i in zip(open_axes, combo)}
            over.update(case)
            points.append((f"cases[{ci}]", over))

    runs: list[RunSpec] = []
    seen: dict[str, str] = {}
    clamped: list[tuple[int, int]] = []
    for where, over in points:
        merged = _merge(base, over)
        n_before = len(problems)
        cfg = resolve_run(merged, "", problems, clamped)
        if len(problems) > n_before:
            # report the path inside the suite file: the axis or case the value came from
            problems[n_before:] = [(_where_path(p, where, over), m) for p, m in problems[n_before:]]
            continue
        spec_ = RunSpec(name, cfg, {a: get_path(merged, a) for a in label_axes},
                        tuple(spec.plugins))
        if spec_.run_id in seen:
            continue  # the same run reached twice (e.g. a case equal to a grid point)
        seen[spec_.run_id] = where
        runs.append(spec_)
    if problems:
        raise SuiteError(source, _dedupe(problems))
    runs = [RunSpec(r.suite, r.config, labels, r.plugins)
            for r, labels in zip(runs, _short_labels(runs))]
    if not runs:
        raise SuiteError(source, [("grid", "the suite expands into no runs")])
    check_table(spec, label_axes, runs, source)
    check_references(spec, runs, source)
    if clamped:  # said, not silent: these runs are evaluated once, at their end
        every, iterations = clamped[0]
        warn(f"{source}: evaluation.every ({every}) is more than training.iterations "
             f"({iterations}) in {len(clamped)} run(s): each is evaluated once, at its end")
    return runs


def expand_adaptive(spec: SuiteFile, name: str, source: str
                    ) -> tuple[list[RunSpec], list[RunSpec]]:
    """A suite with adaptive seeds (``seeds:``): (the runs of its first look, seeds
    0 .. min-1; every run it may grow to, seeds 0 .. max-1). Each run is the run that a
    ``grid.seed`` axis with the same seed expands to, so run ids are the same."""
    s = spec.seeds
    problems: list[tuple[str, str]] = []
    if s.max < s.min:
        problems.append(("seeds.max", f"expected at least seeds.min ({s.min}), got {s.max}"))
    why = "adaptive seeds (seeds:) number the seeds themselves: 0, 1, 2, ...; remove it"
    if "seed" in spec.grid:
        problems.append(("grid.seed", why + " or seeds:"))
    if "seed" in spec.base:
        problems.append(("base.seed", why))
    problems += [(f"cases[{ci}].seed", why) for ci, case in enumerate(spec.cases)
                 if "seed" in case]
    if problems:
        raise SuiteError(source, problems)
    pool = expand(spec.model_copy(update={"grid": {**spec.grid, "seed": list(range(s.max))}}),
                  name, source)
    return [r for r in pool if r.seed < s.min], pool


def _open_axes(axes: list[str], case: dict[str, Any]) -> list[str]:
    """The grid axes a case leaves open (it is crossed with them)."""
    return [a for a in axes if a not in case and a.split(".")[0] not in case]


def _check_run_count(spec: SuiteFile, source: str) -> None:
    """At most MAX_RUNS runs, counted before anything is expanded (a typo in a seed list
    must not allocate millions of configs first)."""
    sizes = {a: len(v) for a, v in spec.grid.items()}
    n_grid = math.prod(sizes.values())
    n = n_grid + sum(math.prod(sizes[a] for a in _open_axes(list(sizes), c)) for c in spec.cases)
    if n > MAX_RUNS:
        where = "grid" if n_grid > MAX_RUNS else "cases"
        raise SuiteError(source, [(where, f"the suite expands into {n} runs; at most "
                                          f"{MAX_RUNS} per suite (split it into several)")])


def _sets(value: Any, parts: list[str]) -> bool:
    """Whether ``value`` (a section or plug-in mapping) gives the field at ``parts``."""
    node = value
    for k in parts:
        if not isinstance(node, dict):
            return False
        params = node.get("params")
        if k in node:
            node = node[k]
        elif isinstance(params, dict) and k in params:
            node = params[k]
        else:
            return False
    return True


def _conflicts(mapping: dict[str, Any], where: str, axes: bool = False) -> list[tuple[str, str]]:
    """A key and a dotted key inside it that both set one field (``optimizer: {lr_g: ..}``
    and ``optimizer.lr_g``): which one wins would depend on their order. For grid axes the
    values are lists, and any of them setting the field is a conflict."""
    out = []
    for key in mapping:
        parts = key.split(".")
        for cut in range(1, len(parts)):
            parent = ".".join(parts[:cut])
            if parent not in mapping:
                continue
            values = mapping[parent] if axes and isinstance(mapping[parent], list) else [mapping[parent]]
            if any(_sets(v, parts[cut:]) for v in values):
                what = "grid axis" if axes else "key"
                out.append((f"{where}.{key}", f"sets the same field as the {what} {parent!r}, "
                                              f"which already gives {'.'.join(parts[cut:])!r}; "
                                              "give it in one place"))
    return out


def _short_labels(runs: list[RunSpec]) -> list[dict[str, str]]:
    """Label each axis value by its name plus only the parameters that tell apart runs
    sharing that name ('unrolled(k=5)' but plain 'mlp_infogan')."""
    varying: dict[tuple[str, str], set[str]] = {}
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        for axis, raw in r.labels.items():
            ref = PluginRef.parse(raw)
            if ref is None:
                continue
            first = seen.setdefault((axis, ref.name), ref.params)
            keys = varying.setdefault((axis, ref.name), set())
            keys.update(k for k in set(first) | set(ref.params)
                        if first.get(k) != ref.params.get(k))
    out = []
    for r in runs:
        labels = {}
        for axis, raw in r.labels.items():
            ref = PluginRef.parse(raw)
            if ref is None:
                labels[axis] = label(raw)
                continue
            always = _always_labelled(axis, ref.name)
            if always:  # shown with their resolved values (defaults included)
                resolved = PluginRef.parse(r.config.get(axis)) or ref
                ref = PluginRef(ref.name, {**ref.params, **{
                    k: resolved.params[k] for k in always if k in resolved.params}})
            labels[axis] = ref.label(varying[(axis, ref.name)] | always)
        out.append(labels)
    return out


def _always_labelled(axis: str, name: str) -> set[str]:
    """Parameters a plug-in names in every label (its registry entry's ``label_params``:
    what a reader must know of a row, e.g. whether a VAE's samples are means or draws)."""
    kind = PLUGIN_KEYS.get(axis)
    if kind is None or name not in registry(kind):
        return set()
    return set(registry(kind).entry(name).meta.get("label_params", ()))


def _where_path(path: str, where: str, over: dict) -> str:
    top = path.split(".")[0].split("[")[0]
    for key in over:
        if key == top or key.split(".")[0] == top:
            if where.startswith("cases"):
                return f"{where}.{path}"
            for part in where.split(", "):
                if part.startswith(f"grid.{key}["):
                    rest = path[len(key):] if path.startswith(key) else ""
                    return part + rest
    return f"base.{path}"


def _dedupe(problems: list) -> list:
    return list(dict.fromkeys(problems))
