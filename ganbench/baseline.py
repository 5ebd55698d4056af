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
from typing import Any

import numpy as np
import yaml

from ganbench.registry import registry
from ganbench.report import read_suite_meta
from ganbench.results import atomic_write_text, dumps, load_results, metric_columns
from ganbench.suite import RunSpec
from ganbench.tables import metric_direction, registered_metric

FORMAT = 1
BAND_KEYS = ("abs", "rel")


# --- metric properties ---------------------------------------------------------------


def measured(key: str) -> bool:
    """Whether a result entry is a measurement the check compares (it has a direction)."""
    return metric_direction(key) is not None


def metric_band(key: str, overrides: dict[str, dict[str, float]] | None = None
                ) -> dict[str, float] | None:
    """Practical-significance band {abs, rel} of a result key: the metric class's ``band``,
    with the suite's ``check:`` entry for that metric replacing the values it names."""
    name = registered_metric(key)
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
            env = json.loads(p.read_text()).get("environment") or {}
        except (OSError, ValueError):
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
    meta = read_suite_meta(root)
    overrides = meta.get("check") or {}
    if meta.get("runs"):  # runs left over from an earlier version of the suite do not count
        df = df[df["run_id"].isin(set(meta["runs"]))]
    keys = [k for k in metric_columns(df) if measured(k)]
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
        evaluated = {m["name"] for m in rs.config["evaluation"]["metrics"]}
        for k in keys:
            if registered_metric(k) not in evaluated:
                continue
            v = row.get(f"metric:{k}")
            m = g["metrics"].setdefault(k, {"values": {}, "missing": []})
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
            vals = np.array(list(m["values"].values()), dtype=float)
            m.update(n=len(vals),
                     mean=float(vals.mean()) if len(vals) else None,
                     std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                     direction=metric_direction(k), band=metric_band(k, overrides))
            if not m["missing"]:
                del m["missing"]
    return {"format": FORMAT, "suite": suites[0], "check": overrides,
            "environment": _environment(root, [r for r in df["run_id"]]),
            "groups": dict(sorted(groups.items()))}


def record(results_dir: Path | str, out: Path | str) -> dict[str, Any]:
    """Write the baseline of a suite's results to ``out`` (atomically) and return it."""
    base = summarise(results_dir)
    if not base["groups"]:
        raise ValueError(f"{results_dir}: no finished run with a spec.yaml to record")
    base["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    base["source"] = str(results_dir)
    atomic_write_text(Path(out), dumps(base, indent=2) + "\n")
    return base


def load(path: Path | str) -> dict[str, Any]:
    """Read a baseline file, checking its shape (errors name the file and the key)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no baseline file at {p} (record one with `ganbench baseline`)")
    try:
        base = json.loads(p.read_text())
    except ValueError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(base, dict) or base.get("format") != FORMAT:
        raise ValueError(f"{p}: not a ganbench baseline (expected 'format': {FORMAT})")
    groups = base.get("groups")
    if not isinstance(groups, dict):
        raise ValueError(f"{p}: 'groups' must be a mapping of group key -> group")
    for key, g in groups.items():
        for field in ("labels", "config", "runs", "metrics"):
            if field not in g:
                raise ValueError(f"{p}: groups.{key}: missing '{field}'")
        for name, m in g["metrics"].items():
            for field in ("values", "direction", "band"):
                if field not in m:
                    raise ValueError(f"{p}: groups.{key}.metrics.{name}: missing '{field}'")
    return base


def group_title(labels: dict[str, str]) -> str:
    return " / ".join(str(v) for v in labels.values()) or "(all)"
