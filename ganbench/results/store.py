"""The store: one folder per run (``RunDir``), every file written atomically, and the
clean-up of temporaries that killed writes left.

    <root>/<suite>/<run_id>/spec.yaml, metrics.jsonl, summary.json, samples.npz, checkpoint.pt
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ganbench.results.verify import SEALED_FILES, STATUSES, inspect_run, seal, spec_digest
from ganbench.util.atomic import TEMPORARY, atomic_write_bytes, dumps
from ganbench.util.containment import check_name, refuse_links
from ganbench.util.strict_json import read as read_json
from ganbench.util.strict_json import read_lines


class RunDir:
    """The folder of one run: ``root/suite/run_id``. Both names are checked (one plain
    folder level each), and writing refuses to go through a symbolic link at the suite's or
    the run's folder (``ganbench.util.containment``)."""

    def __init__(self, root: Path | str, suite: str, run_id: str):
        self.root = Path(root)
        self.suite = check_name(suite, "suite name")
        self.run_id = check_name(run_id, "run id")
        self.path = self.root / suite / run_id

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def is_finished(self) -> bool:
        """Whether the run's results are complete and verified (``inspect_run``)."""
        return inspect_run(self.path).finished

    def _write(self, name: str, data: bytes, durable: bool = False) -> None:
        refuse_links(self.root, self.suite, self.run_id)
        atomic_write_bytes(self.path / name, data, durable)

    def write_spec(self, spec: dict[str, Any]) -> None:
        self._write("spec.yaml", yaml.safe_dump(spec, sort_keys=False).encode())

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        # rewritten whole at each evaluation (small), so the file is never half a line
        self._write("metrics.jsonl", "".join(dumps(r) + "\n" for r in rows).encode())

    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.is_file():
            return []
        return read_lines(p)

    def write_samples(self, **arrays: np.ndarray) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        self._write("samples.npz", buf.getvalue())

    def write_checkpoint(self, data: bytes) -> None:
        self._write(self.checkpoint_path.name, data)

    def write_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Write the summary (last: the run's other files are written before it), naming
        its run, the digest of its spec.yaml and of the metrics.jsonl and samples.npz beside
        it, and sealed with a digest of its own content: what ties it and them to this run
        (``results.verify``). Returns the summary as written."""
        if summary.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        spec = self.path / "spec.yaml"
        files = {name: spec_digest((self.path / name).read_bytes()) for name in SEALED_FILES
                 if (self.path / name).is_file()}
        stamped = {**summary, "run_id": self.run_id,
                   "spec_digest": spec_digest(spec.read_bytes()) if spec.is_file() else None,
                   "files": files}
        stamped = seal(json.loads(dumps(stamped)))  # as read back: plain JSON values
        # the summary marks a run finished: make it durable
        self._write(self.summary_path.name, dumps(stamped, indent=2).encode(), durable=True)
        return stamped

    def read_summary(self) -> dict[str, Any]:
        return read_json(self.summary_path)


def remove_stale_temporaries(suite_dir: Path | str) -> list[Path]:
    """Remove the temporary files that writes killed midway left in a suite's folder and
    its run folders. Call it only while holding the folder's lock (``ganbench.util.lock``): a
    live writer's temporary file looks the same."""
    suite_dir = Path(suite_dir)
    removed: list[Path] = []
    if not suite_dir.is_dir() or suite_dir.is_symlink():
        return removed
    folders = [suite_dir] + [p for p in suite_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    for folder in folders:
        for p in folder.iterdir():
            if TEMPORARY.fullmatch(p.name) and (p.is_file() or p.is_symlink()):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed
