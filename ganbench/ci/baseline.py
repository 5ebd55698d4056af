"""Baselines: the expected metrics of a suite, per run group, for the regression check.

A *group* is the set of runs of one suite that differ only in their seed. Its key is the
hash of the resolved config without the seed, so a re-run with other seeds lands in the
same group; its labels (without the seed) are for people. Per group and metric a baseline
keeps every seed's value, their mean and spread, the metric's direction and its band, and
the environment the runs were made in. ``summarise`` is also what the check applies to the
fresh results, so both sides of a comparison are read by the same code.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import math
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ganbench.metrics import registry as metric_decl
from ganbench.registry import registry, unknown_message
from ganbench.results import (
    SUITE_RECORD,
    load_results,
    metric_columns,
    not_counted,
    read_suite_record,
    recorded_runs,
    warn_not_counted,
)
from ganbench.results.aggregate import aggregate
from ganbench.suite import RunSpec, pydantic_problems
from ganbench.util import strict_json
from ganbench.util.atomic import atomic_write_text, dumps
from ganbench.util.strict_yaml import show

FORMAT = 1
BAND_KEYS = ("abs", "rel")


# --- the file's shape ------------------------------------------------------------------
# Strict: a number is a finite number (not a string or a boolean), a direction is max or
# min. Fields a newer version may add are allowed where the check does not read them.


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="allow")


class Band(_Shape):
    model_config = ConfigDict(extra="forbid")
    abs: float = Field(0.0, ge=0)
    rel: float = Field(0.0, ge=0)


class MetricRecord(_Shape):
    values: dict[str, float]
    direction: Literal["max", "min"]
    band: Band
    missing: list[int] = []


class RunRecord(_Shape):
    run_id: str = Field(min_length=1)
    seed: int = Field(ge=0)
    status: str


class GroupRecord(_Shape):
    labels: dict[str, Any]
    config: dict[str, Any]
    runs: list[RunRecord] = Field(min_length=1)
    metrics: dict[str, MetricRecord]


class BaselineFile(_Shape):
    format: Literal[1]  # FORMAT
    suite: str = Field(min_length=1)
    # empty groups would expect nothing, and every check would pass
    groups: dict[str, GroupRecord] = Field(min_length=1)
    check: dict[str, Band] = {}
    environment: dict[str, Any] = {}


class BaselineError(ValueError):
    """A baseline file (or what a baseline is recorded from) of the wrong shape: each
    problem names the file and the key. A usage error (exit 2), never a regression."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        lines = [f"{source}: {p}: {m}" if p else f"{source}: {m}" for p, m in problems[:20]]
        if len(problems) > 20:
            lines.append(f"... and {len(problems) - 20} more")
        super().__init__("invalid baseline\n" + "\n".join("  " + line for line in lines))


def validate(base: Any, source: str) -> dict[str, Any]:
    """``base`` if it has a baseline's shape, else BaselineError naming ``source``."""
    if not isinstance(base, dict):
        raise BaselineError(source, [("", f"not a ganbench baseline: expected a JSON object, "
                                          f"got {show(base)}")])
    if base.get("format") != FORMAT:
        raise BaselineError(source, [("format", f"not a ganbench baseline of format {FORMAT}"
                                                f", got {show(base.get('format'))}")])
    if base.get("groups") == {}:
        raise BaselineError(source, [("groups", "empty: a baseline that expects nothing would "
                                                "pass every check; record one from finished runs "
                                                "with `ganbench baseline`")])
    try:
        BaselineFile.model_validate(base)
    except ValidationError as exc:
        raise BaselineError(source, pydantic_problems(exc, BaselineFile)) from None
    problems = [p for key, g in base["groups"].items() for p in _group_problems(key, g)]
    if problems:
        raise BaselineError(source, problems)
    return base


def _group_problems(key: str, g: dict[str, Any]) -> list[tuple[str, str]]:
    """What the shape leaves open: a group's key is the hash of its config, its metrics are
    registered entries, their values are of the group's seeds, and the recorded n, mean and
    std are those of the values (the check reads them: a corrupted one is refused, not
    recomputed silently)."""
    from ganbench.suite.run import run_id

    out = []
    try:
        if run_id(g["config"]) != key:
            out.append((f"groups.{key}", "its key is not the hash of its config (another "
                                         "group's key, or an edited config?)"))
    except (TypeError, ValueError, RecursionError):
        out.append((f"groups.{key}.config", "cannot be hashed"))
    seeds = {str(r["seed"]) for r in g["runs"]}
    for name, m in g["metrics"].items():
        at = f"groups.{key}.metrics.{name}"
        if metric_decl.owner(name) is None:
            out.append((at, unknown_message("metric entry", name,
                                            list(metric_decl.entry_index()))))
            continue
        values, missing = m["values"], m.get("missing", [])
        if not values and not missing:
            out.append((f"{at}.values", "empty, and no seed is listed as missing"))
        stray = sorted(set(values) - seeds) + sorted({str(x) for x in missing} - seeds)
        if stray:
            out.append((f"{at}.values", f"seeds {', '.join(stray[:5])} are not runs of this "
                                        f"group (its seeds: {', '.join(sorted(seeds))})"))
        agg = aggregate(values.values())
        want = {"n": agg.n, "mean": agg.mean, "std": agg.std if agg.n else 0.0}
        for field_, v in want.items():
            got = m.get(field_)
            if got is None:
                continue
            if isinstance(got, bool) or not isinstance(got, (int, float)) or (
                    v is not None and not math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-12)):
                out.append((f"{at}.{field_}", f"{show(got)} is not the {field_} of its values "
                                              f"({show(v)}): a corrupted baseline?"))
    return out


def check_bands(overrides: Any, source: str) -> dict[str, dict[str, float]]:
    """A suite's ``check:`` bands as recorded with its results (suite.json), validated."""
    try:
        _BANDS.validate_python(overrides or {})
    except ValidationError as exc:
        raise BaselineError(source, pydantic_problems(exc, BaselineFile, "check")) from None
    return overrides or {}


_BANDS = TypeAdapter(dict[str, Band])


def same_suite(base: dict[str, Any], current: dict[str, Any], source: str) -> None:
    """A baseline is compared only with results of its own suite."""
    if base["suite"] != current.get("suite"):
        raise BaselineError(source, [("suite", f"the baseline is of suite {show(base['suite'])}"
                                               f", the results of suite "
                                               f"{show(current.get('suite'))}; pass that "
                                               "suite's baseline")])


# --- metric properties ---------------------------------------------------------------


def measured(key: str) -> bool:
    """Whether a result entry is a measurement the check compares: its metric declares a
    direction for it (bounds, counts, unit conversions have none)."""
    return metric_decl.direction(key) is not None


def metric_band(key: str, overrides: dict[str, dict[str, float]] | None = None,
                metric: str | None = None) -> dict[str, float] | None:
    """Practical-significance band {abs, rel} of a result key: the ``band`` of the metric
    that reported it (``metric``, else the one declaring it), with the suite's ``check:``
    entry for that metric replacing the values it names."""
    name = metric or metric_decl.owner(key)
    if name is None:
        return None
    abs_, rel = getattr(registry("metrics").get(name), "band", (0.0, 0.0))
    band = {"abs": float(abs_), "rel": float(rel)}
    for k, v in ((overrides or {}).get(name) or {}).items():
        if k not in BAND_KEYS:
            raise ValueError(f"check.{name}.{k}: unknown band key; valid: abs, rel")
        band[k] = float(v)
    return band


def tolerance(band: dict[str, float], reference: float) -> float:
    """Largest change that is not practically significant, around ``reference``."""
    return max(band["abs"], band["rel"] * abs(reference))


# --- reading results -------------------------------------------------------------------


def _specs(results_dir: Path) -> dict[str, dict[str, Any]]:
    """run_id -> spec.yaml contents, for every run under the folder."""
    out = {}
    for p in results_dir.glob("**/spec.yaml"):
        try:
            spec = yaml.safe_load(p.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(spec, dict) and "run_id" in spec:
            out[spec["run_id"]] = spec
    return out


def _environment(results_dir: Path, run_ids: list[str]) -> dict[str, Any]:
    """The runs' environments merged: one value per key, or the sorted distinct values."""
    seen: dict[str, set] = {}
    for p in results_dir.glob("**/summary.json"):
        if p.parent.name not in run_ids:
            continue
        try:
            env = strict_json.read(p).get("environment") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for k, v in env.items():
            seen.setdefault(k, set()).add(str(v))
    env = {k: (next(iter(v)) if len(v) == 1 else sorted(v)) for k, v in sorted(seen.items())}
    try:
        env["ganbench"] = metadata.version("ganbench")
    except metadata.PackageNotFoundError:
        pass
    return env


def summarise(results_dir: Path | str) -> dict[str, Any]:
    """Per group and metric: values per seed, mean, spread, direction and band.

    ``results_dir`` is one suite's folder (results/<suite>). Only finished runs of the
    suite's latest ``ganbench run`` count (suite.json lists them); a metric's values come
    from runs whose status is done and whose value is finite.
    """
    root = Path(results_dir)
    df = load_results(root)
    suites = sorted({str(s) for s in df["suite"].dropna().unique()})
    if len(suites) != 1:
        raise ValueError(f"{root}: expected the results of one suite, found "
                         f"{', '.join(suites) or 'none'}; pass results/<suite>")
    specs = _specs(root)
    meta = read_suite_record(root)
    overrides = check_bands(meta.get("check"), str(root / SUITE_RECORD))
    df, _ = recorded_runs(df, meta.get("runs") or None)  # not runs of an earlier version
    columns = set(metric_columns(df))
    groups: dict[str, dict[str, Any]] = {}
    for row in df.to_dict("records"):
        spec = specs.get(row["run_id"])
        if spec is None:
            continue
        rs = RunSpec(spec["suite"], spec["config"], spec.get("labels") or {})
        key = rs.group_key(("seed",))
        g = groups.get(key)
        if g is None:
            config = copy.deepcopy(rs.config)
            config.pop("seed", None)
            g = groups[key] = {"labels": {k: v for k, v in rs.labels.items() if k != "seed"},
                               "config": config, "runs": [], "metrics": {}}
        g["runs"].append({"run_id": rs.run_id, "seed": rs.seed, "status": row["status"]})
        if row["status"] != "done":
            continue
        evaluated = [m["name"] for m in rs.config["evaluation"]["metrics"]]
        for k, (name, entry) in _compared_entries(evaluated).items():
            if k not in columns:
                continue  # results recorded before the metric declared this entry
            v = row.get(f"metric:{k}")
            m = g["metrics"].setdefault(k, {"values": {}, "missing": [], "metric": name,
                                            "direction": entry.direction})
            if v is None or not math.isfinite(float(v)):
                m["missing"].append(rs.seed)
            else:
                m["values"][str(rs.seed)] = float(v)
    for g in groups.values():
        g["runs"].sort(key=lambda r: r["seed"])
        for k, m in list(g["metrics"].items()):
            if not m["values"] and not m["missing"]:
                del g["metrics"][k]
                continue
            agg = aggregate(m["values"].values())
            name = m.pop("metric")
            m.update(n=agg.n, mean=agg.mean, std=agg.std if agg.n else 0.0,
                     band=metric_band(k, overrides, name))
            if not m["missing"]:
                del m["missing"]
    return {"format": FORMAT, "suite": suites[0], "check": overrides,
            "environment": _environment(root, [r for r in df["run_id"]]),
            "groups": dict(sorted(groups.items())),
            # runs of the suite not counted (unreadable, unfinished): the check fails on
            # those the baseline has
            "not_counted": not_counted(root)}


def _compared_entries(evaluated: list[str]) -> dict[str, tuple[str, Any]]:
    """Entries with a direction that a run's evaluated metrics declare -> (the metric that
    reports it, its declaration); an entry two metrics report belongs to the one named
    like it (``modes_thresholded``), else to the first evaluated."""
    out: dict[str, tuple[str, Any]] = {}
    for name in evaluated:
        if name not in metric_decl.REGISTRY:
            continue
        for e in metric_decl.entries_of(name):
            if e.direction is not None and (e.name not in out or e.name == name):
                out[e.name] = (name, e)
    return out


def record(results_dir: Path | str, out: Path | str) -> dict[str, Any]:
    """Write the baseline of a suite's results to ``out`` (atomically) and return it."""
    warn_not_counted(results_dir)
    base = summarise(results_dir)
    base.pop("not_counted", None)  # a property of these results, not of the expectation
    if not base["groups"]:
        raise ValueError(f"{results_dir}: no finished run with a spec.yaml to record")
    base["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    base["source"] = str(results_dir)
    text = dumps(base, indent=2) + "\n"
    validate(json.loads(text), str(out))  # never write a file that check would refuse
    atomic_write_text(Path(out), text)
    return base


def load(path: Path | str) -> dict[str, Any]:
    """Read a baseline file, checking its shape (errors name the file and the key)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no baseline file at {p} (record one with `ganbench baseline`)")
    # JSONProblem (exit 2) names the file: depth, size, digits; a NaN is read, for the
    # schema to name its key
    base = strict_json.read(p, constants=True)
    return validate(base, str(p))


def group_title(labels: dict[str, str]) -> str:
    return " / ".join(str(v) for v in labels.values()) or "(all)"
