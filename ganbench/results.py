"""Writing (atomically) and loading run results.

    <root>/<suite>/<run_id>/spec.yaml, metrics.jsonl, summary.json, samples.npz, checkpoint.pt

Every file is written to a temporary name in the same folder and renamed into place, so a
crash never leaves a half-written file that the loader would take as valid. A run is
finished when its summary.json exists; the loader reads only finished runs.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

STATUSES = ("done", "diverged", "failed")


def atomic_write_bytes(path: Path, data: bytes, durable: bool = False) -> None:
    """Write to a temporary file in the same folder, then rename: readers see the old file
    or the new one, never a part. ``durable`` also fsyncs (survives power loss, ~10 ms)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, durable: bool = False) -> None:
    atomic_write_bytes(path, text.encode(), durable)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(_finite(obj), indent=indent, sort_keys=True, default=_json_default)


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null (a diverged metric is 'no value')."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class RunDir:
    """The folder of one run."""

    def __init__(self, root: Path | str, suite: str, run_id: str):
        self.path = Path(root) / suite / run_id

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def is_finished(self) -> bool:
        return self.summary_path.is_file()

    def write_spec(self, spec: dict[str, Any]) -> None:
        atomic_write_text(self.path / "spec.yaml", yaml.safe_dump(spec, sort_keys=False))

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        # rewritten whole at each evaluation (small), so the file is never half a line
        atomic_write_text(self.path / "metrics.jsonl", "".join(dumps(r) + "\n" for r in rows))

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def write_samples(self, **arrays: np.ndarray) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(self.path / "samples.npz", buf.getvalue())

    def write_summary(self, summary: dict[str, Any]) -> None:
        if summary.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        # the summary marks a run finished: make it durable
        atomic_write_text(self.summary_path, dumps(summary, indent=2), durable=True)

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text())


def load_results(results_dir: Path | str) -> pd.DataFrame:
    """One row per finished run: labels (as columns), status, and final metrics (wide:
    'metric:NAME' columns, as tables need them; notebooks get the tidy ``tidy_results``).

    ``results_dir`` is a suite folder (results/<suite>) or a root holding several suites.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder at {root}")
    rows = []
    for summary in sorted(root.glob("**/summary.json")):
        try:
            s = json.loads(summary.read_text())
            spec = yaml.safe_load((summary.parent / "spec.yaml").read_text())
        except (OSError, ValueError, yaml.YAMLError):
            continue  # unreadable: not a finished run
        row: dict[str, Any] = {"suite": spec.get("suite"), "run_id": spec.get("run_id"),
                               "seed": spec["config"].get("seed"), "status": s.get("status"),
                               "diverged_step": s.get("diverged_step"),
                               "group": s.get("group")}
        for k, v in (spec.get("labels") or {}).items():
            row[k] = v
        for k, v in (s.get("metrics") or {}).items():
            row[f"metric:{k}"] = np.nan if v is None else v
        for k, v in (s.get("timings") or {}).items():
            row[f"time:{k}"] = v
        rows.append(row)
    if not rows:
        raise FileNotFoundError(f"no finished runs under {root}")
    return pd.DataFrame(rows)


def metric_columns(df: pd.DataFrame) -> list[str]:
    return [c[len("metric:"):] for c in df.columns if c.startswith("metric:")]


# --- tidy frames for notebooks (ganbench.load_results, ganbench.load_history) -------------


def _run_folders(root: Path):
    """(spec, summary or None, folder) of every run folder with a readable spec.yaml."""
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder at {root}")
    for spec_path in sorted(root.glob("**/spec.yaml")):
        try:
            spec = yaml.safe_load(spec_path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
            continue
        summary = None
        p = spec_path.parent / "summary.json"
        if p.is_file():
            try:
                summary = json.loads(p.read_text())
            except (OSError, ValueError):
                continue  # being written or damaged: not a finished run
        yield spec, summary, spec_path.parent


def _keys(spec: dict[str, Any]) -> dict[str, Any]:
    """suite, run_id, the grid's keys and the seed of a run: a number where the config
    holds one (learning rates, iterations), else the grid's label ('unrolled(k=5)')."""
    config = spec["config"]
    out: dict[str, Any] = {"suite": spec.get("suite"), "run_id": spec.get("run_id")}
    for axis, text in (spec.get("labels") or {}).items():
        node: Any = config
        for k in axis.split("."):
            node = node.get(k) if isinstance(node, dict) else None
        numeric = isinstance(node, (int, float)) and not isinstance(node, bool)
        out[axis] = node if numeric else text
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
    label), seed (int), status (done | diverged | failed), metric, value. A run without
    final metrics (diverged, failed) keeps one row with no metric and no value, so that it
    is still counted. ``results_dir``: a suite's folder or a root of several.
    """
    root = Path(results_dir)
    rows = []
    for spec, summary, _ in _run_folders(root):
        if summary is None:
            continue
        keys = {**_keys(spec), "status": summary.get("status")}
        metrics = summary.get("metrics") or {}
        rows += [{**keys, "metric": k, "value": v} for k, v in metrics.items()]
        if not metrics:
            rows.append({**keys, "metric": None, "value": None})
    return _frame(rows, "finished runs", root)


def load_history(results_dir: Path | str) -> pd.DataFrame:
    """Every evaluation of every run (finished or still training), tidy: one row per run,
    evaluation and entry of metrics.jsonl (losses included).

    Columns: suite, run_id, the grid's keys, seed, status ('unfinished' while a run trains),
    step, wall_s (training seconds so far), metric, value.
    """
    root = Path(results_dir)
    rows = []
    for spec, summary, folder in _run_folders(root):
        keys = {**_keys(spec), "status": (summary or {}).get("status", "unfinished")}
        p = folder / "metrics.jsonl"
        try:
            lines = p.read_text().splitlines() if p.is_file() else []
            evals = [json.loads(line) for line in lines if line.strip()]
        except (OSError, ValueError):
            continue
        for e in evals:
            at = {**keys, "step": e.get("step"), "wall_s": e.get("wall_s")}
            rows += [{**at, "metric": k, "value": v} for k, v in e.items()
                     if k not in ("step", "wall_s")]
    return _frame(rows, "evaluations", root)


# --- the suite record: what a results folder holds, written by the executor -------------

SUITE_RECORD = "suite.json"


class ResultsError(ValueError):
    """A results file exists but is not what ganbench wrote (the message names it)."""


def write_suite_record(suite: Any, root: Path | str) -> None:
    """``<root>/<suite>/suite.json``: the validated suite (its table, references and
    regression bands) and its runs in grid order, so that tables, reports and the
    regression check need only the results folder."""
    record = {"name": suite.name, "source": suite.source,
              "overrides": list(getattr(suite, "overrides", ())),  # run's --set options
              "description": suite.spec.description,
              "spec": suite.spec.model_dump(mode="json"),
              "table": suite.table.model_dump(mode="json"), "check": suite.spec.check,
              "runs": [r.run_id for r in suite.runs]}
    atomic_write_text(Path(root) / suite.name / SUITE_RECORD, dumps(record, indent=2))


def read_suite_record(results_dir: Path | str) -> dict[str, Any]:
    """The suite record of a suite's results folder; {} where there is none (a folder
    written by hand or by an older version)."""
    p = Path(results_dir) / SUITE_RECORD
    if not p.is_file():
        return {}
    try:
        record = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{p}: not a readable suite record ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("runs", []), list):
        raise ResultsError(f"{p}: expected a mapping with a list 'runs'")
    return record


def ordered_results(results_dir: Path | str) -> pd.DataFrame:
    """load_results in the suite's grid order (when its record lists it), not by run id."""
    df = load_results(results_dir)
    order = {rid: i for i, rid in enumerate(read_suite_record(results_dir).get("runs", []))}
    if order:
        df = df.assign(_order=df["run_id"].map(order).fillna(len(order))).sort_values(
            "_order", kind="stable").drop(columns="_order")
    return df
