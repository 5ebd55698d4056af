"""Every suite shipped under suites/ (paper suites in suites/papers/ included) validates,
and every paper suite dry-runs and states its expected wall time on a CPU and a GPU."""

import re
from pathlib import Path

import pytest

from ganbench.cli import main
from ganbench.suite import load_suite

SUITES = Path(__file__).parents[1] / "suites"
PAPERS = sorted((SUITES / "papers").glob("*.yaml"))


@pytest.fixture
def data_present(tmp_path, monkeypatch):
    """The GPU paper suites need downloaded data sets and Inception weights: validate them
    as if those files were present (tests/data/test_images.py checks them with stand-ins)."""
    from ganbench.data.images import FileDataset

    monkeypatch.setattr(FileDataset, "check_files", lambda self: None)
    (tmp_path / "inception.pt").touch()
    monkeypatch.setenv("GANBENCH_INCEPTION_WEIGHTS", str(tmp_path / "inception.pt"))


def test_shipped_suites_are_valid(data_present):
    paths = sorted(SUITES.rglob("*.yaml"))
    assert {p.stem for p in PAPERS} >= {"pacgan_table1", "veegan_table1", "metz_unrolled",
                                        "mescheder_dirac"}
    assert any(p.stem.startswith("stacked_mnist_") for p in PAPERS)
    for path in paths:
        s = load_suite(path)
        assert s.runs, path


def header(path: Path) -> str:
    """The comment lines before the first key."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    return " ".join(lines)


@pytest.mark.parametrize("path", PAPERS, ids=[p.stem for p in PAPERS])
def test_paper_suite_dry_runs_and_states_its_wall_time(path, data_present, tmp_path, capsys):
    text = header(path)
    # a CPU figure (a duration, measured or extrapolated from a measurement), and a GPU
    # figure that is either a duration too or says it was not measured
    duration = r"(about |~)?[0-9][0-9.,]* (s|seconds?|minutes?|hours?|days?)\b"
    assert re.search(r"2-core CPU: " + duration, text), path
    assert "measured" in text, path
    assert re.search(r"One GPU: (not measured|" + duration + ")", text), path
    # the documented way to run it shortened on a CPU
    assert "--set" in text or "pins the CPU" in text, path
    results = tmp_path / "results"
    assert main(["run", str(path), "--dry-run", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "to run" in out and not results.exists()
