"""One suite's results, read once for every figure and section of a report.

Everything comes from the results folder through ``ganbench.results`` (finished runs,
metrics.jsonl, summaries) and the suite record ``suite.json``; nothing is written here and
nothing read can execute code (JSON, ``yaml.safe_load`` and ``np.load`` without pickles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ganbench.report.style import Style
from ganbench.results import RunDir, load_results, ordered_results, read_suite_record
from ganbench.results.pooling import NOT_SETTINGS
from ganbench.util import strict_json

# load_results columns that are not labels of the grid
NOT_LABELS = {"suite", "run_id", "seed", "status", "diverged_step", "group", "run_dir"}
# metrics.jsonl entries drawn as training curves beside the table's metrics
LOSSES = ("d_loss", "g_loss")


def label_axes(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in NOT_LABELS and not c.startswith(NOT_SETTINGS)]


def run_dir(results_dir: Path, suite: str, run_id: str) -> RunDir:
    """A run's folder whether ``results_dir`` is the suite's folder or a results root."""
    d = RunDir(results_dir.parent, suite, run_id)
    return d if d.path.is_dir() else RunDir(results_dir, suite, run_id)


def load_history(results_dir: Path | str) -> pd.DataFrame:
    """One row per evaluation of every finished run: the run's columns from
    ``results.load_results`` (labels, run_id, seed, status), step and one column per logged
    value (metrics and losses)."""
    return wide_history(Path(results_dir), load_results(results_dir))


def wide_history(root: Path, runs: pd.DataFrame) -> pd.DataFrame:
    """``results.load_history`` (tidy: a row per run, step and entry) of the runs in
    ``runs``, pivoted to a column per entry and joined with the runs' own columns."""
    from ganbench.results import load_history as tidy_history

    tidy = tidy_history(root)  # FileNotFoundError when no run has evaluations
    tidy = tidy[tidy["run_id"].isin(set(runs["run_id"]))].dropna(subset=["step"])
    if tidy.empty:
        raise FileNotFoundError(f"no evaluations (metrics.jsonl) of finished runs under {root}")
    wide = (tidy.drop_duplicates(["run_id", "step", "metric"], keep="last")
            .pivot(index=["run_id", "step"], columns="metric", values="value").reset_index())
    wide.columns.name = None
    wide["step"] = wide["step"].astype(int)
    keep = [c for c in runs.columns if not c.startswith(NOT_SETTINGS)
            and (c == "run_id" or c not in wide.columns)]
    return runs[keep].merge(wide, on="run_id", how="inner")  # the runs' (grid) order


# libyaml's safe loader where present: the pure-Python one takes ~25 ms per spec.yaml
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_spec(run_dir: str | Path) -> dict:
    return yaml.load((Path(run_dir) / "spec.yaml").read_text(), Loader=SafeLoader) or {}


def run_config(run_dir: str | Path) -> dict:
    """The resolved config a run was trained with (its spec.yaml)."""
    return read_spec(run_dir)["config"]


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists of mappings are kept whole (one setting)."""
    if not isinstance(d, dict) or not d:
        return {prefix: d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


@dataclass
class SuiteData:
    """One suite's finished runs in grid order, its table layout and its style."""

    results_dir: Path
    name: str
    record: dict[str, Any]
    runs: pd.DataFrame
    rows: list[str]
    columns: list[str]
    metrics: list[str]
    style: Style
    _summaries: dict[str, dict] = field(default_factory=dict, repr=False)
    _configs: dict[str, dict] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, results_dir: Path | str) -> SuiteData:
        root = Path(results_dir)
        runs = ordered_results(root)  # FileNotFoundError when nothing finished
        suites = list(dict.fromkeys(runs["suite"]))
        if len(suites) > 1:
            raise ValueError(f"{root} holds {len(suites)} suites ({', '.join(map(str, suites))}); "
                             f"give one suite's folder, e.g. {root / str(suites[0])}")
        record = read_suite_record(root)
        table = record.get("table") or {}
        labels = label_axes(runs)
        rows = [a for a in (table.get("rows") or ["objective", "scheme"]) if a in labels]
        columns = [a for a in (table.get("columns") or ["dataset"]) if a in labels]
        metrics = table.get("metrics") or _default_metrics(runs)
        runs = runs.copy()
        for a in labels:
            runs[a] = runs[a].astype(str)
        runs["row"] = _joined(runs, rows)
        runs["col"] = _joined(runs, columns)
        runs["run_dir"] = [str(run_dir(root, s, r).path) for s, r in zip(runs["suite"], runs["run_id"])]
        hue = "objective" if "objective" in labels else (rows[0] if rows else None)
        dash = "scheme" if "scheme" in labels and hue != "scheme" else None
        style = Style(hue, _values(runs, hue), dash, _values(runs, dash))
        return cls(root, str(suites[0]), record, runs, rows, columns, list(metrics), style)

    # --- the grid -------------------------------------------------------------------------

    @property
    def row_order(self) -> list[str]:
        return list(dict.fromkeys(self.runs["row"]))

    @property
    def col_order(self) -> list[str]:
        return list(dict.fromkeys(self.runs["col"]))

    @property
    def done(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "done"]

    def hue_of(self, run: dict | pd.Series) -> str:
        return str(run[self.style.hue]) if self.style.hue else ""

    def dash_of(self, run: dict | pd.Series) -> str:
        return str(run[self.style.dash]) if self.style.dash else ""

    # --- files ----------------------------------------------------------------------------

    @cached_property
    def history(self) -> pd.DataFrame:
        """Every evaluation of every finished run, with the run's labels, row and column."""
        try:
            return wide_history(self.results_dir, self.runs)
        except FileNotFoundError:  # no run reached an evaluation: figures say so
            return pd.DataFrame(columns=["run_id", "seed", "step", "row", "col"])

    def summary(self, run_id: str) -> dict[str, Any]:
        if run_id not in self._summaries:
            d = Path(self.runs.loc[self.runs["run_id"] == run_id, "run_dir"].iloc[0])
            self._summaries[run_id] = strict_json.read(d / "summary.json")
        return self._summaries[run_id]

    def config(self, run_id: str) -> dict[str, Any]:
        if run_id not in self._configs:
            self._configs[run_id] = run_config(self.runs.loc[self.runs["run_id"] == run_id, "run_dir"].iloc[0])
        return self._configs[run_id]

    def unfinished(self) -> list[dict[str, Any]]:
        """Runs of the suite without a readable summary: listed in the suite record but not
        finished, or a run folder (spec.yaml) that is still missing its summary.json."""
        finished = set(self.runs["run_id"])
        folder = self._suite_folder()
        out: dict[str, dict[str, Any]] = {}
        for rid in self.record.get("runs") or []:
            if rid not in finished:
                out[rid] = {"run_id": rid, "state": "not started", "labels": {}}
        if folder is not None:
            for spec in sorted(folder.glob("*/spec.yaml")):
                rid = spec.parent.name
                if rid in finished:
                    continue
                try:
                    labels = read_spec(spec.parent).get("labels") or {}
                except (OSError, yaml.YAMLError, AttributeError):
                    labels = {}
                started = (spec.parent / "metrics.jsonl").is_file() or (spec.parent / "checkpoint.pt").is_file()
                out[rid] = {"run_id": rid, "labels": {k: str(v) for k, v in labels.items()},
                            "state": "interrupted" if started else "not started", "run_dir": str(spec.parent)}
        order = {r: i for i, r in enumerate(self.record.get("runs") or [])}
        return sorted(out.values(), key=lambda u: order.get(u["run_id"], len(order)))

    def expected_runs(self) -> int:
        return max(len(self.record.get("runs") or []), len(self.runs) + len(self.unfinished()))

    def _suite_folder(self) -> Path | None:
        parents = {Path(p).parent for p in self.runs["run_dir"]}
        return parents.pop() if len(parents) == 1 else None

    def samples(self, run_id: str):
        """The run's final samples (samples.npz 'fake'), or None when it has none."""
        import numpy as np

        p = Path(self.runs.loc[self.runs["run_id"] == run_id, "run_dir"].iloc[0]) / "samples.npz"
        if not p.is_file():
            return None
        with np.load(p, allow_pickle=False) as z:
            return z["fake"] if "fake" in z.files else None


def _joined(df: pd.DataFrame, axes: list[str]) -> list[str]:
    if not axes:
        return [""] * len(df)
    return [" / ".join(map(str, t)) for t in df[axes].itertuples(index=False, name=None)]


def _values(df: pd.DataFrame, axis: str | None) -> list[str]:
    return list(dict.fromkeys(df[axis].astype(str))) if axis and axis in df.columns else []


def _default_metrics(df: pd.DataFrame) -> list[str]:
    from ganbench.registry import registry

    names = set(registry("metrics").names())
    return [c[len("metric:"):] for c in df.columns
            if c.startswith("metric:") and c[len("metric:"):] in names]
