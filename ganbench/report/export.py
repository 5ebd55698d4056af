"""Export a suite's results to the experiment trackers researchers use: TensorBoard event
files and MLflow tracking stores.

Export is post hoc: it reads the results folder (through ``report.data``, like every
report) and writes only to the tracker, so training stays deterministic and offline. Each
run becomes one tracker run with

- its history (every entry of metrics.jsonl, losses included) as scalars by step,
- its final metrics (summary.json) as ``final/<metric>``,
- its full resolved config, flattened (``optimizer.lr_g``), as hyper-parameters,
- its final samples (the samples figure's panel for that run) as an image.

Exporting again replaces a run's earlier export instead of adding a duplicate.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.report.data import SuiteData, flatten

TARGETS = ("tensorboard", "mlflow")
# the pip extra that installs each tracker's package
EXTRAS = {"tensorboard": "tensorboard", "mlflow": "mlflow"}
TAG = "ganbench.run_id"  # MLflow tag that finds an earlier export of the same run


class MissingExtra(RuntimeError):
    """The tracker's package is not installed (the CLI exits 2 with this message)."""


@dataclass
class ExportedRun:
    """What one run carried to a tracker, to report and to test."""

    run_id: str
    where: str           # an event-file folder or an MLflow run id
    scalars: int         # history points written
    final: dict[str, float]
    params: dict[str, str]
    image: bool


@dataclass
class Export:
    target: str
    location: str
    runs: list[ExportedRun] = field(default_factory=list)


def require(target: str):
    """Import the tracker's package, or say which extra installs it."""
    if target not in TARGETS:
        raise ValueError(f"unknown export target {target!r}; valid: {', '.join(TARGETS)}")
    try:
        if target == "tensorboard":
            import tensorboard  # noqa: F401  (torch's SummaryWriter needs it)
            from torch.utils.tensorboard import SummaryWriter

            return SummaryWriter
        import mlflow

        return mlflow
    except ImportError as exc:
        raise MissingExtra(f"export to {target} needs the {target} package: "
                           f"pip install \"ganbench[{EXTRAS[target]}]\" ({exc})") from None


def export(results_dir: Path | str, target: str, location: str | Path,
           progress: Callable[[str], None] | None = None) -> Export:
    """Export every run of one suite's results folder to ``target`` at ``location`` (a
    folder for TensorBoard; a tracking URI, or a folder for a local MLflow store)."""
    module = require(target)  # before reading anything: a missing extra costs nothing
    where = Path(str(location))
    local = target == "tensorboard" or _tracking_uri(str(location), create=False)[1] is not None
    if local and where.exists() and not where.is_dir():
        raise ValueError(f"--to {target} {location}: {location} is a file; give a folder "
                         f"(it is created if absent)")
    data = SuiteData.load(results_dir)
    runs = [_collect(data, rid) for rid in data.runs["run_id"]]
    out = Export(target, str(location))
    write = _tensorboard if target == "tensorboard" else _mlflow
    out.runs = write(module, data, runs, location, progress or (lambda _m: None))
    return out


# --- what a run carries, independent of the tracker ------------------------------------------


@dataclass
class _Run:
    run_id: str
    name: str
    status: str
    labels: dict[str, str]
    history: pd.DataFrame          # step, wall_s, metric, value (finite values only)
    final: dict[str, float]
    params: dict[str, str]
    png: bytes | None
    finished_at: float             # seconds since the epoch (summary.json's mtime)


def _collect(data: SuiteData, run_id: str) -> _Run:
    from ganbench.report.figures import run_samples_png

    run = data.runs[data.runs["run_id"] == run_id].iloc[0]
    summary = data.summary(run_id)
    hist = _history(data, run_id)
    final = {k: float(v) for k, v in (summary.get("metrics") or {}).items() if _finite(v)}
    params = {k: _param(v) for k, v in flatten(data.config(run_id)).items()}
    labels = {a: str(run[a]) for a in (*data.rows, *data.columns) if a in run.index}
    name = ", ".join(f"{k}={v}" for k, v in labels.items()) + f", seed={run['seed']}"
    mtime = (Path(run["run_dir"]) / "summary.json").stat().st_mtime
    return _Run(run_id, name, str(run["status"]), labels, hist, final, params,
                run_samples_png(data, run_id), mtime)


def _history(data: SuiteData, run_id: str) -> pd.DataFrame:
    d = Path(data.runs.loc[data.runs["run_id"] == run_id, "run_dir"].iloc[0]) / "metrics.jsonl"
    rows = []
    if d.is_file():
        for line in d.read_text().splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            rows += [{"step": int(e["step"]), "wall_s": float(e.get("wall_s") or 0.0),
                      "metric": k, "value": float(v)}
                     for k, v in e.items() if k not in ("step", "wall_s") and _finite(v)]
    return pd.DataFrame(rows, columns=["step", "wall_s", "metric", "value"])


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _param(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, default=str)
    return str(v)


def _image_array(png: bytes):
    """PNG bytes as an H x W x 3 float array in [0, 1]."""
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(png), format="png")[..., :3]


# --- TensorBoard -------------------------------------------------------------------------------


def _tensorboard(SummaryWriter, data: SuiteData, runs: list[_Run], location, say) -> list[ExportedRun]:
    """One event-file folder per run, ``DIR/<suite>/<run_id>`` (the run's labels are its
    hyper-parameters and its text 'labels'). Scalars are tagged by the entry's name, final
    metrics ``final/<metric>``; the hyper-parameters are the HParams plugin's."""
    from torch.utils.tensorboard.summary import hparams

    root = Path(location) / data.name
    out = []
    for k, r in enumerate(runs, 1):
        say(f"tensorboard {k}/{len(runs)}: {r.name}")
        folder = root / r.run_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("events.out.tfevents.*"):  # an earlier export of this run
            old.unlink()
        w = SummaryWriter(log_dir=str(folder))
        try:
            for row in r.history.itertuples(index=False):
                w.add_scalar(row.metric, row.value, int(row.step),
                             walltime=r.finished_at - _last_wall(r) + row.wall_s)
            last = int(r.history["step"].max()) if len(r.history) else 0
            for m, v in r.final.items():
                w.add_scalar(f"final/{m}", v, last)
            w.add_text("labels", r.name, last)
            if r.png is not None:
                w.add_image("samples", _image_array(r.png), last, dataformats="HWC")
            exp, ssi, sei = hparams({**r.params, "status": r.status},
                                    {f"final/{m}": v for m, v in r.final.items()})
            for s in (exp, ssi, sei):
                w.file_writer.add_summary(s)
        finally:
            w.close()
        out.append(ExportedRun(r.run_id, str(folder), len(r.history), r.final, r.params,
                               r.png is not None))
    return out


def _last_wall(r: _Run) -> float:
    return float(r.history["wall_s"].max()) if len(r.history) else 0.0


# --- MLflow ------------------------------------------------------------------------------------


def _mlflow(mlflow, data: SuiteData, runs: list[_Run], location, say) -> list[ExportedRun]:
    """One MLflow run per run in the experiment named like the suite; params are the
    flattened config, tags the labels, status and run id; samples.png an artifact."""
    import tempfile

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from mlflow.utils.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

    uri, artifacts = _tracking_uri(str(location))
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(data.name)
    exp_id = (exp.experiment_id if exp is not None else
              client.create_experiment(data.name, artifact_location=artifacts))
    out = []
    for k, r in enumerate(runs, 1):
        say(f"mlflow {k}/{len(runs)}: {r.name}")
        for old in client.search_runs([exp_id], filter_string=f"tags.`{TAG}` = '{r.run_id}'"):
            client.delete_run(old.info.run_id)  # an earlier export of this run
        start = int((r.finished_at - _last_wall(r)) * 1000)
        run = client.create_run(exp_id, start_time=start, run_name=r.name,
                                tags={TAG: r.run_id, "ganbench.suite": data.name,
                                      "ganbench.status": r.status,
                                      **{f"ganbench.label.{a}": v for a, v in r.labels.items()}})
        rid = run.info.run_id
        metrics = [Metric(row.metric, row.value, start + int(row.wall_s * 1000), int(row.step))
                   for row in r.history.itertuples(index=False)]
        last = int(r.history["step"].max()) if len(r.history) else 0
        metrics += [Metric(f"final/{m}", v, int(r.finished_at * 1000), last) for m, v in r.final.items()]
        params = [Param(key, v) for key, v in r.params.items()]
        for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
            client.log_batch(rid, metrics=metrics[i:i + MAX_METRICS_PER_BATCH])
        for i in range(0, len(params), MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(rid, params=params[i:i + MAX_PARAMS_TAGS_PER_BATCH])
        client.log_batch(rid, tags=[RunTag("mlflow.note.content", _note(r))])
        if r.png is not None:
            with tempfile.TemporaryDirectory() as tmp:
                p = Path(tmp) / "samples.png"
                p.write_bytes(r.png)
                client.log_artifact(rid, str(p))
        client.set_terminated(rid, "FAILED" if r.status == "failed" else "FINISHED",
                              end_time=int(r.finished_at * 1000))
        out.append(ExportedRun(r.run_id, rid, len(r.history), r.final, r.params,
                               r.png is not None))
    return out


def _tracking_uri(location: str, create: bool = True) -> tuple[str, str | None]:
    """(tracking URI, artifact location for a new experiment). A URI is used as given. A
    plain path is a local store in that folder: an SQLite database ``mlflow.db`` with the
    artifacts in ``artifacts/`` beside it (MLflow 3 keeps its file store in maintenance
    mode and refuses it unless MLFLOW_ALLOW_FILE_STORE is set; a ``file:`` URI asks for
    it)."""
    if "://" in location or location.startswith(("file:", "sqlite:", "databricks")):
        return location, None
    folder = Path(location).resolve()
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "artifacts").as_uri()


def _note(r: _Run) -> str:
    return (f"ganbench run {r.run_id} ({r.status}): {r.name}. Exported post hoc from the "
            "results folder by `ganbench export`.")
