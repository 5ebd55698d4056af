"""A corpus of malformed suites (tests/malformed_suites/*.yaml), each run through the real
command line: exit 2, a message naming the file and the key (each file's ``# expect:``
line), no traceback, and nothing written. In-process and without training: fast."""

from pathlib import Path

import pytest

from ganbench.cli import main
from ganbench.util.strict_yaml import MAX_BYTES

CORPUS = Path(__file__).parent / "malformed_suites"
FILES = sorted(CORPUS.glob("*.yaml"))


def expected(path: Path) -> str:
    for line in path.read_bytes().decode("ascii", errors="replace").splitlines():
        if line.startswith("# expect: "):
            return line.removeprefix("# expect: ").strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")


def run_rejected(args: list[str], results: Path, capsys) -> str:
    """Run the CLI; assert the suite was rejected before anything was written."""
    code = main(["run", *args, "--results", str(results), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and err.startswith("error: "), err
    assert not results.exists(), sorted(results.rglob("*"))
    return err


def test_the_corpus_is_large_and_every_file_says_what_to_expect():
    assert len(FILES) >= 50
    assert all(expected(p) for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed_suite_is_rejected_naming_file_and_key(path, tmp_path, capsys):
    err = run_rejected([str(path)], tmp_path / "results", capsys)
    assert str(path) in err, err
    assert expected(path) in err, err
    # bounded: no value is echoed in full (the alias bombs stand for 10^9 values)
    assert len(err) < 4000, len(err)


def test_an_oversized_file_is_rejected_unread(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("base: {}\n" + "# padding\n" * (MAX_BYTES // 10 + 1))
    err = run_rejected([str(big)], tmp_path / "results", capsys)
    assert str(big) in err and f"larger than {MAX_BYTES} bytes" in err


@pytest.mark.parametrize("option, words", [
    ("training.iterations='100'", "base.training.iterations"),
    ("optimizer.lr_g=.nan", "base.optimizer.lr_g"),
    ("training.batch_size=1000000000", "base.training.batch_size"),
    ("grid.seed=[0, true]", "grid.seed[1]"),
    ("training={iterations: 2, iterations: 3}", "duplicate key"),
])
def test_bad_set_options_are_rejected_naming_the_option(option, words, tmp_path, capsys):
    good = Path(__file__).parents[1] / "suites" / "smoke.yaml"
    err = run_rejected([str(good), "--set", option], tmp_path / "results", capsys)
    assert f"--set {option.split('=')[0]}" in err and words in err, err


JUNK = ["x", "", -1, 0, 0.5, 1e300, float("nan"), float("inf"), True, None, [], {}, [1, "a"],
        {"name": "nope"}, 10**12, "1e3", {"abs": -1}]


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    yield path


def test_random_damage_to_shipped_suites_is_an_error_or_valid_never_a_crash():
    """Every leaf and section of two shipped suites replaced by junk, one at a time (a fixed
    sample): validation either accepts the result or raises SuiteError, nothing else."""
    import copy
    import random

    import yaml

    from ganbench.suite import SuiteError, parse_suite

    rng = random.Random(0)
    suites = Path(__file__).parents[1] / "suites"
    tried = rejected = 0
    for name in ("ci.yaml", "smoke.yaml"):
        raw = yaml.safe_load((suites / name).read_text())
        paths = [p for p in _leaves(raw) if p]
        for path in rng.sample(paths, min(len(paths), 60)):
            bad = copy.deepcopy(raw)
            node = bad
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = copy.deepcopy(rng.choice(JUNK))
            tried += 1
            try:
                parse_suite(bad, name, "damaged")
            except SuiteError as exc:
                rejected += 1
                assert len(str(exc)) < 6000
    assert tried >= 60 and rejected >= tried // 2
