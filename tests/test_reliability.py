"""Issue 28: results prove themselves, inputs cannot hurt, exit codes a CI can trust.

A small suite (ring and grid, two objectives, two seeds) is trained once; each test damages
a copy of its results the way the issue's audit did (a summary copied from another run, an
edited spec, impossible values, garbage sample files, deeply nested JSON, random truncations,
bit flips and swaps) and checks that no verb crashes, nothing damaged counts, and ``run``
trains it again. The filesystem's refusals (a full disk, a read-only folder) are patched
writes that raise what the kernel would."""

import errno
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile

import numpy as np
import pytest
import yaml

from ganbench.cli import main
from ganbench.results import RunDir, inspect_run
from ganbench.util import strict_json, strict_yaml

SUITE = {
    "name": "rel",
    "base": {
        "model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
        "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
        "training": {"iterations": 20, "batch_size": 32},
        "evaluation": {"every": 10, "samples": 200, "metrics": ["modes", "hq_fraction"]},
    },
    "grid": {"dataset": ["ring", "grid"], "objective": ["nonsaturating", "hinge"],
             "seed": [0, 1]},
    "table": {"rows": ["objective"], "columns": ["dataset"]},
}
RUN = ["--no-progress", "--executor", "local"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """(suite file, results root, baseline) of the trained suite; never changed."""
    base = tmp_path_factory.mktemp("rel")
    f = base / "rel.yaml"
    f.write_text(yaml.safe_dump(SUITE))
    assert main(["run", str(f), "--results", str(base / "r"), *RUN]) == 0
    assert main(["baseline", str(base / "r" / "rel"), "-o", str(base / "base.json")]) == 0
    return f, base / "r", base / "base.json"


@pytest.fixture
def results(template, tmp_path):
    """A fresh copy of the trained results: (suite file, root, suite folder, baseline)."""
    f, root, base = template
    shutil.copytree(root, tmp_path / "r")
    return f, tmp_path / "r", tmp_path / "r" / "rel", base


def runs(suite_dir):
    """run folder -> its spec's labels."""
    out = {}
    for d in sorted(p for p in suite_dir.iterdir() if p.is_dir()):
        out[d] = yaml.safe_load((d / "spec.yaml").read_text())["labels"]
    return out


def find(suite_dir, **labels):
    return next(d for d, lab in runs(suite_dir).items()
                if all(lab[k] == v for k, v in labels.items()))


def reseal(d):
    """Write the run's summary again through the store, as a buggy writer (a plug-in, an
    older version) would: the digests then match whatever the files now hold, and only
    the content checks can find what is wrong."""
    s = json.loads((d / "summary.json").read_text())
    for k in ("run_id", "spec_digest", "files", "digest"):
        s.pop(k, None)
    RunDir(d.parent.parent, d.parent.name, d.name).write_summary(s)


def verbs_do_not_crash(root, suite_dir, base, capsys, report=True, tmp=None):
    """Every reading verb on damaged results: an exit code of its contract, no traceback."""
    codes = {"table": main(["table", str(suite_dir)]),
             "verify": main(["verify", str(root)]),
             "check": main(["check", str(suite_dir), "--baseline", str(base)])}
    if report:
        codes["report"] = main(["report", str(suite_dir), "-o", str(tmp / "x.html")])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert codes["table"] in (0, 2) and codes["verify"] in (0, 2, 3)
    assert codes["check"] in (0, 2) and codes.get("report", 0) in (0, 2)  # never 1: damage is not a regression
    return codes, err


# --- a run proves itself ----------------------------------------------------------------


def test_fresh_results_verify(results, capsys):
    _, root, suite_dir, _ = results
    assert main(["verify", str(root)]) == 0
    assert "8 run(s) verified; 0 to train again" in capsys.readouterr().out
    s = json.loads(next(suite_dir.glob("*/summary.json")).read_text())
    assert {"run_id", "spec_digest", "files", "digest"} <= set(s)
    assert set(s["files"]) == {"metrics.jsonl", "samples.npz"}


def test_a_summary_copied_from_another_run_does_not_count(results, capsys):
    f, root, suite_dir, _ = results
    grid = find(suite_dir, dataset="grid", objective="nonsaturating", seed="0")
    ring = find(suite_dir, dataset="ring", objective="nonsaturating", seed="0")
    shutil.copy(grid / "summary.json", ring / "summary.json")
    c = inspect_run(ring)
    assert c.state == "invalid" and "copied from another run" in c.reason
    capsys.readouterr()
    assert main(["table", str(suite_dir)]) == 0
    out, err = capsys.readouterr()
    assert f"not counted: {ring}" in err and "1/2" in out
    assert main(["verify", str(root)]) == 2
    assert f"{ring}: does not verify: summary.json is of run" in capsys.readouterr().out
    assert main(["run", str(f), "--results", str(root), *RUN]) == 0
    assert "training it again" in capsys.readouterr().err and inspect_run(ring).finished


def test_an_edited_spec_does_not_verify(results):
    _, _, suite_dir, _ = results
    d = find(suite_dir, objective="nonsaturating", dataset="ring", seed="1")
    p = d / "spec.yaml"
    p.write_text(p.read_text().replace("nonsaturating", "hinge"))
    c = inspect_run(d)
    assert c.state == "invalid" and "hashes to run id" in c.reason


@pytest.mark.parametrize("metric, value, why", [
    ("modes", -3.0, "outside its metric's range [0, 8]"),
    ("modes", 9.0, "outside its metric's range [0, 8]"),  # the ring has 8 modes
    ("hq_fraction", 7.5, "outside its metric's range [0, 1]"),
    ("hq_fraction", float("inf"), "not a finite number"),
])
def test_impossible_values_do_not_count_even_when_sealed(results, capsys, metric, value, why):
    _, root, suite_dir, base = results
    d = find(suite_dir, dataset="ring", objective="hinge", seed="0")
    s = json.loads((d / "summary.json").read_text())
    s["metrics"][metric] = value
    (d / "summary.json").write_text(json.dumps(s))  # Infinity as JSON writes it
    if math_finite(value):
        reseal(d)  # a sealed summary of an impossible value: the range check finds it
    c = inspect_run(d)
    assert c.state == "invalid" and (why in c.reason or "refused: Infinity" in c.reason), c.reason
    codes, _ = verbs_do_not_crash(root, suite_dir, base, capsys, report=False)
    assert codes["verify"] == 2


def math_finite(x):
    return x == x and abs(x) != float("inf")


def test_nan_in_a_summary_is_refused_not_shown_as_no_value(results):
    _, _, suite_dir, _ = results
    d = find(suite_dir, dataset="grid", objective="hinge", seed="1")
    p = d / "summary.json"
    p.write_text(p.read_text().replace('"hq_fraction": 0', '"hq_fraction": NaN, "x": 0', 1))
    c = inspect_run(d)
    assert c.state == "invalid" and "NaN is not a JSON value" in c.reason


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SAMPLE_DAMAGE = {
    "garbage": (b"PK\x03\x04garbage", "samples.npz is not a readable array file"),
    "object array": (_npz(fake=np.array([{"a": 1}] * 200, dtype=object)),
                     "fake is an array of object"),
    "wrong shape": (_npz(fake=np.zeros(200, np.float32)), "fake has shape (200,)"),
    "more samples than the spec": (_npz(fake=np.zeros((201, 2), np.float32)),
                                   "the spec implies 200 samples"),
    "fewer samples than the spec": (_npz(fake=np.zeros((199, 2), np.float32)),
                                    "the spec implies 200 samples"),
    "no fake": (_npz(x=np.zeros((200, 2), np.float32)), "lacks its 'fake' array"),
}


@pytest.mark.parametrize("damage", list(SAMPLE_DAMAGE))
def test_damaged_samples_do_not_count_and_run_trains_again(results, capsys, tmp_path, damage):
    f, root, suite_dir, base = results
    data, why = SAMPLE_DAMAGE[damage]
    d = find(suite_dir, dataset="ring", objective="nonsaturating", seed="1")
    (d / "samples.npz").write_bytes(data)
    assert "samples.npz is missing or does not match" in inspect_run(d).reason
    reseal(d)  # and as a writer would have sealed it: the file's own checks
    c = inspect_run(d)
    assert c.state == "invalid" and why in c.reason, c.reason
    verbs_do_not_crash(root, suite_dir, base, capsys, tmp=tmp_path)
    assert main(["run", str(f), "--results", str(root), *RUN]) == 0
    assert inspect_run(d).finished


HISTORY_DAMAGE = {
    "not a mapping": ("[1, 2]\n", "metrics.jsonl line 1 is not a mapping"),
    "nested": ("[" * 100_000 + "\n", "nested 100000 levels deep"),
    "steps back": ('{"step": 10}\n{"step": 5}\n', "step 5 is not a later step"),
    "a step past the end": ('{"step": 10}\n{"step": 99}\n', "step 99 is not a later step"),
    "a count": ('{"step": 10}\n', "has 1 evaluations, the summary counts 2"),
    "a value out of range": ('{"step": 10, "hq_fraction": 2}\n{"step": 20}\n',
                             "metrics.jsonl line 1: hq_fraction is 2"),
}


@pytest.mark.parametrize("damage", list(HISTORY_DAMAGE))
def test_damaged_history_does_not_count(results, capsys, tmp_path, damage):
    _, root, suite_dir, base = results
    text, why = HISTORY_DAMAGE[damage]
    d = find(suite_dir, dataset="grid", objective="nonsaturating", seed="1")
    (d / "metrics.jsonl").write_text(text)
    reseal(d)
    c = inspect_run(d)
    assert c.state == "invalid" and why in c.reason, c.reason
    verbs_do_not_crash(root, suite_dir, base, capsys, report=damage == "nested", tmp=tmp_path)


def test_deeply_nested_json_breaks_no_verb(results, capsys, tmp_path):
    f, root, suite_dir, base = results
    d = find(suite_dir, dataset="ring", objective="hinge", seed="1")
    (d / "summary.json").write_text("[" * 100_000)
    assert "nested 100000 levels deep" in inspect_run(d).reason
    codes, err = verbs_do_not_crash(root, suite_dir, base, capsys, tmp=tmp_path)
    # check: a damaged fresh run is bad files (2), never a regression (1)
    assert codes == {"table": 0, "verify": 2, "check": 2, "report": 0}
    assert "do not verify, so they cannot be checked" in err and d.name in err
    assert main(["run", str(f), "--results", str(root), *RUN]) == 0
    assert inspect_run(d).finished
    # a nested suite record: bad files (2) naming it, for every reading verb
    (suite_dir / "suite.json").write_text("[" * 100_000)
    capsys.readouterr()
    assert main(["table", str(suite_dir)]) == 2
    assert f"{suite_dir / 'suite.json'}: nested 100000 levels" in capsys.readouterr().err
    # a nested baseline: bad input (2), not a regression (1)
    bad = tmp_path / "nested.json"
    bad.write_text("{" * 100_000)
    assert main(["check", str(suite_dir), "--baseline", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


# --- damage at random -------------------------------------------------------------------


FILES = ("spec.yaml", "summary.json", "metrics.jsonl", "samples.npz")


def damage_at_random(rng: random.Random, suite_dir) -> set:
    """1-3 damages: a file truncated, a bit flipped, or a file swapped between two runs.
    Returns the run folders whose files changed."""
    folders = sorted(p for p in suite_dir.iterdir() if p.is_dir())
    hit = set()
    for _ in range(rng.randint(1, 3)):
        kind, d, name = rng.choice(["truncate", "flip", "swap"]), rng.choice(folders), \
            rng.choice(FILES)
        p = d / name
        data = p.read_bytes()
        if kind == "truncate":
            p.write_bytes(data[:rng.randrange(len(data))])
        elif kind == "flip":
            i = rng.randrange(len(data))
            p.write_bytes(data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:])
        else:
            other = rng.choice([x for x in folders if x != d]) / name
            a, b = data, other.read_bytes()
            p.write_bytes(b)
            other.write_bytes(a)
            hit.add(other.parent)
        hit.add(d)
    return hit


def test_random_damage_never_crashes_a_verb_and_never_counts(template, tmp_path, capsys):
    _, root0, base = template
    original = {p: p.read_bytes() for p in (root0 / "rel").glob("*/*")}
    rng = random.Random(28)
    for trial in range(16):
        root = tmp_path / f"t{trial}"
        shutil.copytree(root0, root)
        suite_dir = root / "rel"
        hit = damage_at_random(rng, suite_dir)
        changed = {d for d in hit
                   if any((d / n).read_bytes() != original[root0 / "rel" / d.name / n]
                          for n in FILES)}
        verbs_do_not_crash(root, suite_dir, base, capsys, report=trial % 4 == 0, tmp=tmp_path)
        for d in changed:
            assert not inspect_run(d).finished, (trial, d, inspect_run(d))
        for d in {p for p in suite_dir.iterdir() if p.is_dir()} - hit:
            assert inspect_run(d).finished, (trial, d)
        shutil.rmtree(root)


# --- inputs within bounds ----------------------------------------------------------------


@pytest.mark.parametrize("text, words", [
    ("[" * 100_000, "nested 100000 levels deep"),
    ('{"seed": ' + "7" * 5000 + "}", "an integer of 5000 digits"),
    ('{"a": Infinity}', "Infinity is not a JSON value"),
    ('{"a": -Infinity}', "-Infinity is not a JSON value"),
    ('{"a": [1, }', "not valid JSON"),
])
def test_json_is_read_within_bounds(text, words):
    with pytest.raises(strict_json.JSONProblem, match="^f.json: ") as exc:
        strict_json.loads(text, "f.json")
    assert words in str(exc.value)


def test_json_depth_counts_brackets_outside_strings_only():
    assert strict_json.depth('{"a": "[[[[{{{{", "b": [[1]]}') == 3
    assert strict_json.loads('{"a": "[[[["}') == {"a": "[[[["}


@pytest.mark.parametrize("text, path, words", [
    ("seed: " + "7" * 5000, "seed", "an integer of 5000 digits"),
    ("w: 0x" + "f" * 300, "w", "an integer of 300 digits"),
    ("seed: !!int abc", "seed", "'abc' is not a valid '!!int'"),
    ("lr: !!float fast", "lr", "'fast' is not a valid '!!float'"),
    ("d: !!timestamp yesterday", "d", "'yesterday' is not a valid '!!timestamp'"),
    ("b: {<<: [{t: {i: 50}}, {t: {i: 5000}}]}", "b.t", "set by two mappings merged with <<"),
])
def test_yaml_problems_name_their_key(text, path, words):
    with pytest.raises(strict_yaml.YAMLProblem) as exc:
        strict_yaml.load(text)
    assert exc.value.path == path and words in exc.value.message, exc.value


def test_a_merge_key_may_still_be_overridden_explicitly():
    # YAML's intended use (the headline suite's evaluation cases): not a key set twice
    assert strict_yaml.load("e: &e {a: 1, m: 2}\nx: {<<: *e, m: 3}")["x"] == {"a": 1, "m": 3}


def test_validation_does_not_build_a_dataset_it_refuses(tmp_path, capsys, monkeypatch):
    import ganbench.data.synthetic as synthetic

    built = []
    real = synthetic.grid_centres
    monkeypatch.setattr(synthetic, "grid_centres", lambda size, spacing: (
        built.append(size), real(size, spacing))[1])
    f = tmp_path / "big.yaml"
    f.write_text(yaml.safe_dump({**SUITE, "base": {**SUITE["base"],
                                                   "dataset": {"name": "grid", "size": 100000}},
                                 "grid": {"seed": [0]}}))
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == 2
    assert "base.dataset.size: expected a number of magnitude at most 1024" in \
        capsys.readouterr().err
    assert 100000 not in built and not (tmp_path / "r").exists()


def test_a_suite_file_name_ending_in_a_newline_writes_nothing(tmp_path, capsys):
    f = tmp_path / "stem\n.yaml"
    f.write_text(yaml.safe_dump({**SUITE, "name": None, "grid": {"seed": [0]}}))
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == 2
    assert "cannot name a results folder" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_plugin_that_exits_on_import_is_an_error(tmp_path, capsys, monkeypatch):
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump({**SUITE, "plugins": ["exits_on_import"],
                                 "grid": {"seed": [0]}}))
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == 2
    err = capsys.readouterr().err
    assert "exits_on_import" in err and "SystemExit" in err and not (tmp_path / "r").exists()
    sys.modules.pop("exits_on_import", None)


@pytest.mark.parametrize("args", [
    ["run", "SUITE", "--max-group", "0"],
    ["run", "SUITE", "--jobs", "0"],
    ["run", "SUITE", "--max-seeds", "1"],
    ["run", "SUITE", "--checkpoint-every", "nan"],
    ["table", "R", "--alpha", "1.5"],
    ["check", "R", "--baseline", "B", "--alpha", "0"],
    ["compare", "R", "--alpha", "-1"],
])
def test_every_cli_number_is_bounded_before_anything_is_written(args, tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(SUITE))
    argv = [str(f) if a == "SUITE" else str(tmp_path / "r") if a == "R" else a for a in args]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--results", str(tmp_path / "r")] if args[0] == "run" else argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "is outside" in err or "expected a finite number" in err, err
    assert not (tmp_path / "r").exists()


def test_max_group_zero_through_the_api_writes_nothing(tmp_path):
    from ganbench.execute import run_suite
    from ganbench.suite import parse_suite

    s = parse_suite({**SUITE, "grid": {"seed": [0]}})
    for kwargs in ({"max_group": 0}, {"jobs": 0}):
        with pytest.raises(ValueError):
            run_suite(s, tmp_path / "r", device="cpu", progress=False, **kwargs)
    assert not (tmp_path / "r").exists()


# --- exit codes ---------------------------------------------------------------------------


def test_help_lists_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for code in ("0", "1", "2", "3", "4", "70", "130"):
        assert f"\n  {code:>3}  " in out, code


def test_runs_that_fail_exit_3(tmp_path, capsys, monkeypatch):
    import ganbench.execute.inprocess as inprocess

    def boom(*a, **k):
        raise RuntimeError("boom in the critic")

    monkeypatch.setattr(inprocess, "train", boom)
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({**SUITE, "grid": {"seed": [0, 1]}}))
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == 3
    err = capsys.readouterr().err
    assert "2 run(s) failed" in err and "Traceback" not in err


def test_an_internal_error_is_70_and_debug_shows_its_traceback(tmp_path, capsys, monkeypatch):
    from ganbench.cli import base as cli

    def bug(_args):
        raise KeyError("a bug")

    monkeypatch.setitem(cli.VERBS, "table", bug)
    assert main(["table", str(tmp_path)]) == 70
    err = capsys.readouterr().err
    assert "internal error (KeyError" in err and "Traceback" not in err
    assert main(["table", str(tmp_path), "--debug"]) == 70
    assert "Traceback (most recent call last)" in capsys.readouterr().err


class Refuse:
    """Patched writes under ``root`` raising ``code`` (after ``allow`` of them succeeded),
    as a full (ENOSPC) or read-only (EROFS) filesystem does."""

    def __init__(self, monkeypatch, root, code, allow=0):
        self.root, self.code, self.allow = str(root), code, allow
        real_mkstemp, real_open, real_mkdir = tempfile.mkstemp, os.open, os.mkdir

        def check(path):
            if str(path).startswith(self.root):
                if self.allow <= 0:
                    raise OSError(self.code, os.strerror(self.code), str(path))
                self.allow -= 1

        def mkstemp(*a, dir=None, **k):
            check(dir)
            return real_mkstemp(*a, dir=dir, **k)

        def open_(path, flags, *a, **k):
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                check(path)
            return real_open(path, flags, *a, **k)

        def mkdir(path, *a, **k):
            if not os.path.isdir(path):
                check(path)
            return real_mkdir(path, *a, **k)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "mkdir", mkdir)


@pytest.mark.parametrize("allow", [0, 3, 12])
def test_a_full_disk_exits_4_naming_the_path_and_a_rerun_is_identical(
        template, tmp_path, capsys, monkeypatch, allow):
    f, root0, _ = template
    root = tmp_path / "r"
    with monkeypatch.context() as m:
        Refuse(m, root, errno.ENOSPC, allow)
        code = main(["run", str(f), "--results", str(root), *RUN])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "No space left on device" not in err or str(root) in err
    assert "no space left on the device: free some space" in err and "Traceback" not in err
    # space freed: the rerun finishes every run as an uninterrupted run did, bit for bit
    assert main(["run", str(f), "--results", str(root), *RUN]) == 0
    for p in (root0 / "rel").glob("*/summary.json"):
        mine = json.loads((root / "rel" / p.parent.name / "summary.json").read_text())
        assert mine["metrics"] == json.loads(p.read_text())["metrics"]
        assert (root / "rel" / p.parent.name / "samples.npz").read_bytes() == \
            (p.parent / "samples.npz").read_bytes()


def test_a_read_only_folder_exits_4_for_run_and_report(results, tmp_path, capsys,
                                                         monkeypatch):
    f, root, suite_dir, _ = results
    ro = tmp_path / "ro"
    with monkeypatch.context() as m:
        Refuse(m, ro, errno.EROFS)
        assert main(["run", str(f), "--results", str(ro), *RUN]) == 4
        err = capsys.readouterr().err
        assert str(ro) in err and "read-only" in err and "--results" in err
        assert main(["report", str(suite_dir), "-o", str(ro / "x.html")]) == 4
        err = capsys.readouterr().err
        assert str(ro) in err and "Traceback" not in err
    assert not ro.exists()


def test_results_pointing_at_a_file_exits_4(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({**SUITE, "grid": {"seed": [0]}}))
    (tmp_path / "afile").write_text("x")
    assert main(["run", str(f), "--results", str(tmp_path / "afile"), *RUN]) == 4
    err = capsys.readouterr().err
    assert "must be folders" in err and "Traceback" not in err


# --- baselines ---------------------------------------------------------------------------


def _group(b):
    return next(iter(b["groups"].values()))


BASELINE_DAMAGE = {
    "mean": (lambda b: _group(b)["metrics"]["modes"].update(mean=99.0), ".metrics.modes.mean"),
    "std": (lambda b: _group(b)["metrics"]["modes"].update(std=5.0), ".metrics.modes.std"),
    "n": (lambda b: _group(b)["metrics"]["modes"].update(n=7), ".metrics.modes.n"),
    "unknown metric": (lambda b: _group(b)["metrics"].update(
        modez=_group(b)["metrics"]["modes"]), "unknown metric entry 'modez'"),
    "empty values": (lambda b: _group(b)["metrics"]["modes"].update(values={}, mean=None,
                                                                    std=None, n=0),
                     ".metrics.modes.values: empty"),
    "another group's key": (lambda b: b["groups"].update(
        {"0123456789ab": b["groups"].pop(next(iter(b["groups"])))}),
        "its key is not the hash of its config"),
    "a seed of no run": (lambda b: _group(b)["metrics"]["modes"]["values"].update({"7": 8.0}),
                         "seeds 7 are not runs of this group"),
}


@pytest.mark.parametrize("damage", list(BASELINE_DAMAGE))
def test_a_corrupted_baseline_is_bad_input(template, tmp_path, capsys, damage):
    _, root, base = template
    harm, words = BASELINE_DAMAGE[damage]
    b = json.loads(base.read_text())
    harm(b)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(b))
    assert main(["check", str(root / "rel"), "--baseline", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and words in err and "Traceback" not in err, err


# --- the Markdown report -----------------------------------------------------------------


def test_the_markdown_report_escapes_what_came_from_the_suite(tmp_path, capsys):
    evil = "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    suite = {**SUITE, "description": evil, "grid": {"objective": ["hinge"], "seed": [0, 1]},
             "table": {"rows": ["objective"], "columns": ["dataset"], "title": evil}}
    f = tmp_path / "evil.yaml"
    f.write_text(yaml.safe_dump(suite))
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == 0
    out = tmp_path / "x.md"
    assert main(["report", str(tmp_path / "r" / "rel"), "-o", str(out)]) == 0
    md = out.read_text()
    outside = md.split("<details>")[0] + md.split("</details>")[-1]  # not the YAML block
    assert "&lt;script&gt;" in outside and "\\[x\\](javascript:" in outside  # no link
    assert "<script" not in outside and "<img" not in outside
    assert not re.search(r"(?<!\\)\]\(javascript:", outside)


@pytest.mark.parametrize("error, code", [
    (OSError(errno.ENOSPC, "No space left on device", "/x/metrics.jsonl"), 4),
    (OSError(errno.EROFS, "Read-only file system", "/x/samples.npz"), 4),
    (RuntimeError("a bug in a plug-in"), 3),
])
def test_runs_lost_to_a_refusing_disk_exit_4_other_failures_3(template, tmp_path, capsys,
                                                              monkeypatch, error, code):
    # the failure record itself is written (only training hit the full disk): the run is
    # recorded as failed, and the exit code says whose fault it was
    from ganbench.execute import inprocess

    def refuse(*a, **k):
        raise error

    f, _, _ = template
    monkeypatch.setattr(inprocess, "train", refuse)
    assert main(["run", str(f), "--results", str(tmp_path / "r"), *RUN]) == code
    err = capsys.readouterr().err
    assert ("because the environment refused" in err) == (code == 4), err
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "r" / "rel").glob("*/summary.json")]
    assert summaries and all(s["status"] == "failed" for s in summaries)


@pytest.fixture
def tmpfs(tmp_path):
    """A mounted tmpfs of 64 KiB at tmp_path/fs, where this machine lets the test mount
    one (root with the capability); else the check is the patched ENOSPC one above."""
    import subprocess
    mnt = tmp_path / "fs"
    mnt.mkdir()
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                        capture_output=True).returncode == 0 if os.geteuid() == 0 else False
    if not ok:
        pytest.skip("this machine does not let the test mount a tmpfs; the patched ENOSPC "
                    "test covers a full disk")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_real_full_filesystem_exits_4_and_a_rerun_with_room_is_identical(
        template, tmpfs, capsys):
    """A real full disk (a 64 KiB tmpfs: the suite's 8 runs need about 200 KiB): exit 4
    naming the path and the fix, no traceback, nothing half-written counted; remounted
    larger, the rerun finishes every run bit-identical to an uninterrupted one."""
    import subprocess
    f, root0, _ = template
    root = tmpfs / "r"
    code = main(["run", str(f), "--results", str(root), *RUN])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "no space left on the device: free some space" in err and "Traceback" not in err
    assert str(tmpfs) in err
    for summary in root.glob("rel/*/summary.json"):  # what was written whole verifies
        assert json.loads(summary.read_text())["status"] in ("done", "diverged")
    assert subprocess.run(["mount", "-o", "remount,size=8m", str(tmpfs)]).returncode == 0
    assert main(["run", str(f), "--results", str(root), *RUN]) == 0
    capsys.readouterr()
    for p in (root0 / "rel").glob("*/summary.json"):
        mine = root / "rel" / p.parent.name
        assert json.loads((mine / "summary.json").read_text())["metrics"] == \
            json.loads(p.read_text())["metrics"]
        assert (mine / "samples.npz").read_bytes() == (p.parent / "samples.npz").read_bytes()
