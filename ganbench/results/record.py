"""The suite record (``<suite>/suite.json``): the validated suite and its runs in grid
order, written by the executor, read by tables, reports and the check; and the one filter
"the runs of this suite's record"."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ganbench.util import strict_json
from ganbench.util.atomic import atomic_write_text, dumps
from ganbench.util.containment import check_name, refuse_links

SUITE_RECORD = "suite.json"


class ResultsError(ValueError):
    """A results file exists but is not what ganbench wrote (the message names it)."""


def write_suite_record(suite: Any, root: Path | str) -> None:
    """``<root>/<suite>/suite.json``: the validated suite (its table, references and
    regression bands) and its runs in grid order, so that tables, reports and the
    regression check need only the results folder."""
    record = {"name": suite.name, "source": suite.source,
              "overrides": list(getattr(suite, "overrides", ())),  # run's --set options
              "description": suite.spec.description,
              "spec": suite.spec.model_dump(mode="json"),
              "table": suite.table.model_dump(mode="json"), "check": suite.spec.check,
              "runs": [r.run_id for r in suite.runs]}
    if record["overrides"]:  # a variant: <suite>+<hash of the options>
        record["variant_of"] = suite.name.rpartition("+")[0] or suite.name
    if getattr(suite, "adaptive", None) is not None:  # adaptive seeds: rounds, stop reason
        record["adaptive"] = suite.adaptive
    check_name(suite.name, "suite name")
    refuse_links(Path(root), suite.name)
    atomic_write_text(Path(root) / suite.name / SUITE_RECORD, dumps(record, indent=2))


def read_suite_record(results_dir: Path | str) -> dict[str, Any]:
    """The suite record of a suite's results folder; {} where there is none (a folder
    written by hand or by an older version)."""
    p = Path(results_dir) / SUITE_RECORD
    if not p.is_file():
        return {}
    try:
        record = strict_json.read(p)  # bounded: depth, size, digits
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{p}: not a readable suite record ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("runs", []), list):
        raise ResultsError(f"{p}: expected a mapping with a list 'runs'")
    for key, kind in RECORD_TYPES.items():
        if record.get(key) is not None and not isinstance(record[key], kind):
            raise ResultsError(f"{p}: '{key}' must be a {kind.__name__}, got "
                               f"{type(record[key]).__name__}")
    if not all(isinstance(r, str) for r in record.get("runs", [])):
        raise ResultsError(f"{p}: 'runs' must list run ids (strings)")
    return record


# what the readers of a suite record take each entry to be
RECORD_TYPES = {"name": str, "source": str, "description": str, "spec": dict, "table": dict,
                "check": dict, "overrides": list, "labels": dict,
                "adaptive": dict, "variant_of": str}


def recorded_runs(df: pd.DataFrame, run_ids: Iterable[str] | None
                  ) -> tuple[pd.DataFrame, int]:
    """The rows of ``df`` that are runs of the suite's record (``run_ids``, its ``runs``;
    None: every row), and how many rows were left out: finished runs of an earlier
    version of the suite, which never count."""
    if run_ids is None:
        return df, 0
    keep = df["run_id"].isin(set(run_ids))
    return df[keep], int((~keep).sum())
