"""Figures from results on disk (never from a live run): each reads a suite's results
through ``results.load_results`` (finished runs) and each run's ``metrics.jsonl``.

A figure is a function ``fn(results_dir, out, **options) -> Path`` registered in ``PLOTS``
under a short name; ``ganbench plot NAME RESULTS_DIR -o FILE`` draws it. Files are written
atomically; the format follows the file's suffix (png, pdf or svg).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from ganbench.registry import Functions, Registry
from ganbench.results import RunDir, atomic_write_bytes, load_results

# figures are plug-ins like any other: ``ganbench list plots``
PLOTS = REGISTRY = Registry("plots", base=Functions(("results_dir", "out")))
FORMATS = ("png", "pdf", "svg")
# load_results columns that are not labels of the grid
_NOT_LABELS = {"suite", "run_id", "seed", "status", "diverged_step", "group", "run_dir"}


def plot(name: str, description: str, reference: str = "this project"):
    return PLOTS.register(name, description=description, reference=reference)


def label_axes(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in _NOT_LABELS and not c.startswith(("metric:", "time:"))]


def load_history(results_dir: Path | str) -> pd.DataFrame:
    """One row per evaluation of every finished run: its labels, run_id, seed, status,
    run_dir, step and every logged value (metrics and losses)."""
    root = Path(results_dir)
    runs = load_results(root)
    keep = [c for c in runs.columns if not c.startswith(("metric:", "time:"))]
    rows = []
    for run in runs[keep].to_dict("records"):
        # results_dir is either a results root (root/suite/run) or one suite's folder
        path = RunDir(root, run["suite"], run["run_id"])
        if not path.path.is_dir():
            path = RunDir(root.parent, run["suite"], run["run_id"])
        rows += [{**run, "run_dir": str(path.path), **r} for r in path.read_metrics()]
    if not rows:
        raise FileNotFoundError(f"no evaluations (metrics.jsonl) under {root}")
    return pd.DataFrame(rows)


def run_config(run_dir: str) -> dict:
    """The resolved config a run was trained with (its spec.yaml)."""
    import yaml

    return yaml.safe_load((Path(run_dir) / "spec.yaml").read_text())["config"]


def _dirac_start(run_dir: str) -> tuple[float, float] | None:
    """(theta, psi) at step 0 for the dirac model (no evaluation happens before training)."""
    model = run_config(run_dir).get("model") or {}
    if model.get("name") != "dirac":
        return None
    return float(model["params"]["theta"]), float(model["params"]["psi"])


def save(fig, out: Path | str) -> Path:
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write {out}: the suffix must be one of {', '.join(FORMATS)}")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight")
    atomic_write_bytes(out, buf.getvalue())
    return out


def _figure(n_rows: int, n_cols: int, size: float, share: bool = True):
    # the object-oriented API: no pyplot global state, no display backend needed
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size * n_cols, size * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=share, sharey=share)
    return fig, axes


@plot("dirac", "Dirac-GAN trajectories of (theta, psi), one line per scheme, one panel per "
               "other setting", reference="Mescheder, Geiger & Nowozin 2018, Figure 3")
def dirac_trajectories(results_dir: Path | str, out: Path | str, hue: str = "scheme",
                       lim: float = 2.5) -> Path:
    """(theta, psi) at every evaluation of every run (Mescheder et al. 2018, Figure 3):
    panels for the label axes that vary (other than ``hue`` and the seed), a line per
    ``hue`` value and seed, the start marked o (the model's initial point for the dirac
    model, else the first evaluation), the end x, the equilibrium (0, 0) *.
    The view is [-lim, lim]^2: a trajectory that leaves it is spiralling out."""
    hist = load_history(results_dir)
    missing = [c for c in ("dirac_theta", "dirac_psi") if c not in hist.columns]
    if missing:
        raise ValueError(f"{results_dir}: the runs logged no {' or '.join(missing)}; plot a "
                         "suite on the dirac dataset that evaluates them (see suites/dirac.yaml)")
    hist = hist.dropna(subset=["dirac_theta", "dirac_psi"])
    axes_ = [a for a in label_axes(hist) if a not in (hue, "seed", "step")
             and a in load_results(results_dir).columns and hist[a].nunique() > 1]
    has_hue = hue in hist.columns
    panels = list(dict.fromkeys(hist[axes_].itertuples(index=False, name=None))) if axes_ else [()]
    if len(axes_) == 2:  # a grid: first axis down, second across
        rows_v = list(dict.fromkeys(p[0] for p in panels))
        cols_v = list(dict.fromkeys(p[1] for p in panels))
        where = {p: (rows_v.index(p[0]), cols_v.index(p[1])) for p in panels}
        n_rows, n_cols = len(rows_v), len(cols_v)
    else:
        n_cols = math.ceil(math.sqrt(len(panels)))
        n_rows = math.ceil(len(panels) / n_cols)
        where = {p: divmod(i, n_cols) for i, p in enumerate(panels)}
    fig, axes = _figure(n_rows, n_cols, 2.6)
    hues = list(dict.fromkeys(hist[hue])) if has_hue else [None]
    colours = {h: f"C{i % 10}" for i, h in enumerate(hues)}
    for ax in axes.flat:
        ax.set_visible(False)
    for p in panels:
        ax = axes[where[p]]
        ax.set_visible(True)
        sel = hist
        for a, v in zip(axes_, p):
            sel = sel[sel[a] == v]
        for (h, _), run in sel.groupby([hue if has_hue else "run_id", "run_id"], sort=False):
            run = run.sort_values("step")
            x, y = run["dirac_theta"].tolist(), run["dirac_psi"].tolist()
            start = _dirac_start(run["run_dir"].iloc[0])
            if start is not None:
                x, y = [start[0], *x], [start[1], *y]
            c = colours[h if has_hue else None]
            ax.plot(x, y, color=c, lw=0.9, label=h if has_hue else None)
            ax.plot(x[:1], y[:1], "o", color=c, ms=3)
            ax.plot(x[-1:], y[-1:], "x", color=c, ms=5)
        ax.plot([0], [0], "*", color="k", ms=7)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title("\n".join(f"{a}={v}" for a, v in zip(axes_, p)), fontsize=6)
        ax.tick_params(labelsize=6)
    for ax in axes[-1, :]:
        ax.set_xlabel("theta", fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("psi", fontsize=7)
    if has_hue:
        handles, labels = [], []
        for ax in axes.flat:
            for hd, lb in zip(*ax.get_legend_handles_labels()):
                if lb not in labels:
                    handles.append(hd)
                    labels.append(lb)
        fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), fontsize=7,
                   title=hue, title_fontsize=7)
    return save(fig, out)


@plot("samples", "final samples of one seed per row x column of the suite's table, with "
                 "the mode centres (2-D data)", reference="as Metz et al. 2017, Figure 2")
def samples_grid(results_dir: Path | str, out: Path | str, seed: int | None = None,
                 max_points: int = 2500) -> Path:
    """Scatter of each run's samples.npz (rows: the table's row labels, columns: its column
    labels, from suite.json), for the lowest seed unless ``seed`` is given; mode centres of
    the run's dataset as crosses. Only for 2-D samples."""
    import numpy as np

    from ganbench.data import REGISTRY as DATASETS
    from ganbench.report import ordered_results, read_suite_meta

    df = ordered_results(Path(results_dir))
    df = df[df["status"] == "done"]
    meta = read_suite_meta(Path(results_dir)).get("table", {})
    rows = [a for a in meta.get("rows", ["objective", "scheme"]) if a in df.columns]
    cols = [a for a in meta.get("columns", ["dataset"]) if a in df.columns]
    pick = df["seed"] == (df["seed"].min() if seed is None else seed)
    df = df[pick]
    if df.empty:
        raise ValueError(f"{results_dir}: no finished run with that seed to plot")
    row_keys = list(dict.fromkeys(df[rows].itertuples(index=False, name=None))) if rows else [()]
    col_keys = list(dict.fromkeys(df[cols].itertuples(index=False, name=None))) if cols else [()]
    fig, axes = _figure(len(row_keys), len(col_keys), 1.8, share=False)
    root = Path(results_dir)
    for ax in axes.flat:
        ax.set_visible(False)
    for run in df.to_dict("records"):
        r = row_keys.index(tuple(run[a] for a in rows))
        c = col_keys.index(tuple(run[a] for a in cols))
        rd = RunDir(root.parent, run["suite"], run["run_id"])
        x = np.load(rd.path / "samples.npz")["fake"][:max_points]
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"{rd.path}: samples are {x.shape[1:]}, the samples plot needs 2-D points")
        ax = axes[r, c]
        ax.set_visible(True)
        ds = run_config(str(rd.path))["dataset"]
        centres = DATASETS.create(ds["name"], **ds["params"]).mode_centres()
        if centres is not None:
            ax.plot(centres[:, 0], centres[:, 1], "x", color="C3", ms=3, mew=0.8)
        ax.scatter(x[:, 0], x[:, 1], s=0.5, color="C0", alpha=0.4, linewidths=0)
        ax.set_title(" / ".join(str(run[a]) for a in [*rows, *cols]), fontsize=5)
        ax.tick_params(labelsize=5)
        ax.set_aspect("equal", adjustable="datalim")
    return save(fig, out)
