"""What a report says, independent of its format: sections as plain values (strings,
listings of rows, PNG bytes) that ``html`` and ``markdown`` lay out."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganbench.report import figures as F
from ganbench.report.data import SuiteData, flatten, label_axes
from ganbench.report.style import theme

RUN_FILES = ("spec.yaml", "summary.json", "metrics.jsonl")


@dataclass
class Listing:
    """A small table: header and rows of text; the ``run_col`` column holds run ids that
    the renderers link to the run's files."""

    head: list[str]
    rows: list[list[str]]
    run_col: int | None = None
    details: list[str] | None = None  # per row, longer text shown folded (a traceback)
    num_cols: tuple[int, ...] = ()    # right-aligned (numbers)


@dataclass
class Figure:
    key: str          # file-name-safe id: metrics-modes, curves-d_loss, samples, dirac
    title: str
    caption: str
    png: bytes


@dataclass
class Content:
    name: str
    results_dir: Path
    description: str
    source: str
    generated: str
    counts: dict[str, int]
    expected: int
    unfinished: list[dict[str, Any]]
    has_record: bool
    grid: Listing
    settings: Listing
    suite_yaml: str
    table_markdown: str
    table_csv: str
    table_rows: int                     # label columns of the table (left of the values)
    figures: list[Figure]
    figure_notes: list[str]
    problems: Listing
    throughput: Listing
    environment: Listing
    runs: Listing
    run_files: dict[str, dict[str, Path]] = field(default_factory=dict)

    @property
    def banner(self) -> str | None:
        """The warning at the top: unfinished runs, or no record to tell."""
        if self.unfinished:
            n = len(self.unfinished)
            inter = sum(u["state"] == "interrupted" for u in self.unfinished)
            parts = [f"{inter} interrupted"] if inter else []
            if n - inter:
                parts.append(f"{n - inter} not started")
            return (f"{n} of {self.expected} runs are unfinished ({', '.join(parts)}): every "
                    "number and figure below covers the finished runs only; table cells "
                    "with missing seeds say n/N. Re-run the suite to finish them.")
        if not self.has_record:
            return ("This folder has no suite record (suite.json): whether runs of the suite "
                    "are missing cannot be told.")
        return None


def collect(results_dir: Path | str, progress: Callable[[str], None] | None = None) -> Content:
    data = SuiteData.load(results_dir)
    say = progress or (lambda _msg: None)
    record = data.record
    unfinished = data.unfinished()
    counts = {s: int((data.runs["status"] == s).sum()) for s in ("done", "diverged", "failed")}
    counts["unfinished"] = len(unfinished)
    from ganbench.report.text import suite_table

    say("table")
    table_md = suite_table(data.results_dir, fmt="markdown")
    table_csv = suite_table(data.results_dir, fmt="csv")
    figs, notes = _figures(data, say)
    spec = record.get("spec")
    return Content(
        name=data.name, results_dir=data.results_dir,
        description=str(record.get("description") or (spec or {}).get("description") or ""),
        source=str(record.get("source") or ""),
        generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        counts=counts, expected=data.expected_runs(), unfinished=unfinished,
        has_record=bool(record), grid=_grid(data, unfinished), settings=_settings(data),
        suite_yaml=yaml.safe_dump(spec, sort_keys=False, allow_unicode=True) if spec else "",
        table_markdown=table_md, table_csv=table_csv, table_rows=len(data.rows),
        figures=figs, figure_notes=notes, problems=_problems(data),
        throughput=_throughput(data), environment=_environment(data),
        runs=_runs(data, unfinished), run_files=_run_files(data, unfinished))


# --- figures -------------------------------------------------------------------------------------


def _figures(data: SuiteData, say) -> tuple[list[Figure], list[str]]:
    out, notes = [], []

    def add(key: str, title: str, caption: str, draw) -> None:
        say(f"figure {key}")
        with theme():
            fig = draw()
            out.append(Figure(key, title, caption, F.to_bytes(fig)))

    metrics = [m for m in data.metrics if f"metric:{m}" in data.runs.columns]
    for m in metrics:
        box = F.is_box_metric(m)
        add(f"metrics-{m}", f"{m} per row and {' / '.join(data.columns) or 'setting'}",
            ("Box plot over seeds (Lucic et al. 2018) with every seed as a dot." if box else
             "Mean over seeds (diamond) with one standard deviation (bar), every seed as a "
             "dot.") + " Diverged and failed runs have no value; they are counted at the right.",
            lambda m=m: F.metric_figure(data, [m]))
    from ganbench.report.ranks import cd_diagram
    from ganbench.report.text import suite_ranks

    ranks = suite_ranks(data.results_dir)
    if ranks.ranked:
        add("ranks", "mean ranks across the table (critical-difference diagram)",
            f"Each row ({' / '.join(data.rows)}) by its mean rank over the table's ranked "
            "cells (1 = best); rows joined by a bar are not separated by Nemenyi's test. "
            + " ".join(
                line.strip() for line in ranks.lines()[len(ranks.rows) + 1:]),
            lambda: cd_diagram(ranks).figure)
    else:
        notes.append("No rank diagram: Friedman's test needs at least 3 rows complete in at "
                     "least 2 ranked cells.")
    hist = data.history
    steps = hist.groupby("run_id")["step"].nunique()
    if len(steps) and steps.max() > 1:
        for q in F.curve_quantities(data):
            add(f"curves-{q}", f"{q} during training",
                f"{q} at every evaluation (metrics.jsonl), one panel per column of the table with "
                "every row overlaid (colour: objective; line style tells apart rows of one "
                "objective); the band (or bar) spans one standard deviation over seeds, "
                "clipped to the metric's range.",
                lambda q=q: F.curves_figure(data, q))
    else:
        notes.append("No training curves: every run was evaluated once (evaluation.every "
                     "equals the iterations).")
    try:
        add("samples", "final samples",
            "Final samples (samples.npz, fixed noise) of one seed per table cell (the lowest "
            "that finished), table rows down and columns across, in the objective's colour; "
            "black rings are the mode centres (a covered mode is a filled ring).",
            lambda: F.samples_figure(data))
    except ValueError as exc:  # not 2-D points or images (e.g. the Dirac-GAN's 1-D data)
        out_note = str(exc).split(": ", 1)[-1]
        notes.append(f"No samples figure: {out_note}.")
    if F.has_dirac(data):
        add("dirac", "Dirac-GAN trajectories",
            "(theta, psi) at every evaluation; o start, end marker per scheme, * the "
            "equilibrium (0, 0) (Mescheder et al. 2018, Figure 3).",
            lambda: F.dirac_figure(data))
    return out, notes


# --- listings ------------------------------------------------------------------------------------


def _grid(data: SuiteData, unfinished: list[dict]) -> Listing:
    axes = [a for a in label_axes(data.runs) if a not in ("row", "col")]
    rows = []
    for a in axes:
        values = list(dict.fromkeys([*data.runs[a].astype(str),
                                     *(u["labels"][a] for u in unfinished if a in u["labels"])]))
        rows.append([a, ", ".join(values), str(len(values))])
    return Listing(["axis", "values", "count"], rows, num_cols=(2,))


def _settings(data: SuiteData) -> Listing:
    """Resolved settings every finished run shares (the grid's axes vary, the rest is here)."""
    flat = [flatten(data.config(r)) for r in data.runs["run_id"]]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for k in keys:
        values = {_show(f.get(k, "—")) for f in flat}
        if len(values) == 1 and k != "seed":
            rows.append([k, values.pop()])
    return Listing(["setting", "value"], rows)


def _show(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return yaml.safe_dump(v, default_flow_style=True, sort_keys=False).strip()
    return "none" if v is None else str(v)


def _labels(data: SuiteData, run: dict) -> list[str]:
    return [run["row"], run["col"], str(run["seed"])]


def _problems(data: SuiteData) -> Listing:
    head = ["run", " / ".join(data.rows) or "row", " / ".join(data.columns) or "column",
            "seed", "status", "step", "reason"]
    rows, details = [], []
    for run in data.runs[data.runs["status"] != "done"].to_dict("records"):
        s = data.summary(run["run_id"])
        if run["status"] == "diverged":
            step = s.get("diverged_step")
            reason = f"a loss became NaN or infinite at step {step}"
            detail = ""
        else:
            hist = data.history
            logged = hist.loc[hist["run_id"] == run["run_id"], "step"]
            step = int(logged.max()) if len(logged) else None
            reason = str(s.get("error") or "failed (no error recorded)").splitlines()[0][:300]
            if step is not None:
                reason += f" (last evaluation at step {step})"
            detail = str(s.get("traceback") or "")
        rows.append([run["run_id"], *_labels(data, run), run["status"],
                     "—" if step is None else str(step), reason])
        details.append(detail)
    return Listing(head, rows, run_col=0, details=details, num_cols=(3, 5))


def _throughput(data: SuiteData) -> Listing:
    head = ["group", "runs", "shared labels", "device", "steps/s", "samples/s (all runs)",
            "train s", "peak memory", "evaluation s per run"]
    rows = []
    runs = data.runs[data.runs["status"] != "failed"]
    axes = [a for a in label_axes(data.runs) if a not in ("row", "col", "seed")]
    for _ensemble, members in runs.groupby(_ensembles(data, runs), sort=False, dropna=False):
        s = data.summary(members["run_id"].iloc[0])
        t, env = s.get("timings") or {}, s.get("environment") or {}
        shared = [f"{a}={members[a].iloc[0]}" for a in axes if members[a].nunique() == 1]
        evals = [sum(v for k, v in (data.summary(r).get("timings") or {}).items()
                     if k.startswith("eval_") and isinstance(v, (int, float)))
                 for r in members["run_id"]]
        size = t.get("group_size") or len(members)
        sps = t.get("samples_per_s")
        rows.append([str(members["group"].iloc[0])[:12], str(len(members)), ", ".join(shared),
                     str(env.get("device_name") or env.get("device") or "—"),
                     _num(t.get("steps_per_s")), _num(sps * size if sps else None),
                     _num(t.get("train_s")), _bytes(t.get("peak_memory_bytes"), t.get("peak_memory_kind")),
                     _num(sum(evals) / len(evals) if evals else None)])
    return Listing(head, rows, num_cols=(1, 4, 5, 6, 7, 8))


def _ensembles(data: SuiteData, runs) -> list[str]:
    """Per run, the ensemble it trained in. summary.json's 'group' is its configuration
    without the seed (one per row and column), so one ensemble that trained several
    configurations (a mixed one, or an adaptive round) would be listed once per
    configuration; the members of one ensemble share its size and its training time
    (measured once for the ensemble), which tell it apart from every other."""
    out = []
    for rid, group in zip(runs["run_id"], runs["group"]):
        t = data.summary(rid).get("timings") or {}
        if t.get("group_size") and t.get("train_s") is not None:
            out.append(f"{t['group_size']}-{t['train_s']!r}-{t.get('steps_per_s')!r}")
        else:
            out.append(str(group))
    return out


def _environment(data: SuiteData) -> Listing:
    keys = ["device", "device_name", "python", "torch", "numpy", "platform"]
    seen: dict[tuple, list[str]] = {}
    for run in data.runs.to_dict("records"):
        env = data.summary(run["run_id"]).get("environment")
        if not env:
            continue
        key = tuple(str(env.get(k, "—")) for k in keys)
        seen.setdefault(key, [])
        if run["group"] not in seen[key]:
            seen[key].append(run["group"])
    return Listing([*keys, "groups"], [[*k, str(len(g))] for k, g in seen.items()],
                   num_cols=(len(keys),))


def _runs(data: SuiteData, unfinished: list[dict]) -> Listing:
    head = ["run", " / ".join(data.rows) or "row", " / ".join(data.columns) or "column",
            "seed", "status"]
    rows = [[r["run_id"], *_labels(data, r), r["status"]] for r in data.runs.to_dict("records")]
    for u in unfinished:
        lab = u["labels"]
        rows.append([u["run_id"], " / ".join(lab.get(a, "?") for a in data.rows),
                     " / ".join(lab.get(a, "?") for a in data.columns), lab.get("seed", "?"),
                     f"unfinished ({u['state']})"])
    return Listing(head, rows, run_col=0, num_cols=(3,))


def _run_files(data: SuiteData, unfinished: list[dict]) -> dict[str, dict[str, Path]]:
    out = {}
    dirs = [*zip(data.runs["run_id"], data.runs["run_dir"]),
            *((u["run_id"], u["run_dir"]) for u in unfinished if u.get("run_dir"))]
    for rid, d in dirs:
        out[rid] = {f: Path(d) / f for f in RUN_FILES if (Path(d) / f).is_file()}
    return out


def _num(x: Any) -> str:
    if x is None or not isinstance(x, (int, float)):
        return "—"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _bytes(n: Any, kind: Any) -> str:
    if not isinstance(n, (int, float)) or n <= 0:
        return "—"
    where = {"cpu_rss": " (process RSS)", "cuda": " (CUDA)"}.get(str(kind), f" ({kind})" if kind else "")
    return f"{n / 2**20:,.0f} MiB{where}"
