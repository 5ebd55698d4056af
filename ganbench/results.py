"""Writing (atomically) and loading run results.

    <root>/<suite>/<run_id>/spec.yaml, metrics.jsonl, summary.json, samples.npz, checkpoint.pt

Every file is written to a temporary name in the same folder (``.NAME.XXXXXXXX.tmp``) and
renamed into place, so a crash never leaves a half-written file that the loader would take
as valid; temporaries left by a killed write are removed when a run starts
(``remove_stale_temporaries``, under the folder's lock).

Results are verified, not trusted (``inspect_run``): a run is finished only when its
spec.yaml and summary.json parse, have the expected shape, agree with each other and with
the run's folder (suite folder and run id), and a done run holds every metric its spec
evaluates. The loaders count only such runs and list the others with the reason
(``results_problems``); ``ganbench run`` trains them again.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ganbench.containment import check_name, refuse_links

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
    """The folder of one run: ``root/suite/run_id``. Both names are checked (one plain
    folder level each), and writing refuses to go through a symbolic link at the suite's or
    the run's folder (``ganbench.containment``)."""

    def __init__(self, root: Path | str, suite: str, run_id: str):
        self.root = Path(root)
        self.suite = check_name(suite, "suite name")
        self.run_id = check_name(run_id, "run id")
        self.path = self.root / suite / run_id

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def is_finished(self) -> bool:
        """Whether the run's results are complete and verified (``inspect_run``)."""
        return inspect_run(self.path).finished

    def _write(self, name: str, data: bytes, durable: bool = False) -> None:
        refuse_links(self.root, self.suite, self.run_id)
        atomic_write_bytes(self.path / name, data, durable)

    def write_spec(self, spec: dict[str, Any]) -> None:
        self._write("spec.yaml", yaml.safe_dump(spec, sort_keys=False).encode())

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        # rewritten whole at each evaluation (small), so the file is never half a line
        self._write("metrics.jsonl", "".join(dumps(r) + "\n" for r in rows).encode())

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def write_samples(self, **arrays: np.ndarray) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        self._write("samples.npz", buf.getvalue())

    def write_checkpoint(self, data: bytes) -> None:
        self._write(self.checkpoint_path.name, data)

    def write_summary(self, summary: dict[str, Any]) -> None:
        if summary.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        # the summary marks a run finished: make it durable
        self._write(self.summary_path.name, dumps(summary, indent=2).encode(), durable=True)

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text())


# --- verification: what counts as a finished run ----------------------------------------


@dataclass
class RunCheck:
    """What a run folder holds. ``state``: 'finished' (verified; status done or diverged),
    'failed' (a verified summary of a crash), 'unfinished' (no summary yet: training or
    interrupted) or 'invalid' (files that do not parse or do not fit; ``reason`` says
    which file and why)."""

    path: Path
    state: str
    reason: str = ""
    spec: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.state == "finished"

    @property
    def run_id(self) -> str:
        return self.path.name


def _read_json(p: Path) -> tuple[Any, str]:
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{p.name} unreadable ({type(exc).__name__})"
    if not text.strip():
        return None, f"{p.name} is empty"
    try:
        return json.loads(text), ""
    except ValueError as exc:
        return None, f"{p.name} is not valid JSON ({exc})"


# libyaml's safe loader where present: the pure-Python one takes ~25 ms per spec.yaml,
# and every run of a suite is verified before it is planned
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_spec(p: Path) -> tuple[Any, str]:
    try:
        return yaml.load(p.read_text(), Loader=_SafeLoader), ""
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, f"spec.yaml unreadable ({type(exc).__name__})"


def _number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _spec_problem(spec: Any, folder: Path) -> str:
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        return "spec.yaml is not a run spec (expected a mapping with 'config')"
    rid, suite = spec.get("run_id"), spec.get("suite")
    if not isinstance(rid, str) or not isinstance(suite, str):
        return "spec.yaml lacks its 'run_id' or 'suite'"
    if rid != folder.name:
        return (f"spec.yaml is of run {rid}, not of this folder {folder.name} "
                "(a copied or renamed folder?)")
    seed = spec["config"].get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        return "spec.yaml's seed is not an integer"
    labels = spec.get("labels")
    if labels is not None and not isinstance(labels, dict):
        return "spec.yaml's 'labels' is not a mapping"
    return ""


def _summary_problem(summary: Any, spec: dict[str, Any]) -> str:
    if not isinstance(summary, dict):
        return f"summary.json is not a mapping (got {type(summary).__name__})"
    status = summary.get("status")
    if status not in STATUSES:
        return f"summary.json has status {str(status)[:40]!r}; expected one of {', '.join(STATUSES)}"
    metrics = summary.get("metrics", {})
    if not isinstance(metrics, dict) or not all(isinstance(k, str) and _number(v)
                                                for k, v in metrics.items()):
        return "summary.json's 'metrics' is not a mapping of names to numbers"
    for key in ("timings", "environment", "last_metrics", "metric_errors"):
        if not isinstance(summary.get(key, {}), dict):
            return f"summary.json's {key!r} is not a mapping"
    if status == "failed":
        return ""
    config = spec["config"]
    try:
        iterations = int(config["training"]["iterations"])
        evaluated = [m["name"] if isinstance(m, dict) else m
                     for m in config["evaluation"]["metrics"] or []]
    except (KeyError, TypeError, ValueError):
        return "spec.yaml's config lacks training.iterations or evaluation.metrics"
    if summary.get("iterations", iterations) != iterations:
        return (f"summary.json is of {str(summary.get('iterations'))[:20]} iterations, the "
                f"spec asks for {iterations}")
    if status == "diverged":
        step = summary.get("diverged_step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)
                                 or not 0 < step <= iterations):
            return "summary.json's 'diverged_step' is not a step of the run"
        return ""
    missing = [m for m in evaluated if m not in metrics]
    if missing:
        return f"summary.json lacks the metric(s) {', '.join(map(str, missing[:5]))} of its spec"
    return ""


def inspect_run(folder: Path | str) -> RunCheck:
    """Verify one run folder (see the module docstring); never raises on bad files."""
    folder = Path(folder)
    spec_p, summary_p = folder / "spec.yaml", folder / "summary.json"
    has_summary = summary_p.is_file()
    if not spec_p.is_file():
        return RunCheck(folder, "invalid" if has_summary else "unfinished",
                        "spec.yaml is missing" if has_summary else "not started")
    spec, why = _read_spec(spec_p)
    why = why or _spec_problem(spec, folder)
    if why:
        return RunCheck(folder, "invalid", why)
    if not has_summary:
        return RunCheck(folder, "unfinished", "not finished", spec=spec)
    summary, why = _read_json(summary_p)
    why = why or _summary_problem(summary, spec)
    if why:
        return RunCheck(folder, "invalid", why, spec=spec)
    state = "failed" if summary["status"] == "failed" else "finished"
    why = str(summary.get("error") or "no error recorded")[:300] if state == "failed" else ""
    return RunCheck(folder, state, why, spec=spec, summary=summary)


def _run_checks(root: Path) -> list[RunCheck]:
    """Every run folder under ``root`` (a suite's folder or a root of several), verified;
    of two folders with one suite and run id (a copy), the one whose name is not its own
    is invalid already, and a second valid one (a copied suite folder, a link) is not
    counted again."""
    if not root.is_dir():
        raise FileNotFoundError(f"no results folder at {root}")
    folders = sorted({p.parent for pattern in ("**/spec.yaml", "**/summary.json")
                      for p in root.glob(pattern)})
    out, seen = [], set()
    for folder in folders:
        c = inspect_run(folder)
        key = (c.spec or {}).get("suite"), folder.name
        if c.state in ("finished", "failed"):
            if key in seen:
                c = RunCheck(folder, "invalid", "a second folder of a run already counted")
            seen.add(key)
        out.append(c)
    return out


def results_problems(results_dir: Path | str) -> list[RunCheck]:
    """Runs the loaders do not count: folders whose files do not verify, and runs the suite
    record lists that are unfinished or failed. For notes under tables and for the check."""
    root = Path(results_dir)
    checks = _run_checks(root)
    out = [c for c in checks if c.state == "invalid"]
    listed = set()
    try:
        listed = {str(r) for r in read_suite_record(root).get("runs", [])}
    except ResultsError:
        pass
    on_disk = {c.run_id: c for c in checks}
    for rid in sorted(listed):
        c = on_disk.get(rid)
        if c is None:
            out.append(RunCheck(root / rid, "unfinished", "not started"))
        elif c.state in ("unfinished", "failed"):
            out.append(c)
    return out


def not_counted(results_dir: Path | str) -> dict[str, str]:
    """run id -> why it is not counted, for every run of ``results_problems`` but failed
    ones (those count, as failed): for the regression check, which fails on a run of the
    baseline that the fresh results lack or cannot read."""
    return {c.run_id: f"{c.state}: {c.reason}" for c in results_problems(results_dir)
            if c.state != "failed"}


def warn_not_counted(results_dir: Path | str) -> list[RunCheck]:
    """Say on stderr which run folders hold results that do not verify (the tables and the
    baseline leave them out; n/N shows the gap). Returns them."""
    bad = [c for c in results_problems(results_dir) if c.state == "invalid"]
    for line in describe_problems(bad):
        print(f"warning: not counted: {line}", file=sys.stderr)
    return bad


def describe_problems(problems: list[RunCheck], limit: int = 10) -> list[str]:
    """One line per run not counted (at most ``limit``, then how many more)."""
    lines = [f"{c.path}: {c.state}: {c.reason}" for c in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return lines


# --- stale temporary files ---------------------------------------------------------------

_TEMPORARY = re.compile(r"^\..+\.tmp$")  # atomic_write_bytes's names: .NAME.XXXXXXXX.tmp


def remove_stale_temporaries(suite_dir: Path | str) -> list[Path]:
    """Remove the temporary files that writes killed midway left in a suite's folder and
    its run folders. Call it only while holding the folder's lock (``ganbench.lock``): a
    live writer's temporary file looks the same."""
    suite_dir = Path(suite_dir)
    removed: list[Path] = []
    if not suite_dir.is_dir() or suite_dir.is_symlink():
        return removed
    folders = [suite_dir] + [p for p in suite_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    for folder in folders:
        for p in folder.iterdir():
            if _TEMPORARY.match(p.name) and (p.is_file() or p.is_symlink()):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def load_results(results_dir: Path | str) -> pd.DataFrame:
    """One row per finished run: labels (as columns), status, and final metrics (wide:
    'metric:NAME' columns, as tables need them; notebooks get the tidy ``tidy_results``).

    ``results_dir`` is a suite folder (results/<suite>) or a root holding several suites.
    """
    root = Path(results_dir)
    rows = []
    checks = _run_checks(root)
    for c in checks:
        if c.state not in ("finished", "failed"):
            continue  # unfinished, or files that do not verify (results_problems lists them)
        spec, s = c.spec or {}, c.summary or {}
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
        bad = [c for c in checks if c.state == "invalid"]
        more = "".join("\n  " + line for line in describe_problems(bad))
        raise FileNotFoundError(f"no finished runs under {root}"
                                + (f"; {len(bad)} run(s) not counted:{more}" if bad else ""))
    return pd.DataFrame(rows)


def metric_columns(df: pd.DataFrame) -> list[str]:
    return [c[len("metric:"):] for c in df.columns if c.startswith("metric:")]


# --- tidy frames for notebooks (ganbench.load_results, ganbench.load_history) -------------


def _run_folders(root: Path):
    """(spec, summary or None, folder) of every run folder whose spec.yaml verifies; the
    summary only where it verifies too (else the run counts as unfinished)."""
    for c in _run_checks(root):
        if c.spec is not None:
            yield c.spec, c.summary, c.path


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
        if not all(isinstance(e, dict) for e in evals):
            continue  # not what ganbench writes: no history of this run
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
    check_name(suite.name, "suite name")
    refuse_links(Path(root), suite.name)
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
    for key, kind in RECORD_TYPES.items():
        if record.get(key) is not None and not isinstance(record[key], kind):
            raise ResultsError(f"{p}: '{key}' must be a {kind.__name__}, got "
                               f"{type(record[key]).__name__}")
    if not all(isinstance(r, str) for r in record.get("runs", [])):
        raise ResultsError(f"{p}: 'runs' must list run ids (strings)")
    return record


# what the readers of a suite record take each entry to be
RECORD_TYPES = {"name": str, "source": str, "description": str, "spec": dict, "table": dict,
                "check": dict, "overrides": list, "labels": dict}


def ordered_results(results_dir: Path | str) -> pd.DataFrame:
    """load_results in the suite's grid order (when its record lists it), not by run id."""
    df = load_results(results_dir)
    order = {rid: i for i, rid in enumerate(read_suite_record(results_dir).get("runs", []))}
    if order:
        df = df.assign(_order=df["run_id"].map(order).fillna(len(order))).sort_values(
            "_order", kind="stable").drop(columns="_order")
    return df
