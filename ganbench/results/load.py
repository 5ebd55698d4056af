"""Loading: verified runs as pandas frames (wide for tables, tidy for notebooks), in the
suite's grid order where its record gives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ganbench.metrics.registry import entry_kind
from ganbench.results.pooling import varying_columns
from ganbench.results.record import read_suite_record
from ganbench.results.verify import describe_problems, run_checks
from ganbench.util import strict_json


def load_results(results_dir: Path | str) -> pd.DataFrame:
    """One row per finished run: labels (as columns), every other setting that varies
    among these runs (a column by its dotted path, e.g. 'training.iterations'), status, and
    final metrics (wide: 'metric:NAME' columns, as tables need them; notebooks get the tidy
    ``tidy_results``).

    ``results_dir`` is a suite folder (results/<suite>) or a root holding several suites.
    """
    root = Path(results_dir)
    rows = []
    checks = run_checks(root)
    kept = [c for c in checks if c.state in ("finished", "failed")]
    # unfinished runs, or files that do not verify, are left out (results_problems lists them)
    settings = _settings([c.spec or {} for c in kept])
    for c, extra in zip(kept, settings):
        spec, s = c.spec or {}, c.summary or {}
        row: dict[str, Any] = {"suite": spec.get("suite"), "run_id": spec.get("run_id"),
                               "seed": spec["config"].get("seed"), "status": s.get("status"),
                               "diverged_step": s.get("diverged_step"),
                               "group": s.get("group")}
        for k, v in (spec.get("labels") or {}).items():
            row[k] = v
        row.update(extra)
        row.update(feature_columns(spec["config"], s.get("features")))
        for k, v in (s.get("metrics") or {}).items():
            row[f"metric:{k}"] = np.nan if v is None else v
        for k, v in (s.get("timings") or {}).items():
            row[f"time:{k}"] = v
        rows.append(row)
    if not rows:
        bad = [c for c in checks if c.state == "invalid"]
        more = "".join("\n  " + line for line in describe_problems(bad))
        raise FileNotFoundError(f"no finished runs under {root}"
                                + (f"; {len(bad)} run(s) not counted:{more}" if bad else ""))
    return pd.DataFrame(rows)


def feature_columns(config: dict[str, Any], recorded: Any = None) -> dict[str, str]:
    """``features:<entry>`` (the extractor's name) and ``preprocessing:<entry>`` (its input
    size, resize, normalisation and dimension, as JSON) of each entry a metric computed in
    a feature space: as the run's summary recorded them (``auto`` resolved), else, for runs
    from before summaries recorded them, the name its config gives."""
    from ganbench.metrics.registry import REGISTRY, entries_of

    out = {f"features:{k}": v for k, v in feature_spaces(config).items()}
    for name, space in (recorded if isinstance(recorded, dict) else {}).items():
        if not isinstance(space, dict) or name not in REGISTRY:
            continue
        rest = {k: v for k, v in space.items() if k != "extractor"}
        for e in entries_of(name):
            out[f"features:{e.name}"] = str(space.get("extractor"))
            out[f"preprocessing:{e.name}"] = json.dumps(rest, sort_keys=True)
    return out


def feature_spaces(config: dict[str, Any]) -> dict[str, str]:
    """Entry -> the feature extractor its metric computed it in (``features``: fid, kid,
    precision, recall, density, coverage), from a run's resolved config."""
    from ganbench.metrics.registry import REGISTRY, entries_of

    out = {}
    for m in (config.get("evaluation") or {}).get("metrics") or []:
        feats = (m.get("params") or {}).get("features") if isinstance(m, dict) else None
        if feats is not None and m.get("name") in REGISTRY:
            out.update({e.name: str(feats) for e in entries_of(m["name"])})
    return out


def _settings(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per spec, the settings that vary among ``specs`` and that no label shows."""
    return varying_columns([(sp.get("labels") or {}, sp.get("config") or {}) for sp in specs])


def metric_columns(df: pd.DataFrame) -> list[str]:
    return [c[len("metric:"):] for c in df.columns if c.startswith("metric:")]


# --- tidy frames for notebooks (ganbench.load_results, ganbench.load_history) -------------


def _run_folders(root: Path):
    """(spec, summary or None, folder) of every run folder whose spec.yaml verifies; the
    summary only where it verifies too (else the run counts as unfinished)."""
    for c in run_checks(root):
        if c.spec is not None:
            yield c.spec, c.summary, c.path


def _keys(spec: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """suite, run_id, the grid's keys, the other settings that vary (``extra``) and the
    seed of a run: a number where the config holds one (learning rates, iterations), else
    the grid's label ('unrolled(k=5)')."""
    config = spec["config"]
    out: dict[str, Any] = {"suite": spec.get("suite"), "run_id": spec.get("run_id")}
    for axis, text in (spec.get("labels") or {}).items():
        node: Any = config
        for k in axis.split("."):
            node = node.get(k) if isinstance(node, dict) else None
        numeric = isinstance(node, (int, float)) and not isinstance(node, bool)
        out[axis] = node if numeric else text
    out.update(extra or {})
    out["seed"] = int(config.get("seed", 0))
    return out


def _frame(rows: list[dict[str, Any]], what: str, root: Path) -> pd.DataFrame:
    if not rows:
        raise FileNotFoundError(f"no {what} under {root}")
    df = pd.DataFrame(rows)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    return df


def tidy_results(results_dir: Path | str) -> pd.DataFrame:
    """Finished runs' final metrics, tidy: one row per run and metric entry.

    Columns: suite, run_id, the grid's keys (numbers stay numbers; plug-ins by their
    label), seed (int), status (done | diverged | failed), metric, kind, value. ``kind``
    tells scores ('score': what a metric measures, e.g. modes, jsd_classifier) from the
    entries reported beside them ('helper': jsd_classifier_n, jsd_classifier_seconds,
    interval bounds), so ``df[df.kind == "score"]`` holds only what tables compare. A run
    without final metrics (diverged, failed) keeps one row with no metric and no value, so
    that it is still counted. ``results_dir``: a suite's folder or a root of several.
    """
    root = Path(results_dir)
    rows = []
    found = [(spec, summary) for spec, summary, _ in _run_folders(root) if summary is not None]
    for (spec, summary), extra in zip(found, _settings([sp for sp, _ in found])):
        keys = {**_keys(spec, extra), "status": summary.get("status")}
        metrics = summary.get("metrics") or {}
        rows += [{**keys, "metric": k, "kind": entry_kind(k), "value": v}
                 for k, v in metrics.items()]
        if not metrics:
            rows.append({**keys, "metric": None, "kind": None, "value": None})
    return _frame(rows, "finished runs", root)


def load_history(results_dir: Path | str) -> pd.DataFrame:
    """Every evaluation of every run (finished or still training), tidy: one row per run,
    evaluation and entry of metrics.jsonl (losses included).

    Columns: suite, run_id, the grid's keys, seed, status ('unfinished' while a run trains),
    step, wall_s (training seconds so far), metric, kind ('score', 'helper' as in
    ``tidy_results``, 'other' for the trainer's losses), value.
    """
    root = Path(results_dir)
    rows = []
    found = list(_run_folders(root))
    for (spec, summary, folder), extra in zip(found, _settings([sp for sp, _, _ in found])):
        keys = {**_keys(spec, extra), "status": (summary or {}).get("status", "unfinished")}
        p = folder / "metrics.jsonl"
        try:
            evals = strict_json.read_lines(p) if p.is_file() else []  # bounded
        except (OSError, ValueError):
            continue
        if not all(isinstance(e, dict) for e in evals):
            continue  # not what ganbench writes: no history of this run
        for e in evals:
            at = {**keys, "step": e.get("step"), "wall_s": e.get("wall_s")}
            rows += [{**at, "metric": k, "kind": entry_kind(k), "value": v}
                     for k, v in e.items() if k not in ("step", "wall_s")]
    return _frame(rows, "evaluations", root)


def ordered_results(results_dir: Path | str) -> pd.DataFrame:
    """load_results in the suite's grid order (when its record lists it), not by run id."""
    df = load_results(results_dir)
    order = {rid: i for i, rid in enumerate(read_suite_record(results_dir).get("runs", []))}
    if order:
        df = df.assign(_order=df["run_id"].map(order).fillna(len(order))).sort_values(
            "_order", kind="stable").drop(columns="_order")
    return df
