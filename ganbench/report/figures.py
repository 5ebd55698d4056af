"""The report's figures, as matplotlib Figures drawn with seaborn from a ``SuiteData``.

Each function returns a Figure (no pyplot state, no display); ``ganbench.report.plots`` saves them
as the stand-alone ``ganbench plot KIND`` figures and the report embeds the same ones.
Colour always means the objective and line style / marker the scheme (``style.Style``).
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pandas as pd

from ganbench.registry import unknown_message
from ganbench.report.data import LOSSES, SuiteData
from ganbench.report.style import BOX_METRICS, DPI, LINESTYLES


def new_figure(n_rows: int, n_cols: int, width: float, height: float, **kw):
    """A Figure of n_rows x n_cols panels, each width x height inches (object API only)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n_cols, height * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, **kw)
    return fig, axes


def to_bytes(fig, fmt: str = "png", dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)  # constrained layout already fits the page
    return buf.getvalue()


def _columns(fig, labels: list[str]) -> int:
    """Legend columns that fit the figure's width (a legend wider than the figure is cut)."""
    entry = 0.45 + 0.055 * max(len(str(x)) for x in labels)  # inches at the legend's font
    return max(1, min(len(labels), int(fig.get_figwidth() // entry)))


def _legend(fig, data: SuiteData, extra: tuple[list, list, str] | None = None) -> None:
    handles, labels = data.style.legend_handles()
    if len(labels) > 0:
        fig.legend(handles, labels, loc="outside upper center", ncol=_columns(fig, labels),
                   title=data.style.hue, frameon=False)
    if extra and extra[1]:
        fig.legend(extra[0], extra[1], loc="outside lower center",
                   ncol=_columns(fig, extra[1]), title=extra[2], frameon=False)


def direction_label(metric: str) -> str:
    from ganbench.report.tables import metric_direction

    arrow = {"max": " (higher is better)", "min": " (lower is better)"}.get(metric_direction(metric) or "", "")
    return metric + arrow


def is_box_metric(metric: str) -> bool:
    from ganbench.report.tables import registered_metric

    return registered_metric(metric) in BOX_METRICS


# --- per metric: every row with its seeds, faceted by the table's columns ------------------------


def metric_figure(data: SuiteData, metrics: list[str] | str | None = None, kind: str = "auto"):
    """Per metric and column of the table (a panel each; more than four columns wrap by
    three): each table row's mean over seeds with a bar of one standard deviation (the
    table's mean ± std) and every seed as a dot; box plots (Lucic et al. 2018) for FID-like
    metrics or ``kind='box'``. Rows with diverged or failed runs are annotated at the right.
    Values spanning more than three decades get a symmetric-log axis."""
    import seaborn as sns
    from matplotlib.transforms import blended_transform_factory

    metrics = [metrics] if isinstance(metrics, str) else list(metrics or data.metrics)
    known = [c[len("metric:"):] for c in data.runs.columns if c.startswith("metric:")]
    for m in metrics:
        if m not in known:
            raise ValueError(unknown_message("metric", m, known))
    if kind not in ("auto", "point", "box"):
        raise ValueError(f"kind must be auto, point or box, got {kind!r}")
    rows, cols, hue = data.row_order, data.col_order, data.style.hue
    wrap = len(cols) if len(cols) <= 4 else 3
    per_metric = math.ceil(len(cols) / wrap)
    fig, axes = new_figure(len(metrics) * per_metric, wrap, 2.5, 0.7 + 0.2 * len(rows))
    for ax in axes.flat:
        ax.set_visible(False)
    bad = data.runs[data.runs["status"] != "done"].groupby(["row", "col", "status"]).size()
    for i, m in enumerate(metrics):
        box = kind == "box" or (kind == "auto" and is_box_metric(m))
        for j, c in enumerate(cols):
            ax = axes[i * per_metric + j // wrap, j % wrap]
            ax.set_visible(True)
            sub = data.done[data.done["col"] == c][["row", "seed", f"metric:{m}", *([hue] if hue else [])]]
            sub = sub.rename(columns={f"metric:{m}": "value"}).dropna(subset=["value"])
            common = dict(data=sub, x="value", y="row", order=rows, legend=False, ax=ax)
            colours = dict(hue=hue, hue_order=data.style.hue_values or None,
                           palette=data.style.colours or None)
            if sub.empty:
                ax.set_yticks(range(len(rows)), rows)
                ax.set_ylim(len(rows) - 0.5, -0.5)
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center",
                        va="center", color="0.5")
            elif box:
                with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib's old 'vert'
                    warnings.simplefilter("ignore", DeprecationWarning)
                    sns.boxplot(**common, **colours, dodge=False, width=0.6, fliersize=0,
                                linewidth=0.7)
                sns.stripplot(**common, size=2.2, alpha=0.6, jitter=0.15, color="k")
            else:
                sns.stripplot(**common, **colours, size=2.2, alpha=0.45, jitter=0.12, zorder=1)
                sns.pointplot(**common, **colours, errorbar="sd", linestyle="none", markers="D",
                              markersize=3.2, capsize=0.3, err_kws={"linewidth": 1.0})
            auto_scale(ax, sub["value"].to_numpy(dtype=float), "x")
            to_right = blended_transform_factory(ax.transAxes, ax.transData)
            for k, r in enumerate(rows):
                notes = [f"{bad[(r, c, s)]} {short}" for s, short in (("diverged", "div"), ("failed", "fail"))
                         if (r, c, s) in bad]  # the table's abbreviations
                if notes:
                    ax.text(1.01, k, ", ".join(notes), transform=to_right, va="center",
                            fontsize=5.5, color="#b2182b", clip_on=False)
            ax.set_xlabel(direction_label(m))
            ax.set_ylabel("")
            if j % wrap:
                ax.tick_params(labelleft=False)
            if c and (i == 0 or per_metric > 1):
                ax.set_title(c, fontweight="bold")
    _legend(fig, data)
    return fig


def auto_scale(ax, values: np.ndarray, axis: str) -> None:
    """A log axis when the finite values span more than three decades (a diverging
    Dirac-GAN beside converged ones): log when all are positive, else symmetric-log with a
    few decade ticks; linear otherwise."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    v = values[np.isfinite(values)]
    pos = np.abs(v)[np.abs(v) > 0]
    if len(pos) < 2 or pos.max() / pos.min() <= 1e3:
        return
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if (v > 0).all():
        setter("log")
        return
    lo = math.floor(math.log10(max(pos.min(), pos.max() * 1e-8)))
    hi = math.ceil(math.log10(pos.max()))
    setter("symlog", linthresh=10.0 ** lo)
    decades = list(range(lo, hi + 1))[::max(1, math.ceil((hi - lo + 1) / 4))]
    if (v < 0).any():  # both signs: two decades a side keep the labels apart
        decades = sorted({(lo + hi + 1) // 2, hi})
    ticks = [0.0, *(10.0 ** d for d in decades)]
    if (v < 0).any():
        ticks = [-t for t in reversed(ticks[1:])] + ticks
    which = ax.xaxis if axis == "x" else ax.yaxis
    which.set_major_locator(FixedLocator(ticks))
    which.set_major_formatter(FuncFormatter(
        lambda t, _: "0" if t == 0 else f"{'-' if t < 0 else ''}$10^{{{round(math.log10(abs(t)))}}}$"))
    which.set_minor_locator(NullLocator())


# --- training curves from metrics.jsonl ----------------------------------------------------------


def curve_quantities(data: SuiteData) -> list[str]:
    """What the curves can show: the table's metrics, then the losses, as logged."""
    hist = data.history
    return [q for q in dict.fromkeys([*data.metrics, *LOSSES])
            if q in hist.columns and pd.to_numeric(hist[q], errors="coerce").notna().any()]


def curves_figure(data: SuiteData, metric: str | None = None):
    """``metric`` against the training step, one panel per table row: a line per column
    of the table (line style) with a band of one standard deviation over seeds."""
    import seaborn as sns

    available = curve_quantities(data)
    metric = metric or (available[0] if available else None)
    if metric not in available:
        raise ValueError(unknown_message("quantity for curves", str(metric), available))
    hist = data.history[["row", "col", "seed", "step", metric, *([data.style.hue] if data.style.hue else [])]].copy()
    hist[metric] = pd.to_numeric(hist[metric], errors="coerce")
    hist = hist[np.isfinite(hist[metric].to_numpy(dtype=float))]
    rows, cols = data.row_order, data.col_order
    n_wrap = min(len(rows), 6 if len(rows) > 12 else 4)
    n_grid = math.ceil(len(rows) / n_wrap)
    share = metric not in LOSSES
    fig, axes = new_figure(n_grid, n_wrap, 1.75, 1.35, sharex=True,
                           sharey=share)  # losses differ in scale by objective
    few = hist["step"].nunique() <= 2  # one or two evaluations: bars, not a band
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for k, r in enumerate(rows):
        ax = axes.flat[k]
        sel = hist[hist["row"] == r]
        for j, c in enumerate(cols):
            for h, part in sel[sel["col"] == c].groupby(data.style.hue, sort=False) if data.style.hue else [("", sel[sel["col"] == c])]:
                if part.empty:
                    continue
                sns.lineplot(data=part, x="step", y=metric, errorbar="sd", ax=ax, legend=False,
                             color=data.style.colour(h), linestyle=LINESTYLES[j % len(LINESTYLES)],
                             marker="o" if few else None, markersize=3,
                             err_style="bars" if few else "band", err_kws={"alpha": 0.2} if not few else None)
        if not share:
            auto_scale(ax, sel[metric].to_numpy(dtype=float), "y")
        ax.set_title(r, fontsize=6)
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
    if share and len(rows):
        auto_scale(axes.flat[0], hist[metric].to_numpy(dtype=float), "y")  # shared by all
    from matplotlib.lines import Line2D

    dashes = ([Line2D([], [], color="0.3", ls=LINESTYLES[j % len(LINESTYLES)]) for j in range(len(cols))],
              cols if len(cols) > 1 else [], " / ".join(data.columns))
    _legend(fig, data, dashes)
    return fig


# --- final samples: a compact grid of table rows x columns ---------------------------------------


def _sample_runs(data: SuiteData, seed: int | None) -> pd.DataFrame:
    done = data.done.copy()
    done["_seed"] = pd.to_numeric(done["seed"], errors="coerce")
    if seed is not None:
        pick = done[done["_seed"] == seed]
        if pick.empty:
            seeds = sorted(done["_seed"].dropna().astype(int).unique().tolist())
            raise ValueError(f"{data.results_dir}: no finished run with seed {seed}; seeds: {seeds}")
        return pick
    # per cell the lowest seed that finished (a diverged seed 0 leaves its cell to seed 1)
    return done.sort_values("_seed", kind="stable").drop_duplicates(["row", "col"])


def _dataset(data: SuiteData, run_id: str):
    from ganbench.suite import PluginRef

    return PluginRef.parse(data.config(run_id)["dataset"]).create("datasets")


def samples_figure(data: SuiteData, seed: int | None = None, max_points: int = 1500,
                   panel: float | None = None):
    """Each table cell's final samples (samples.npz) for one seed (by default the lowest
    that finished), wrapped into blocks of whole table rows so that the grid is about as
    wide as tall; 2-D points in the objective's colour with the dataset's mode centres as
    black crosses, images as a 4 x 4 mosaic."""
    picks = _sample_runs(data, seed)
    rows, cols = data.row_order, data.col_order
    cells, datasets = {}, {}
    for run in picks.to_dict("records"):
        x = data.samples(run["run_id"])
        if x is None:
            continue
        if run["col"] not in datasets:
            datasets[run["col"]] = _dataset(data, run["run_id"])
        image = getattr(datasets[run["col"]], "kind", "vector") == "image" and x.ndim == 4
        if image or (x.ndim == 2 and x.shape[1] == 2):
            cells[(run["row"], run["col"])] = (run, x)
    if not cells:
        raise ValueError(f"{data.results_dir}: no finished run has 2-D points or images in "
                         "samples.npz; the samples figure needs one or the other")
    rows = [r for r in rows if any((r, c) in cells for c in cols)]
    cols = [c for c in cols if any((r, c) in cells for r in rows)]
    total = len(rows) * len(cols)
    blocks = max(1, min(len(rows), round(math.sqrt(total * 4 / 3) / len(cols))))
    per_block = math.ceil(len(rows) / blocks)
    blocks = math.ceil(len(rows) / per_block)
    # panels of about an inch in a large grid; a few cells get larger ones
    panel = panel or min(1.8, max(1.05, 7.5 / (blocks * len(cols))))
    fig, axes = new_figure(per_block, blocks * len(cols), panel, panel + 0.12)
    views = {c: _view(datasets[c], [x for (_, cc), (_, x) in cells.items() if cc == c]) for c in cols
             if getattr(datasets[c], "kind", "vector") != "image"}
    for ax in axes.flat:
        ax.set_axis_off()
    for i, r in enumerate(rows):
        b, k = divmod(i, per_block)
        for j, c in enumerate(cols):
            ax = axes[k, b * len(cols) + j]
            if (r, c) not in cells:
                continue
            run, x = cells[(r, c)]
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            title = r if len(cols) == 1 else f"{r} · {c}"
            ax.set_title(_wrap(title, 24), fontsize=5, pad=2)  # ~ the panel width
            if c not in views:
                ax.imshow(_mosaic(x), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                continue
            centres = datasets[c].mode_centres()
            ax.scatter(x[:max_points, 0], x[:max_points, 1], s=1.0, alpha=0.4, linewidths=0,
                       color=data.style.colour(data.hue_of(run)), rasterized=True, zorder=2)
            if centres is not None:  # under the samples: a mode covered is hidden by them
                centres = np.asarray(centres)
                ax.plot(centres[:, 0], centres[:, 1], "x", color="0.35", ms=2.5, mew=0.6, zorder=1)
            (x0, x1), (y0, y1) = views[c]
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_aspect("equal")
    _legend(fig, data)
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)[:3]) or text


def _view(ds, arrays: list[np.ndarray]) -> tuple[tuple[float, float], tuple[float, float]]:
    """A fixed view per dataset: its mode centres with a margin, else the samples' bulk."""
    centres = ds.mode_centres()
    if centres is not None:
        c = np.asarray(centres, dtype=float)
        lo, hi = c.min(0), c.max(0)
        std = ds.mode_std() or 0.0
    else:
        pts = np.concatenate([a[:, :2] for a in arrays])
        pts = pts[np.isfinite(pts).all(1)]
        lo, hi = (np.percentile(pts, [1, 99], axis=0) if len(pts) else (np.zeros(2) - 1, np.zeros(2) + 1))
        std = 0.0
    span = float(max(hi - lo)) or 1.0
    pad = max(0.15 * span, 4 * std)
    mid = (lo + hi) / 2
    half = span / 2 + pad
    return (mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half)


def _mosaic(x: np.ndarray, n: int = 4) -> np.ndarray:
    """n x n images in [-1, 1] (N, C, H, W) as one picture in [0, 1] (H', W'[, 3])."""
    k = min(n * n, len(x))
    x = np.clip((x[:k].astype(float) + 1) / 2, 0, 1)
    if k < n * n:
        x = np.concatenate([x, np.ones((n * n - k, *x.shape[1:]))])
    C, H, W = x.shape[1:]
    grid = x.reshape(n, n, C, H, W).transpose(0, 3, 1, 4, 2).reshape(n * H, n * W, C)
    return grid[..., 0] if C == 1 else grid


# --- Dirac-GAN trajectories ------------------------------------------------------------------------


def has_dirac(data: SuiteData) -> bool:
    cols = data.history.columns
    return "dirac_theta" in cols and "dirac_psi" in cols and data.history["dirac_theta"].notna().any()


def dirac_figure(data: SuiteData, lim: float = 2.5):
    """(theta, psi) at every evaluation of every run (Mescheder et al. 2018, Figure 3): a
    panel per setting of the label axes that vary (other than the scheme and the seed), a
    line per scheme (line style) and seed in the objective's colour, the start o (the
    model's initial point), the end x, the equilibrium (0, 0) *. The view is [-lim, lim]^2:
    a trajectory that leaves it is spiralling out."""
    from ganbench.report.data import label_axes

    hist = data.history
    missing = [c for c in ("dirac_theta", "dirac_psi") if c not in hist.columns]
    if missing:
        raise ValueError(f"{data.results_dir}: the runs logged no {' or '.join(missing)}; plot a "
                         "suite on the dirac dataset that evaluates them (see suites/papers/mescheder_dirac.yaml)")
    hist = hist.dropna(subset=["dirac_theta", "dirac_psi"])
    dash = data.style.dash
    axes_ = [a for a in label_axes(data.runs) if a not in (dash, "seed", "row", "col")
             and a in hist.columns and hist[a].nunique() > 1]
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
    fig, axes = new_figure(n_rows, n_cols, 1.9, 1.9, sharex=True, sharey=True)
    for ax in axes.flat:
        ax.set_visible(False)
    starts: dict[str, tuple[float, float] | None] = {}
    for p in panels:
        ax = axes[where[p]]
        ax.set_visible(True)
        sel = hist
        for a, v in zip(axes_, p):
            sel = sel[sel[a] == v]
        for rid, run in sel.groupby("run_id", sort=False):
            run = run.sort_values("step")
            x, y = run["dirac_theta"].tolist(), run["dirac_psi"].tolist()
            if rid not in starts:
                starts[rid] = _dirac_start(data.config(rid))
            if starts[rid] is not None:
                x, y = [starts[rid][0], *x], [starts[rid][1], *y]
            first = run.iloc[0]
            c, d = data.style.colour(data.hue_of(first)), data.dash_of(first)
            ax.plot(x, y, color=c, lw=0.9, ls=data.style.linestyle(d))
            ax.plot(x[:1], y[:1], "o", color=c, ms=2.5)
            ax.plot(x[-1:], y[-1:], data.style.marker(d) if dash else "x", color=c, ms=3.5)
        ax.plot([0], [0], "*", color="k", ms=6)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title("\n".join(f"{a}={v}" for a, v in zip(axes_, p)), fontsize=6)
    for ax in axes[-1, :]:
        ax.set_xlabel("theta")
    for ax in axes[:, 0]:
        ax.set_ylabel("psi")
    _legend(fig, data, (*data.style.dash_handles(), f"{dash} (line; end marker)") if dash else None)
    return fig


def _dirac_start(config: dict) -> tuple[float, float] | None:
    """(theta, psi) at step 0 for the dirac model (no evaluation happens before training)."""
    model = config.get("model") or {}
    if model.get("name") != "dirac":
        return None
    return float(model["params"]["theta"]), float(model["params"]["psi"])
