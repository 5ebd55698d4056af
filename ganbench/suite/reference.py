"""Published numbers beside ours: the ``reference:`` block of a suite.

A suite that reproduces a paper's table carries that table's values::

    reference:
      paper: "Lin, Khetan, Fanti & Oh 2018, PacGAN (NeurIPS)"   # required
      table: "Table 1"                 # required: table or figure number
      where: "p. 7"                    # optional: page / figure
      spread: sem                      # what ± means: std | sem | ci95 | none (required)
      runs: 10                         # runs behind each value (optional)
      margins: {modes: 1.0}            # equivalence margin per metric (optional)
      note: "how our settings differ"  # optional, shown in the legend
      cells:
        - row: {objective: nonsaturating}      # labels of (some of) the table's row axes
          column: {dataset: ring}              # labels of (some of) its column axes
          values:
            modes: [6.3, 0.5]                  # [mean, ±]
            hq_fraction: 0.982                 # a bare number: no ±
            mode_kl: {mean: 0.45, pm: 0.09}
            dirac_distance: {below: 0.1}       # a claim as a bound; also {above: x}
            mu: {exact: 1.2, tol: 1e-4}        # a computed truth and the tolerance it holds to

``references:`` is a list of such blocks (several tables reproduced by one suite).

Each published value gets a verdict that a test decides (``results.claims`` with
``ganbench.util.stats``): agrees (equivalence within the block's ``margins:`` for that metric),
differs, or inconclusive; a bound is tested one-sided; an exact value (a deterministic truth,
computed independently of ganbench) agrees when every seed lies within its ``tol`` and
differs otherwise, with no test over seeds. ``margins: {modes: 1.0}`` sits beside
``spread:`` and ``runs:``; a metric without a margin can differ but never agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ganbench.registry import unknown_message

SPREADS = {
    "std": "the standard deviation",
    "sem": "the standard error of the mean",
    "ci95": "the half-width of a 95% confidence interval",
    "none": "not published",
}
VALUE_FORMS = ("a number, [mean, ±], {mean: m, pm: ±}, {below: x}, {above: x} or "
               "{exact: x, tol: t} (t > 0)")



def _label(v: Any) -> str:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return label_text(v)
    raise ValueError(f"expected a label (text or a number), got {v!r}")


Label = Annotated[str, BeforeValidator(_label)]


class _Strict(BaseModel):
    # strict as the rest of a suite: runs: "10" is not a number
    model_config = ConfigDict(extra="forbid", strict=True)


class RefCell(_Strict):
    row: dict[str, Label] = {}
    column: dict[str, Label] = {}
    values: dict[str, Any] = Field(min_length=1)


Margin = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Reference(_Strict):
    """One published table (its values are checked against the suite after expansion)."""

    paper: str = Field(min_length=1)
    table: str = Field(min_length=1)
    where: str | None = None
    spread: Literal["std", "sem", "ci95", "none"]
    runs: int | None = Field(None, ge=1)
    # per metric: how far our mean may be from the published one and still agree (an
    # equivalence margin, in the metric's units); a metric without one can only differ
    margins: dict[str, Margin] = {}
    note: str | None = None
    cells: list[RefCell] = Field(min_length=1)


@dataclass(frozen=True)
class Published:
    """One published value: a mean (with its ± or none), a bound, or an exact value (the
    mean with a tolerance ``tol``)."""

    mean: float | None = None
    pm: float | None = None
    below: float | None = None
    above: float | None = None
    tol: float | None = None

    def text(self, digits: int | None = None) -> str:
        f = (lambda v: f"{v:g}") if digits is None else (lambda v: f"{v:.{digits}g}")
        if self.below is not None:
            return f"< {f(self.below)}"
        if self.above is not None:
            return f"> {f(self.above)}"
        if self.tol is not None:
            return f"{f(self.mean)} (exact, tol {self.tol:g})"
        return f(self.mean) + (f" ± {f(self.pm)}" if self.pm is not None else "")

    def to_dict(self) -> dict[str, float]:
        return {k: v for k, v in (("mean", self.mean), ("pm", self.pm), ("below", self.below),
                                  ("above", self.above), ("tol", self.tol)) if v is not None}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_value(v: Any) -> Published | str:
    """A published value as the suite writes it -> Published, or what is wrong with it."""
    if _number(v):
        return Published(mean=float(v))
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(map(_number, v)):
        if v[1] < 0:
            return f"the ± must be >= 0, got {v[1]}"
        return Published(mean=float(v[0]), pm=float(v[1]))
    if isinstance(v, dict):
        keys = set(v)
        if keys in ({"mean"}, {"mean", "pm"}) and all(_number(x) for x in v.values()):
            if v.get("pm", 0) < 0:
                return f"pm must be >= 0, got {v['pm']}"
            return Published(mean=float(v["mean"]),
                             pm=float(v["pm"]) if "pm" in v else None)
        if keys == {"below"} and _number(v["below"]):
            return Published(below=float(v["below"]))
        if keys == {"above"} and _number(v["above"]):
            return Published(above=float(v["above"]))
        if keys == {"exact", "tol"} and _number(v["exact"]) and _number(v["tol"]):
            if not v["tol"] > 0:
                return f"tol must be > 0, got {v['tol']}"
            return Published(mean=float(v["exact"]), tol=float(v["tol"]))
    return f"expected {VALUE_FORMS}, got {v!r}"


def label_text(v: Any) -> str:
    """A reference key's value as the table prints labels (numbers as str() writes them)."""
    return "none" if v is None else str(v)


def blocks(reference: Reference | None, references: list[Reference]
           ) -> list[tuple[str, Reference]]:
    """(key path, block) of a suite's published tables."""
    out = [("reference", reference)] if reference is not None else []
    return out + [(f"references[{i}]", r) for i, r in enumerate(references)]


# --- validation against the expanded suite ---------------------------------------------------


def _match(given: dict[str, Any], axes: list[str], keys: list[tuple[str, ...]], what: str,
           path: str) -> tuple[tuple[str, ...] | None, list[tuple[str, str]]]:
    """The one key (tuple of labels over ``axes``) that ``given`` names, or the problems."""
    for axis in given:
        if axis not in axes:
            return None, [(f"{path}.{axis}", unknown_message(f"{what} axis", axis, axes))]
    want = {a: label_text(v) for a, v in given.items()}
    hits = [k for k in keys if all(k[axes.index(a)] == v for a, v in want.items())]
    if len(hits) == 1:
        return hits[0], []
    if not hits:
        for a, v in want.items():
            labels = sorted({k[axes.index(a)] for k in keys})
            if v not in labels:
                return None, [(path, unknown_message(f"{what} label", v, labels) +
                               f" (axis {a!r})")]
        combos = "; ".join(", ".join(f"{a}={x}" for a, x in zip(axes, k)) for k in keys)
        return None, [(path, f"no {what} of the table has {_show(want)}; its {what}s: {combos}")]
    shown = "; ".join(", ".join(f"{a}={x}" for a, x in zip(axes, k)) for k in hits)
    rest = [a for a in axes if a not in want]
    return None, [(path, f"{_show(want)} matches {len(hits)} {what}s ({shown}); name "
                         f"{' and '.join(rest) or 'more axes'} too")]


def _show(d: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"


def check(refs: list[tuple[str, Reference]], rows: list[str], columns: list[str],
          labels: list[dict[str, str]], metrics: list[str]) -> list[tuple[str, str]]:
    """Problems of the published tables against the suite's table: every cell's row and
    column must name exactly one row and column, every value a metric of the table."""
    problems: list[tuple[str, str]] = []
    row_keys = list(dict.fromkeys(tuple(str(lb.get(a, "")) for a in rows) for lb in labels))
    col_keys = list(dict.fromkeys(tuple(str(lb.get(a, "")) for a in columns) for lb in labels))
    for where, block in refs:
        seen: dict[tuple, int] = {}
        valued = sorted({m for cell in block.cells for m in cell.values})
        for m in block.margins:
            if m not in valued:
                problems.append((f"{where}.margins.{m}",
                                 unknown_message("metric with a published value", m, valued)))
        for i, cell in enumerate(block.cells):
            at = f"{where}.cells[{i}]"
            rk, p1 = _match(cell.row, rows, row_keys, "row", f"{at}.row")
            ck, p2 = _match(cell.column, columns, col_keys, "column", f"{at}.column")
            problems += p1 + p2
            for m, raw in cell.values.items():
                vpath = f"{at}.values.{m}"
                if m not in metrics:
                    problems.append((vpath, unknown_message("table metric", m, metrics)))
                    continue
                parsed = parse_value(raw)
                if isinstance(parsed, str):
                    problems.append((vpath, parsed))
                    continue
                if block.spread == "none" and parsed.pm is not None:
                    problems.append((vpath, f"{where}.spread is none, but a ± is given"))
                if rk is not None and ck is not None:
                    j = seen.setdefault((rk, ck, m), i)
                    if j != i:
                        problems.append((vpath, f"published twice in this block (also "
                                                f"{where}.cells[{j}])"))
    return problems


def normalise(block: Reference) -> dict[str, Any]:
    """A validated block as plain data (values as {mean, pm} / {below} / {above} /
    {mean, tol}), the form the results record keeps and tables read."""
    d = block.model_dump()
    for cell in d["cells"]:
        cell["row"] = {k: label_text(v) for k, v in cell["row"].items()}
        cell["column"] = {k: label_text(v) for k, v in cell["column"].items()}
        cell["values"] = {m: parse_value(v).to_dict() for m, v in cell["values"].items()}
    return d


# --- placing published values on table cells (results.claims) ----------------------------


def place(refs: list[dict[str, Any]], row_axes: list[str], col_axes: list[str],
          cells: list[tuple[dict[str, str], dict[str, str]]]
          ) -> tuple[dict[tuple[int, str], list[tuple[int, Published]]], int, int]:
    """Published values on table cells: ({(cell index, metric): [(block, value)]}, values
    shown, values not shown). A value is shown where its row and column labels name
    exactly one cell of this table (tables can be re-pivoted from the command line)."""
    out: dict[tuple[int, str], list[tuple[int, Published]]] = {}
    shown = hidden = 0
    axes = set(row_axes) | set(col_axes)
    for b, block in enumerate(refs):
        for cell in block["cells"]:
            want = {**cell["row"], **cell["column"]}
            hits = [] if not set(want) <= axes else [
                i for i, (r, c) in enumerate(cells)
                if all({**r, **c}.get(a) == v for a, v in want.items())]
            for m, v in cell["values"].items():
                if len(hits) == 1:
                    out.setdefault((hits[0], m), []).append((b, Published(**v)))
                else:
                    hidden += 1
    for key in out:
        shown += len(out[key])
    return out, shown, hidden
