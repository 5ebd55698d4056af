"""Text the CLI prints: run listings, plug-in listings, suite tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganbench.registry import KINDS, registry, unknown_message
from ganbench.results import ordered_results, read_suite_record, warn_not_counted
from ganbench.suite import Suite
from ganbench.util import textfmt


def dry_run_listing(s: Suite, root: Path, p: Any, pool: Any = None) -> str:
    """The runs of ``s`` with what the plan ``p`` (``execute.plan``) will do with each;
    with adaptive seeds, ``pool`` (the plan of every run it may grow to) gives the cost
    range."""
    finished = {r.run_id for r in p.skipped}
    axes = list(s.runs[0].labels)
    head = ["run_id", *axes, "status"]
    body = [[r.run_id, *(r.labels.get(a, "") for a in axes),
             "finished" if r.run_id in finished else
             f"to run again: {p.redo[r.run_id]}" if r.run_id in p.redo else "to run"]
            for r in s.runs]
    lines = [textfmt.render(head, body)]
    lines.append(f"{len(s.runs)} runs ({len(finished)} finished) in {len(p.todo)} groups; "
                 f"results under {root / s.name}")
    if pool is not None and s.spec.seeds is not None:
        c = s.spec.seeds
        done = len(pool.skipped)
        lines.append(f"adaptive seeds: {c.min} to {c.max} per cell (rounds of {c.step} where "
                     f"a claim is undecided): at least {len(s.runs)} runs, at most "
                     f"{len(s.pool)} ({done} of them finished already)")
    overrides = getattr(s, "overrides", ())
    if overrides:  # the ids above are those of the overridden runs
        lines.append("with " + " ".join(f"--set {o}" for o in overrides))
    return "\n".join(lines)


def missing_data_lines(missing: list[dict[str, str]]) -> str:
    """What a dry run says of absent files (``util.missing.missing_files_noted``)."""
    lines = [f"missing files: the runs above need {len(missing)} thing(s) this machine "
             "lacks; the dry run planned without them, a run would refuse:"]
    lines += [f"  {m['name']}: {m['text']}" for m in missing]
    return "\n".join(lines)


def run_summary_line(s: Suite, out: dict[str, Any], root: Path) -> str:
    return (f"{s.name}: {out['runs']} runs — {out['skipped']} already finished, "
            f"{out['done']} done, {out['diverged']} diverged, {out['failed']} failed "
            f"({out['groups']} groups trained); results in {root / s.name}")


def suite_table(results_dir: Path, fmt: str = "text", rows: list[str] | None = None,
                columns: list[str] | None = None, metrics: list[str] | None = None,
                alpha: float | None = None, pool: list[str] | None = None,
                legend: bool = False, wide: bool = False) -> str:
    """``legend``: CSV with its title and legend as leading '#' lines (else plain);
    ``wide``: text on one line per row, however wide (else it fits the terminal)."""
    from ganbench.report.tables import render

    return render(*_table_inputs(results_dir, rows, columns, metrics), fmt=fmt,
                  pool=tuple(pool or ()), legend=legend, wide=wide,
                  **_recorded(results_dir, alpha))


def suite_ranks(results_dir: Path, rows: list[str] | None = None,
                columns: list[str] | None = None, metrics: list[str] | None = None,
                alpha: float | None = None, pool: list[str] | None = None):
    """The rank table (``report.ranks``) of a suite's table."""
    from ganbench.report.ranks import from_table
    from ganbench.report.tables import build_table

    ctx = _recorded(results_dir, alpha)
    t = build_table(*_table_inputs(results_dir, rows, columns, metrics),
                    pool=tuple(pool or ()), **ctx)
    return from_table(t, ctx["alpha"])


def _recorded(results_dir: Path, alpha: float | None) -> dict[str, Any]:
    from ganbench.report.tables import recorded_context

    # the suite's runs (finished or not), its published tables and tests, from its record
    record = read_suite_record(results_dir)
    return {**recorded_context(results_dir, record, alpha), "where": results_dir,
            "notes": variant_notes(Path(results_dir), record)}


def variant_notes(results_dir: Path, record: dict[str, Any]) -> list[str]:
    """Legend lines naming the variant a suite folder holds (the plain suite, or the suite
    with --set options) and the other variants of that suite beside it."""
    base = str(record.get("variant_of") or record.get("name") or results_dir.name)

    def what(rec: dict[str, Any]) -> str:
        sets = rec.get("overrides") or []
        return (f"{base} with " + " ".join(f"--set {o}" for o in sets) if sets
                else "the suite as written")

    others = []
    parent = results_dir.parent
    try:
        found = sorted(p for p in parent.iterdir() if p.is_dir() and p.name != results_dir.name
                       and (p.name == base or p.name.startswith(base + "+")))
    except OSError:
        found = []
    for p in found:
        try:
            rec = read_suite_record(p)
        except ValueError:
            continue
        if rec and str(rec.get("variant_of") or rec.get("name")) == base:
            others.append(f"{p.name} ({what(rec)})")
    if not others and not record.get("overrides"):
        return []
    lines = [f"variant: {results_dir.name} ({what(record)})"]
    if others:
        lines.append(f"other variants beside it: {'; '.join(others)}")
    return lines


def _table_inputs(results_dir: Path, rows, columns, metrics):
    warn_not_counted(results_dir)  # runs whose files do not verify: said, never dropped silently
    df = ordered_results(results_dir)
    meta = read_suite_record(results_dir).get("table", {})
    rows = rows or meta.get("rows") or ["objective", "scheme"]
    columns = columns if columns is not None else (meta.get("columns") or ["dataset"])
    if not metrics:
        metrics = meta.get("metrics") or _default_metrics(df)
    rows = [a for a in rows if a in df.columns] or rows
    columns = [a for a in columns if a in df.columns]
    return df, rows, columns, metrics


def _default_metrics(df) -> list[str]:
    names = set(registry("metrics").names())
    return [c[len("metric:"):] for c in df.columns
            if c.startswith("metric:") and c[len("metric:"):] in names]


def listing(kind: str | None, fmt: str = "text") -> str:
    if kind is not None and kind not in KINDS:
        raise ValueError(unknown_message("plug-in kind", kind, list(KINDS)))
    kinds = [kind] if kind else list(KINDS)
    items = {k: [_describe(e) for e in registry(k).entries()] for k in kinds}
    if fmt == "json":
        return json.dumps(items if kind is None else items[kind], indent=2, default=str)
    out = []
    for k, entries in items.items():
        if fmt == "markdown":
            cols = ["name", *_extra_columns(k), "description", "reference"]
            out.append(f"### {k}\n")
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "|".join("---" for _ in cols) + "|")
            out += ["| " + " | ".join(md_cell(e.get(c, "")) for c in cols) + " |" for e in entries]
            out.append("")
        else:
            out.append(f"{k}:")
            w = max((len(e["name"]) for e in entries), default=0)
            out += [f"  {e['name'].ljust(w)}  {e['description']}" for e in entries]
    return "\n".join(out)


def suites_listing(fmt: str = "text") -> str:
    """The shipped suites (``ganbench run NAME`` runs one) with their descriptions."""
    import yaml

    from ganbench.suite.shipped import shipped, shipped_dir

    items = []
    for name, path in shipped("suites").items():
        try:
            raw = yaml.safe_load(path.read_text()) or {}
            about = str(raw.get("description") or "") if isinstance(raw, dict) else ""
        except (OSError, yaml.YAMLError):
            about = "(unreadable)"
        items.append({"name": name, "description": " ".join(about.split()),
                      "path": str(path)})
    if fmt == "json":
        return json.dumps(items, indent=2)
    if fmt == "markdown":
        return "\n".join(["| suite | description |", "|---|---|"]
                         + [f"| {md_cell(i['name'])} | {md_cell(i['description'])} |"
                            for i in items])
    w = max((len(i["name"]) for i in items), default=0)
    where = shipped_dir("suites")
    head = (f"suites (shipped, in {where}; ganbench run NAME):" if where
            else "suites: none shipped with this install")
    return "\n".join([head] + [f"  {i['name'].ljust(w)}  {i['description']}" for i in items])


def plugin_detail(kind: str, name: str, fmt: str = "text") -> str:
    """One plug-in: its description, reference and parameters with their defaults."""
    if kind not in KINDS:
        raise ValueError(unknown_message("plug-in kind", kind, [*KINDS, "suites"]))
    reg = registry(kind)
    if name not in reg:
        raise ValueError(unknown_message(kind[:-1] if kind.endswith("s") else kind, name,
                                         list(reg.names())))
    e = reg.entry(name)
    d = _describe(e)
    if fmt == "json":
        return json.dumps(d, indent=2, default=str)
    required = e.required()
    lines = [f"{kind} {e.name}: {e.description}"]
    if e.reference:
        lines.append(f"  reference: {e.reference}")
    lines += [f"  {k}: {v if isinstance(v, str) else md_cell(v)}" for k, v in d.items()
              if k not in ("name", "description", "reference", "params") and v not in ("", [])]
    params = d.get("params") or {}
    if params:
        lines.append("  parameters (default):")
        w = max(len(k) for k in params)
        lines += [f"    {k.ljust(w)}  {'(required)' if k in required else repr(v)}"
                  for k, v in params.items()]
    else:
        lines.append("  parameters: none")
    lines.append(f"  in a suite: {kind[:-1] if kind.endswith('s') else kind}: "
                 f"{{name: {e.name}" + "".join(f", {k}: ..." for k in list(params)[:2]) + "}")
    return "\n".join(lines)


def md_cell(x: Any) -> str:
    if isinstance(x, (list, tuple)):
        x = ", ".join(map(str, x))
    return str(x).replace("|", "\\|")


def _extra_columns(kind: str) -> list[str]:
    return ["divergence", "activation"] if kind == "objectives" else (
        ["direction", "needs"] if kind == "metrics" else [])


def _describe(e) -> dict[str, Any]:
    d: dict[str, Any] = {"name": e.name, "description": e.description, "reference": e.reference,
                         "params": e.params()}
    for attr in ("divergence", "activation"):
        if hasattr(e.obj, attr):
            d[attr] = getattr(e.obj, attr)
    if e.kind == "metrics":  # what its declarations say: main entry's direction, needs
        from ganbench.metrics.registry import entries_of

        entries = entries_of(e.name)
        d["direction"] = entries[0].direction or "none"
        d["entries"] = [x.name for x in entries]
        d["needs"] = sorted(getattr(e.obj, "needs", ()))
    d.update({k: v for k, v in e.meta.items()})
    return d

