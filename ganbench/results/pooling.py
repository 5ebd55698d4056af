"""One configuration per cell: which resolved config keys vary among loaded runs (so that
frames show them as columns), and the one check every view makes before it aggregates a
cell over seeds (tables, reports, comparisons): the runs of a cell differ in nothing but
the row keys, the column keys and the seed, unless the caller pools keys knowingly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.suite import run as run_model
from ganbench.suite.run import NOT_IN_RUN_ID, PluginRef, canonical, label
from ganbench.suite.schema import PLUGIN_KEYS

# frame columns that are not settings of a run (the seed is the replicate, not a setting)
NOT_CONFIG = {"suite", "run_id", "seed", "status", "diverged_step", "group", "run_dir",
              "metric", "value", "step", "wall_s", "kind"}
_SKIP = {".".join(k) for k in NOT_IN_RUN_ID} | {"seed"}
# one column per evaluated metric: a run that evaluates one more metric is the same
# configuration for the others, so these are compared only among the runs that have them
METRICS = "evaluation.metrics"


class PooledCellError(ValueError):
    """A cell whose runs differ in a setting that is neither a row, a column nor pooled."""


def config_items(config: dict[str, Any]) -> dict[str, Any]:
    """A resolved run config as {column: value}: a plug-in by its full label
    ('unrolled(k=5)', 'none'), each evaluated metric as 'evaluation.metrics.NAME' (its
    label), other settings by their dotted path (numbers stay numbers; other lists as one
    canonical text)."""
    out: dict[str, Any] = {}

    def walk(node: Any, path: str) -> None:
        if path in _SKIP:
            return
        if path == METRICS and isinstance(node, list):
            for m in node:
                ref = PluginRef.parse(m)
                if ref is not None:
                    out[f"{METRICS}.{ref.name}"] = ref.label()
            return
        if path in PLUGIN_KEYS:
            ref = PluginRef.parse(node)
            out[path] = label(node) if ref is None else ref.label()
        elif isinstance(node, dict) and node:
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, (list, tuple, dict)):
            out[path] = canonical(node)
        else:
            out[path] = node
    walk(config, "")
    # a key added after run ids were fixed: absent from older runs means its old value
    for (sec, key), value in getattr(run_model, "ID_DEFAULTS", {}).items():
        out.setdefault(f"{sec}.{key}", value)
    return out


def covered(key: str, axes: Iterable[str]) -> bool:
    """Whether a grid axis (a label column) already tells runs apart in ``key``: the axis
    is the key, a section holding it, or a setting inside it."""
    return any(key == a or key.startswith(a + ".") or a.startswith(key + ".") for a in axes)


def varying_columns(runs: Sequence[tuple[dict[str, Any], dict[str, Any]]]
                    ) -> list[dict[str, Any]]:
    """For each run (its labels, its resolved config): the settings that vary among
    ``runs`` and that no label column covers, as {column: value}."""
    items = [config_items(config) for _, config in runs]
    axes = {a for labels, _ in runs for a in labels}
    keys = list(dict.fromkeys(k for it in items for k in it))
    vary = [k for k in keys if not covered(k, axes) and len(
        {canonical(it.get(k)) for it in items if not _optional(k) or k in it}) > 1]
    return [{k: it.get(k) for k in vary} for it in items]


def _optional(key: str) -> bool:
    return key.startswith(METRICS + ".")


# load_results column prefixes that are not settings of a run: values, timings, and the
# preprocessing its feature extractors recorded (provenance, checked on its own)
NOT_SETTINGS = ("metric:", "time:", "preprocessing:")


def config_columns(df: pd.DataFrame) -> list[str]:
    """The columns of a results frame that are settings (labels and varying config keys)."""
    return [c for c in df.columns
            if c not in NOT_CONFIG and not str(c).startswith(NOT_SETTINGS)]


def one_suite(df: pd.DataFrame, root: Path | str) -> str:
    """The one suite of ``df``; a folder holding several is refused (each is its own table)."""
    suites = list(dict.fromkeys(str(s) for s in df["suite"].dropna())) if "suite" in df else []
    if len(suites) > 1:
        raise ValueError(f"{root} holds {len(suites)} suites ({', '.join(suites)}); give one "
                         f"suite's folder, e.g. {Path(root) / suites[0]}")
    return suites[0] if suites else ""


def check_cells(df: pd.DataFrame, rows: Sequence[str], columns: Sequence[str],
                pool: Sequence[str] = (), source: str | None = None) -> None:
    """Refuse (``PooledCellError``) a cell of ``df`` (one row per run, its settings as
    columns) whose runs differ in a setting other than ``rows``, ``columns``, the seed and
    the ``pool`` keys. The message names the settings and the fix (``source``: the suite
    file whose table this is, fixed there rather than on the command line)."""
    keys = [*rows, *columns]
    unknown = [p for p in pool if p not in df.columns]
    if unknown:
        from ganbench.registry import unknown_message

        raise PooledCellError(unknown_message("--pool key", unknown[0], config_columns(df)))
    rest = [c for c in config_columns(df) if c not in keys and c not in pool]
    if not rest or df.empty:
        return
    text = pd.DataFrame({c: df[c].map(lambda v: None if _missing(v) else str(v))
                         for c in rest}, index=df.index)
    groups = (text.groupby([df[k].astype(str) for k in keys], sort=False) if keys
              else [((), text)])
    differ: list[str] = []
    example = None
    for at, part in groups:
        bad = [c for c in rest if part[c].nunique(dropna=_optional(c)) > 1]
        if bad and example is None:
            at = at if isinstance(at, tuple) else (at,)
            example = (", ".join(f"{k}={v}" for k, v in zip(keys, at)) or "the one cell",
                       len(part[bad].drop_duplicates()))
        differ += [c for c in bad if c not in differ]
    if differ:
        where, n = example
        what = (f"a cell would average runs of different configurations: they differ in "
                f"{', '.join(differ)} (the cell {where} holds {n} configurations)")
        if source is not None:  # the suite's own table: fixed in the file
            raise PooledCellError(f"{source}: table: {what}. Add them to table.rows "
                                  f"(rows: [{', '.join([*rows, *differ])}])")
        raise PooledCellError(f"{what}. Add them to the rows (--rows "
                              f"{' '.join([*rows, *differ])}), or pool them knowingly "
                              f"(--pool {' '.join(differ)})")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def pooled_note(pool: Sequence[str]) -> str:
    """The legend line of a table whose cells pool ``pool`` on purpose."""
    return (f"pooled (--pool {' '.join(pool)}): each cell averages runs that differ in "
            f"{', '.join(pool)}, so its interval mixes configurations")


def runs_frame(runs: Sequence[Any]) -> pd.DataFrame:
    """RunSpecs as a frame of their settings (labels and varying config keys), as
    ``results.load_results`` would show them once finished."""
    pairs = [(r.labels, r.config) for r in runs]
    return pd.DataFrame([{**labels, **extra, "seed": r.seed}
                         for (labels, _), extra, r in zip(pairs, varying_columns(pairs), runs)])


def check_suite_table(suite: Any) -> None:
    """Refuse, before anything trains, a suite whose own table would pool configurations
    (its ``table.rows`` and ``table.columns`` leave a setting that varies unnamed)."""
    df = runs_frame(suite.pool or suite.runs)
    table = suite.table
    rows = [a for a in table.rows if a in df.columns]
    columns = [a for a in table.columns if a in df.columns]
    check_cells(df, rows, columns, source=suite.source)
