"""The README's first steps stay true: every suite it names exists, every run count it
states (the suites table, and "`ganbench run SUITE --dry-run` lists N runs") is what
`--dry-run` lists now, and its links lead somewhere."""

import re
import tempfile
from functools import cache
from pathlib import Path

import pytest

from ganbench.cli import main

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
NOT_SUITES = {"spec.yaml"}  # a run's resolved config, named in the results layout


def suites_named(text: str) -> set[str]:
    found = re.findall(r"(?<![\w/.-])((?:suites/)?(?:papers/)?[A-Za-z0-9_]+\.yaml)\b", text)
    return set(found) - NOT_SUITES


def table_counts(text: str) -> dict[str, int]:
    """suite -> runs, from the table under the '<!-- suites table' comment."""
    block = text[text.index("<!-- suites table"):].split("\n\n")[0]
    rows = [line for line in block.splitlines() if line.startswith("| `suites/")]
    return {re.match(r"\| `([^`]+)`", r).group(1): int(r.split("|")[3].strip()) for r in rows}


def dry_run_statements(text: str) -> list[tuple[str, int, int | None]]:
    """(suite, runs, most runs or None) of each "`ganbench run SUITE --dry-run` lists N
    runs [... at most M runs]" sentence."""
    flat = re.sub(r"\s+", " ", text)
    out = []
    for m in re.finditer(r"`ganbench run (\S+\.yaml) --dry-run` lists (\d+) runs([^.]*)", flat):
        most = re.search(r"at most (\d+) runs", m.group(3))
        out.append((m.group(1), int(m.group(2)), int(most.group(1)) if most else None))
    return out


@cache
def dry_run(suite: str, results: str = tempfile.mkdtemp(prefix="readme-dry-run-")
            ) -> tuple[int, int | None]:
    """(runs, most runs of adaptive seeds or None) as `ganbench run SUITE --dry-run` lists them."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["run", str(ROOT / suite), "--dry-run", "--results", results]) == 0
    text = out.getvalue()
    runs = int(re.search(r"^(\d+) runs \(\d+ finished\)", text, re.M).group(1))
    most = re.search(r"at most (\d+)", text)
    return runs, int(most.group(1)) if most else None


def test_every_suite_named_exists():
    named = suites_named(README) | suites_named((ROOT / "docs" / "results.md").read_text())
    assert "suites/smoke.yaml" in named and "suites/mode_collapse.yaml" in named
    shipped = {p.name for p in (ROOT / "suites").rglob("*.yaml")}
    missing = sorted(n for n in named
                     if not ((ROOT / n).is_file() if "/" in n else n in shipped))
    assert not missing, f"README or docs/results.md name suites that do not exist: {missing}"


def test_the_suites_table_states_dry_run_counts():
    counts = table_counts(README)
    assert {"suites/smoke.yaml", "suites/ci.yaml", "suites/mode_collapse.yaml"} <= set(counts)
    wrong = {s: (n, dry_run(s)[0]) for s, n in counts.items()
             if dry_run(s)[0] != n}
    assert not wrong, f"README states (runs, --dry-run lists): {wrong}"


def test_stated_dry_run_counts_match():
    stated = dry_run_statements(README + "\n\n" + (ROOT / "docs" / "results.md").read_text())
    assert ("suites/mode_collapse.yaml", table_counts(README)["suites/mode_collapse.yaml"],
            dry_run("suites/mode_collapse.yaml")[1]) in stated
    for suite, runs, most in stated:
        assert dry_run(suite) == (runs, most) if most else \
            dry_run(suite)[0] == runs, suite


def test_the_first_run_states_the_smoke_suites_runs():
    first = README[README.index("## First run"):README.index("## The headline suite")]
    m = re.search(r"`suites/smoke.yaml` trains (\d+) runs", first)
    assert m and int(m.group(1)) == table_counts(README)["suites/smoke.yaml"]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", ["README.md", "docs/results.md"])
def test_links_lead_somewhere(doc):
    text = (ROOT / doc).read_text()
    anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    local = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert local or doc != "README.md"  # the README links its own sections
    assert not local - anchors, sorted(local - anchors)
    for target, anchor in re.findall(r"\]\(([\w./-]+\.md)(?:#([^)]*))?\)", text):
        path = (ROOT / doc).parent / target
        assert path.is_file(), f"{doc} links to {target}, which does not exist"
        if anchor:
            assert anchor in {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}


def test_contents_opens_the_readme_and_links_the_docs():
    head = README[:README.index("## First run")]
    assert "## Contents" in head
    for doc in ("docs/plugins.md", "docs/architecture.md", "docs/ci.md", "docs/results.md"):
        assert f"]({doc})" in head
