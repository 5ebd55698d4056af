"""Verification: what counts as a finished run. Results are verified, not trusted: a run is
finished only when its spec.yaml and summary.json parse, have the expected shape, agree with
each other and with the run's folder (suite folder and run id), and a done run holds every
metric its spec evaluates; the others are listed with the reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ganbench.results.record import ResultsError, read_suite_record
from ganbench.util import warn

STATUSES = ("done", "diverged", "failed")


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


def run_checks(root: Path) -> list[RunCheck]:
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
    checks = run_checks(root)
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
        warn(f"not counted: {line}")
    return bad


def describe_problems(problems: list[RunCheck], limit: int = 10) -> list[str]:
    """One line per run not counted (at most ``limit``, then how many more)."""
    lines = [f"{c.path}: {c.state}: {c.reason}" for c in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return lines
