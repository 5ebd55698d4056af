"""The report's figures, as matplotlib Figures drawn from a ``SuiteData``.

Each function returns a Figure (no pyplot state, no display); ``ganbench.report.plots`` saves them
as the stand-alone ``ganbench plot KIND`` figures and the report embeds the same ones.
Colour always means the objective and line style / marker the scheme (``style.Style``).

What a reader may trust in every figure: one scale per metric across its panels; axes
bounded by the metric's range (0 to the dataset's number of modes, 0 to 1 for fractions,
0 to log 2 for the classifier JSD) with error bars and bands clipped to it; labels that
name their fields (``objective=hinge``, the fields left out are listed once); no text
outside the figure.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pandas as pd

from ganbench.registry import unknown_message
from ganbench.report.data import LOSSES, SuiteData
from ganbench.report.style import BOX_METRICS, DPI, LINESTYLES, MODE_MARKER


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


def _legend(fig, data: SuiteData, extra: tuple[list, list, str] | None = None,
            colours: bool = True) -> None:
    handles, labels = data.style.legend_handles()
    if colours and len(labels) > 0:
        fig.legend(handles, labels, loc="outside upper center", ncol=_columns(fig, labels),
                   title=data.style.hue, frameon=False)
    if extra and extra[1]:
        fig.legend(extra[0], extra[1], loc="outside lower center",
                   ncol=_columns(fig, extra[1]), title=extra[2], frameon=False)


def direction_label(metric: str, sep: str = " ") -> str:
    from ganbench.report.tables import metric_direction

    arrow = {"max": "(higher is better)", "min": "(lower is better)"}.get(metric_direction(metric) or "")
    return metric + (sep + arrow if arrow else "")


def is_box_metric(metric: str) -> bool:
    from ganbench.report.tables import registered_metric

    return registered_metric(metric) in BOX_METRICS


# --- labels that name their fields ---------------------------------------------------------------


def row_names(data: SuiteData, sep: str = ", ") -> tuple[dict[str, str], dict[str, str]]:
    """Per table row, a label that names its fields (``objective=hinge, scheme=simultaneous``)
    and the fields every label leaves out at their most common value. The first row key is
    always named; another key only where a row differs from its most common value. Two
    rows never share a label: equal labels agree on every named field, and the fields left
    out hold the common value in both."""
    keys = [k for k in data.rows if k in data.runs.columns]
    if not keys:
        return {r: r for r in data.row_order}, {}
    first = data.runs.drop_duplicates("row").set_index("row")
    common = {k: first[k].astype(str).value_counts(sort=True).index[0] for k in keys[1:]}
    names, left_out = {}, {}
    for r in data.row_order:
        values = first.loc[r]
        shown = [f"{keys[0]}={values[keys[0]]}"]
        for k in keys[1:]:
            if str(values[k]) != common[k]:
                shown.append(f"{k}={values[k]}")
            else:
                left_out[k] = common[k]
        names[r] = sep.join(shown)
    return names, {k: left_out[k] for k in keys[1:] if k in left_out}


def column_names(data: SuiteData) -> dict[str, str]:
    """Per table column, ``dataset=ring`` (every column key named)."""
    keys = [k for k in data.columns if k in data.runs.columns]
    first = data.runs.drop_duplicates("col").set_index("col")
    return {c: ", ".join(f"{k}={first.loc[c, k]}" for k in keys) if keys else c
            for c in data.col_order}


def left_out_text(fig, left_out: dict[str, str]) -> str:
    """The fields the row labels leave out and their value, wrapped to the figure."""
    import textwrap

    if not left_out:
        return ""
    text = "rows not naming a field have " + ", ".join(f"{k}={v}" for k, v in left_out.items())
    width = max(40, int(fig.get_figwidth() * 72 / 6 * 1.6))  # characters at 6 pt
    return "\n".join(textwrap.wrap(text, width))


def _left_out_note(fig, left_out: dict[str, str]) -> None:
    """One line under the figure (for figures without a legend at the bottom)."""
    if left_out:
        fig.supxlabel(left_out_text(fig, left_out), fontsize=6, color="0.25")


def fit_lines(lines: list[str], width_in: float, points: float = 6.0) -> str:
    """Lines wrapped (at commas and spaces) to ``width_in`` inches of ``points``-size text,
    so that a title is never wider than its panel."""
    import textwrap

    chars = max(12, int(width_in * 72 / (points * 0.6)))  # ~0.6 em per character
    return "\n".join(w for line in lines
                     for w in textwrap.wrap(line, chars, break_on_hyphens=False, break_long_words=False))


# --- the range of a metric -------------------------------------------------------------------------


def metric_range(metric: str, dataset=None) -> tuple[float | None, float | None]:
    """The values ``metric`` can take, as its entry declares them (``ResultEntry``: its
    bounds, else its unit's): a count of modes 0 to the dataset's number of modes, a
    fraction 0 to 1; (None, None) where nothing is declared (a loss, FID)."""
    from ganbench.metrics.base import declared_entries
    from ganbench.registry import registry
    from ganbench.report.tables import registered_metric

    owner = registered_metric(metric)
    if owner is None:
        return None, None
    entry = next((e for e in declared_entries(owner, registry("metrics").get(owner))
                  if e.name == metric), None)
    if entry is None:
        return None, None
    lo, hi = entry.value_range()  # the range results.verify holds values to
    return lo, _n_modes(dataset) if hi == "modes" else hi


def _n_modes(dataset) -> float | None:
    if dataset is None:
        return None
    centres = dataset.mode_centres()
    return float(len(centres)) if centres is not None else None


def _col_dataset(data: SuiteData, col: str):
    """The dataset of a table column (None when it cannot be built, e.g. files missing)."""
    runs = data.runs[data.runs["col"] == col]
    if runs.empty:
        return None
    try:
        return _dataset(data, runs["run_id"].iloc[0])
    except Exception:  # a range is a nicety: never fail a figure for it
        return None


def _limits(values: np.ndarray, lo: float | None, hi: float | None) -> tuple[float, float]:
    """Axis limits: the metric's range where declared (a 3 % margin so that a point on the
    bound shows whole), else the values' span with a margin, never past a declared bound."""
    v = values[np.isfinite(values)]
    a = lo if lo is not None else (float(v.min()) if len(v) else 0.0)
    b = hi if hi is not None else (float(v.max()) if len(v) else 1.0)
    if lo is None and len(v):
        a = min(a, float(v.min()))
    if hi is None and len(v):
        b = max(b, float(v.max()))
    span = (b - a) or max(abs(b), 1.0)
    return a - 0.03 * span, b + 0.03 * span


def share_limits(panels: list[tuple], axis: str) -> None:
    """Limits of one metric's panels ``(ax, values drawn, lo, hi)``: the same in every
    panel when the metric's range is (fractions, a loss, FID), else each panel its own
    range (modes: 0 to its dataset's number of modes). A linear axis is bounded by the
    range; a log axis spans the positive values drawn."""
    if not panels:
        return
    same = len({(lo, hi) for _, _, lo, hi in panels}) == 1
    every = np.concatenate([v for _, v, _, _ in panels])
    for ax, values, lo, hi in panels:
        v = every if same else values
        setter = ax.set_xlim if axis == "x" else ax.set_ylim
        scale = ax.get_xscale() if axis == "x" else ax.get_yscale()
        if scale == "linear":
            setter(*_limits(v, lo, hi))
        elif scale == "log":
            pos = v[np.isfinite(v) & (v > 0)]
            if len(pos):
                setter(pos.min() / 1.5, pos.max() * 1.5)
        else:  # symlog: the values' span with a margin of a factor 2 in magnitude
            fin = v[np.isfinite(v)]
            if len(fin):
                a, b = float(fin.min()), float(fin.max())
                setter(a * 2 if a < 0 else a / 2, b * 2 if b > 0 else b / 2)


def _clip(x, lo: float | None, hi: float | None):
    return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)


# --- per metric: every row with its seeds, faceted by the table's columns ------------------------


def metric_figure(data: SuiteData, metrics: list[str] | str | None = None, kind: str = "auto"):
    """Per metric and column of the table (a panel each; more than four columns wrap by
    three): each table row's mean over seeds with a bar of one standard deviation (the
    table's mean ± std, clipped to the metric's range) and every seed as a dot; box plots
    (Lucic et al. 2018) for FID-like metrics or ``kind='box'``. Rows with diverged or
    failed runs are counted at the panel's right edge. A metric has one scale in all its
    panels: a symmetric-log axis when its values span more than three decades."""
    import seaborn as sns

    metrics = [metrics] if isinstance(metrics, str) else list(metrics or data.metrics)
    known = [c[len("metric:"):] for c in data.runs.columns if c.startswith("metric:")]
    for m in metrics:
        if m not in known:
            raise ValueError(unknown_message("metric", m, known))
    if kind not in ("auto", "point", "box"):
        raise ValueError(f"kind must be auto, point or box, got {kind!r}")
    rows, cols, hue = data.row_order, data.col_order, data.style.hue
    names, left_out = row_names(data)
    col_names = column_names(data)
    wrap = len(cols) if len(cols) <= 4 else 3
    per_metric = math.ceil(len(cols) / wrap)
    # a minimum height: a 2-row suite is a readable panel, not a strip
    fig, axes = new_figure(len(metrics) * per_metric, wrap, 2.5, 0.75 + max(1.1, 0.22 * len(rows)))
    for ax in axes.flat:
        ax.set_visible(False)
    bad = data.runs[data.runs["status"] != "done"].groupby(["row", "col", "status"]).size()
    datasets = {c: _col_dataset(data, c) for c in cols}
    rng = np.random.default_rng(0)  # the dots' jitter: the same figure every time
    for i, m in enumerate(metrics):
        box = kind == "box" or (kind == "auto" and is_box_metric(m))
        every = data.done[f"metric:{m}"].to_numpy(dtype=float)
        panels = []
        for j, c in enumerate(cols):
            ax = axes[i * per_metric + j // wrap, j % wrap]
            ax.set_visible(True)
            lo, hi = metric_range(m, datasets[c])
            sub = data.done[data.done["col"] == c][["row", "seed", f"metric:{m}", *([hue] if hue else [])]]
            sub = sub.rename(columns={f"metric:{m}": "value"}).dropna(subset=["value"])
            ax.set_yticks(range(len(rows)), [names[r] for r in rows])
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ends = [sub["value"].to_numpy(dtype=float)]
            if sub.empty:
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center",
                        va="center", color="0.5")
            elif box:
                with warnings.catch_warnings():  # seaborn 0.13 passes matplotlib's old 'vert'
                    warnings.simplefilter("ignore", DeprecationWarning)
                    sns.boxplot(data=sub, x="value", y="row", order=rows, legend=False, ax=ax,
                                hue=hue, hue_order=data.style.hue_values or None,
                                palette=data.style.colours or None, dodge=False, width=0.6,
                                fliersize=0, linewidth=0.7)
                _dots(ax, sub, rows, rng, lambda _r: "k", alpha=0.6)
            else:
                _dots(ax, sub, rows, rng, lambda r: data.style.colour(data.hue_of(r)), alpha=0.45)
                ends += _mean_bars(ax, data, sub, rows, lo, hi)
            auto_scale(ax, every, "x")  # one decision from all panels' values
            panels.append((ax, np.concatenate(ends), lo, hi))
            for k, r in enumerate(rows):
                notes = [f"{bad[(r, c, s)]} {short}" for s, short in (("diverged", "div"), ("failed", "fail"))
                         if (r, c, s) in bad]  # the table's abbreviations
                if notes:
                    ax.text(0.99, k, ", ".join(notes), transform=ax.get_yaxis_transform(),
                            ha="right", va="center", fontsize=5.5, color="#b2182b",
                            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            ax.set_xlabel(direction_label(m, "\n"))  # two lines: neighbours' labels never meet
            ax.set_ylabel("")
            if j % wrap:
                ax.tick_params(labelleft=False)
            if c and (i == 0 or per_metric > 1):
                ax.set_title(fit_lines([col_names[c]], 2.4, 7.5), fontweight="bold")
        share_limits(panels, "x")
    _grow_for_legend_and_note(fig, data, left_out)
    _legend(fig, data)
    _left_out_note(fig, left_out)
    return fig


def _grow_for_legend_and_note(fig, data: SuiteData, left_out: dict[str, str]) -> None:
    """Add the height the colour legend and the note take: the panels keep theirs."""
    labels = data.style.hue_values
    lines = math.ceil(len(labels) / _columns(fig, labels)) + 1 if labels else 0
    note = left_out_text(fig, left_out).count("\n") + 1 if left_out else 0
    fig.set_figheight(fig.get_figheight() + 0.15 * lines + 0.12 * note + 0.1)


def _dots(ax, sub: pd.DataFrame, rows: list[str], rng, colour, alpha: float) -> None:
    """Every seed as a dot on its row, jittered across it."""
    k = sub["row"].map({r: i for i, r in enumerate(rows)}).to_numpy(dtype=float)
    y = k + rng.uniform(-0.12, 0.12, len(k))
    colours = [colour(r) for r in sub.to_dict("records")]
    ax.scatter(sub["value"].to_numpy(dtype=float), y, s=4, c=colours, alpha=alpha,
               linewidths=0, zorder=1)


def _mean_bars(ax, data: SuiteData, sub: pd.DataFrame, rows: list[str], lo, hi) -> list[np.ndarray]:
    """Each row's mean (diamond) with one standard deviation (bar) clipped to the range."""
    ends = []
    for k, r in enumerate(rows):
        v = sub.loc[sub["row"] == r, "value"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        mean = float(v.mean())
        sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        a, b = _clip(np.array([mean - sd, mean + sd]), lo, hi)
        colour = data.style.colour(data.hue_of(sub[sub["row"] == r].iloc[0]))
        ax.errorbar([mean], [k], xerr=[[mean - a], [b - mean]], fmt="D", ms=3.2, color=colour,
                    capsize=2.0, elinewidth=1.0, capthick=1.0, zorder=3)
        ends.append(np.array([a, b]))
    return ends


def auto_scale(ax, values: np.ndarray, axis: str) -> str:
    """A log axis when the finite values span more than three decades (a diverging
    Dirac-GAN beside converged ones): log when all are positive, else symmetric-log with a
    few decade ticks; linear otherwise. Returns the scale set."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    v = values[np.isfinite(values)]
    pos = np.abs(v)[np.abs(v) > 0]
    if len(pos) < 2 or pos.max() / pos.min() <= 1e3:
        return "linear"
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if (v > 0).all():
        setter("log")
        return "log"
    lo = math.floor(math.log10(max(pos.min(), pos.max() * 1e-8)))
    setter("symlog", linthresh=10.0 ** lo)

    def side(mags: np.ndarray, most: int) -> list[float]:
        # decades inside this sign's own values (a tick past the data is off the axis),
        # the largest always, at most ``most`` of them so that labels keep apart
        if not len(mags):
            return []
        top = math.floor(math.log10(mags.max()))
        bottom = min(top, max(lo, math.floor(math.log10(mags.min()))))
        decades = list(range(top, bottom - 1, -max(1, math.ceil((top - bottom + 1) / most))))
        return [10.0 ** d for d in decades]
    up, down = np.abs(v[v > 0]), np.abs(v[v < 0])
    both = len(up) and len(down)  # both signs: fewer labels on the smaller side
    more_up = len(up) and (not len(down) or up.max() >= down.max())
    ticks = [0.0, *side(up, 4 if not both else 3 if more_up else 1)]
    ticks = sorted([-t for t in side(down, 4 if not both else 1 if more_up else 3)] + ticks)
    which = ax.xaxis if axis == "x" else ax.yaxis
    which.set_major_locator(FixedLocator(ticks))
    which.set_major_formatter(FuncFormatter(
        lambda t, _: "0" if t == 0 else f"{'-' if t < 0 else ''}$10^{{{round(math.log10(abs(t)))}}}$"))
    which.set_minor_locator(NullLocator())
    return "symlog"


# --- training curves from metrics.jsonl ----------------------------------------------------------


def curve_quantities(data: SuiteData) -> list[str]:
    """What the curves can show: the table's metrics, then the losses, as logged."""
    hist = data.history
    return [q for q in dict.fromkeys([*data.metrics, *LOSSES])
            if q in hist.columns and pd.to_numeric(hist[q], errors="coerce").notna().any()]


def row_dashes(data: SuiteData) -> dict[str, object]:
    """A line style per table row: rows of one objective (one colour) get different ones."""
    seen: dict[str, int] = {}
    out = {}
    for r in data.row_order:
        h = data.hue_of(data.runs[data.runs["row"] == r].iloc[0])
        out[r] = LINESTYLES[seen.get(h, 0) % len(LINESTYLES)]
        seen[h] = seen.get(h, 0) + 1
    return out


def curves_figure(data: SuiteData, metric: str | None = None):
    """``metric`` against the training step, one panel per column of the table with every
    table row overlaid (the objective's colour; rows of one objective differ in line
    style): the mean over seeds with a band (or, for one or two evaluations, a bar) of one
    standard deviation, clipped to the metric's range."""
    from matplotlib.lines import Line2D

    available = curve_quantities(data)
    metric = metric or (available[0] if available else None)
    if metric not in available:
        raise ValueError(unknown_message("quantity for curves", str(metric), available))
    hist = data.history[["row", "col", "seed", "step", metric]].copy()
    hist[metric] = pd.to_numeric(hist[metric], errors="coerce")
    hist = hist[np.isfinite(hist[metric].to_numpy(dtype=float))]
    rows, cols = data.row_order, data.col_order
    names, left_out = row_names(data)
    col_names = column_names(data)
    dashes = row_dashes(data)
    wrap = min(len(cols), 3)
    fig, axes = new_figure(math.ceil(len(cols) / wrap), wrap, 3.0, 2.2, sharex=True)
    for ax in axes.flat[len(cols):]:
        ax.set_visible(False)
    every = hist[metric].to_numpy(dtype=float)
    panels = []
    for j, c in enumerate(cols):
        ax = axes.flat[j]
        lo, hi = metric_range(metric, _col_dataset(data, c))
        ends = [hist.loc[hist["col"] == c, metric].to_numpy(dtype=float)]
        for r in rows:
            part = hist[(hist["row"] == r) & (hist["col"] == c)]
            if part.empty:
                continue
            g = part.groupby("step")[metric]
            step = g.mean().index.to_numpy()
            mean, sd = g.mean().to_numpy(), g.std(ddof=1).fillna(0.0).to_numpy()
            a, b = _clip(mean - sd, lo, hi), _clip(mean + sd, lo, hi)
            colour = data.style.colour(data.hue_of(data.runs[data.runs["row"] == r].iloc[0]))
            if len(step) <= 2:  # one or two evaluations: points with bars, not a band
                ax.errorbar(step, mean, yerr=[mean - a, b - mean], color=colour, ls=dashes[r],
                            marker="o", ms=3, capsize=2, lw=1.0)
            else:
                ax.plot(step, mean, color=colour, ls=dashes[r], lw=1.0)
                ax.fill_between(step, a, b, color=colour, alpha=0.15, linewidth=0)
            ends += [a, b]
        auto_scale(ax, every, "y")  # one scale in every panel
        panels.append((ax, np.concatenate(ends), lo, hi))
        ax.set_title(fit_lines([col_names[c]], 2.9, 7.5), fontweight="bold")
        ax.set_xlabel("step")
        ax.set_ylabel(direction_label(metric) if metric not in LOSSES else metric)
    share_limits(panels, "y")
    handles = [Line2D([], [], color=data.style.colour(data.hue_of(data.runs[data.runs["row"] == r].iloc[0])),
                      ls=dashes[r], lw=1.2) for r in rows]
    labels = [names[r] for r in rows]
    # the legend of rows under the panels: the figure grows by its lines, never squeezes them
    fig.set_figheight(fig.get_figheight() + 0.6 + 0.16 * math.ceil(len(labels) / _columns(fig, labels)))
    title = "\n".join(filter(None, ["row", left_out_text(fig, left_out)]))
    _legend(fig, data, (handles, labels, title), colours=False)
    return fig


# --- final samples: table rows down, the table's columns (datasets) across ----------------------


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


def _drawable(ds, x: np.ndarray | None) -> bool:
    if x is None:
        return False
    return (getattr(ds, "kind", "vector") == "image" and x.ndim == 4) or (x.ndim == 2 and x.shape[1] == 2)


def _draw_samples(ax, x: np.ndarray, ds, colour, view, max_points: int) -> None:
    """One run's samples: an image mosaic, or 2-D points in ``colour`` over the mode
    centres drawn as black rings (every palette colour stands out against them)."""
    ax.set_xticks([])
    ax.set_yticks([])
    if view is None:
        ax.imshow(_mosaic(x), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        return
    ax.scatter(x[:max_points, 0], x[:max_points, 1], s=1.5, alpha=0.6, linewidths=0,
               color=colour, rasterized=True, zorder=2)
    centres = ds.mode_centres()
    if centres is not None:  # hollow rings under the points: a covered mode is a filled ring
        centres = np.asarray(centres)
        ax.plot(centres[:, 0], centres[:, 1], "o", mfc="none", mec=MODE_MARKER, ms=4.5,
                mew=0.5, zorder=1)
    (x0, x1), (y0, y1) = view
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")


def samples_figure(data: SuiteData, seed: int | None = None, max_points: int = 1500,
                   panel: float | None = None):
    """Each table cell's final samples (samples.npz) for one seed (by default the lowest
    that finished): a grid of table rows (down, headed by their fields) by the table's
    columns (across, headed ``dataset=ring``); a cell without samples says so. 2-D points
    in the objective's colour with the dataset's mode centres as black rings, images as a
    4 x 4 mosaic."""
    picks = _sample_runs(data, seed)
    rows, cols = data.row_order, data.col_order
    cells, datasets = {}, {}
    for run in picks.to_dict("records"):
        x = data.samples(run["run_id"])
        if x is None:
            continue
        if run["col"] not in datasets:
            datasets[run["col"]] = _dataset(data, run["run_id"])
        if _drawable(datasets[run["col"]], x):
            cells[(run["row"], run["col"])] = (run, x)
    if not cells:
        raise ValueError(f"{data.results_dir}: no finished run has 2-D points or images in "
                         "samples.npz; the samples figure needs one or the other")
    rows = [r for r in rows if any((r, c) in cells for c in cols)]
    cols = [c for c in cols if any((r, c) in cells for r in rows)]
    names, left_out = row_names(data, sep="\n")
    col_names = column_names(data)
    panel = panel or min(1.6, max(1.0, 8.0 / len(cols)))
    fig, axes = new_figure(len(rows), len(cols), panel, panel)
    # room for the row headings at the left and the legend and note: panels keep their size
    heading = max(len(line) for r in rows for line in names[r].split("\n")) * 0.055 + 0.2
    fig.set_size_inches(len(cols) * panel + heading, len(rows) * (panel + 0.05) + 0.3)
    _grow_for_legend_and_note(fig, data, left_out)
    views = {c: _view(datasets[c], [x for (_, cc), (_, x) in cells.items() if cc == c])
             for c in cols if getattr(datasets[c], "kind", "vector") != "image"}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            ax = axes[i, j]
            if (r, c) in cells:
                run, x = cells[(r, c)]
                _draw_samples(ax, x, datasets[c], data.style.colour(data.hue_of(run)),
                              views.get(c), max_points)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
                for s in ax.spines.values():
                    s.set_visible(False)
                ax.text(0.5, 0.5, "no samples", transform=ax.transAxes, ha="center",
                        va="center", color="0.5", fontsize=6)
            if i == 0:
                ax.set_title(fit_lines([col_names[c]], panel, 7.5), fontweight="bold")
            if j == 0:
                ax.set_ylabel(names[r], rotation=0, ha="right", va="center", fontsize=6)
    _legend(fig, data)
    _left_out_note(fig, left_out)
    return fig


def run_samples_png(data: SuiteData, run_id: str, max_points: int = 1500) -> bytes | None:
    """One run's final samples as a PNG (the samples figure's panel), None when the run
    has no 2-D points or images to show."""
    from ganbench.report.style import theme

    x = data.samples(run_id)
    if x is None:
        return None
    try:
        ds = _dataset(data, run_id)
    except Exception:  # its dataset cannot be built here (files absent): no picture
        return None
    if not _drawable(ds, x):
        return None
    run = data.runs[data.runs["run_id"] == run_id].iloc[0]
    with theme():
        fig, axes = new_figure(1, 1, 2.4, 2.4)
        view = None if getattr(ds, "kind", "vector") == "image" else _view(ds, [x])
        _draw_samples(axes[0, 0], x, ds, data.style.colour(data.hue_of(run)), view, max_points)
        names, _ = row_names(data, sep="\n")
        axes[0, 0].set_title(f"{names[run['row']]}\n{column_names(data)[run['col']]}, seed={run['seed']}",
                             fontsize=6)
        return to_bytes(fig)


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
        ax.set_title(fit_lines([f"{a}={v}" for a, v in zip(axes_, p)], 1.9), fontsize=6)
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
