"""Results are verified, not trusted: damaged, wrong-shaped, incomplete or copied run
folders are re-trained by `run`, reported (never silently dropped, never a traceback) by
`table`, `baseline` and `check`, and damaged checkpoints restart their run."""

import json
import shutil

import pytest
import torch
import yaml

from ganbench.cli import main
from ganbench.execute import run_suite
from ganbench.results import RunDir, inspect_run, load_results, results_problems
from ganbench.suite import parse_suite, run_id
from ganbench.train import checkpoint_interval


@pytest.fixture
def trained(tmp_path, tiny_suite_dict):
    """A finished tiny suite (4 runs, one group) under tmp_path/r/tiny, and its file."""
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    s = parse_suite(tiny_suite_dict, str(f), default_name="tiny")
    run_suite(s, tmp_path / "r", device="cpu", progress=False)
    return s, f, tmp_path / "r"


def summary_of(root, s, i=0):
    return RunDir(root, s.name, s.runs[i].run_id).summary_path


DAMAGE = {
    "truncated": (lambda p: p.write_text(p.read_text()[:40]), "not valid JSON"),
    "empty": (lambda p: p.write_text(""), "is empty"),
    "a list": (lambda p: p.write_text("[1, 2]"), "not a mapping"),
    "metrics of the wrong shape": (
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "metrics": "x"})),
        "'metrics' is not a mapping"),
    "a metric missing": (
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "metrics": {}})),
        "lacks the metric(s) modes"),
    "status unknown": (
        lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "status": "ok"})),
        "status 'ok'"),
    "spec.yaml deleted": (lambda p: (p.parent / "spec.yaml").unlink(), "spec.yaml is missing"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_run_is_reported_by_table_and_trained_again_by_run(trained, capsys, damage):
    s, f, root = trained
    harm, why = DAMAGE[damage]
    p = summary_of(root, s)
    harm(p)
    c = inspect_run(p.parent)
    assert c.state == "invalid" and why in c.reason
    capsys.readouterr()
    # table: a warning naming the folder and why; the cell shows 1/2 seeds; no traceback
    assert main(["table", str(root / "tiny")]) == 0
    out, err = capsys.readouterr()
    assert f"warning: not counted: {p.parent}: invalid: " in err and why in err
    assert "1/2" in out
    # run: trains it again, saying which and why
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert f"warning: tiny/{s.runs[0].run_id} (" in err and why in err and "training it again" in err
    assert "3 already finished, 1 done" in out
    assert inspect_run(p.parent).finished


def test_a_copied_run_folder_is_not_counted_twice(trained, capsys):
    s, _, root = trained
    src = summary_of(root, s).parent
    shutil.copytree(src, root / "tiny" / "0123456789ab")
    shutil.copytree(root / "tiny", root / "tiny_copy")  # a second suite folder, same runs
    df = load_results(root / "tiny")
    assert len(df) == 4 and df["run_id"].is_unique
    assert len(load_results(root)) == 4
    (bad,) = results_problems(root / "tiny")
    assert bad.run_id == "0123456789ab" and "a copied or renamed folder" in bad.reason


def test_a_failed_run_is_retried(trained, capsys):
    s, f, root = trained
    p = summary_of(root, s, 1)
    RunDir(root, s.name, p.parent.name).write_summary(
        {"status": "failed", "error": "RuntimeError: out of memory", "metrics": {}})
    capsys.readouterr()
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "it failed (RuntimeError: out of memory); training it again" in err
    assert "3 already finished, 1 done" in out


def test_stale_temporary_files_are_removed_at_start(trained, capsys):
    s, f, root = trained
    run = summary_of(root, s).parent
    stale = [run / ".checkpoint.pt.k3j_2x9a.tmp", root / "tiny" / ".suite.json.abcd1234.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    keep = run / "notes.tmp"  # not a name of an atomic write
    keep.write_text("mine")
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 0
    assert "removed 2 temporary file(s) left by writes that were killed" in capsys.readouterr().err
    assert not any(p.exists() for p in stale) and keep.exists()


def test_check_refuses_fresh_results_it_cannot_read(trained, tmp_path, capsys):
    s, _, root = trained
    base = tmp_path / "base.json"
    assert main(["baseline", str(root / "tiny"), "-o", str(base)]) == 0
    assert "not_counted" not in json.loads(base.read_text())
    assert main(["check", str(root / "tiny"), "--baseline", str(base)]) == 0
    summary_of(root, s).write_text("{")
    capsys.readouterr()
    # a damaged run is bad files (exit 2) naming it, not a regression (exit 1)
    assert main(["check", str(root / "tiny"), "--baseline", str(base)]) == 2
    err = capsys.readouterr().err
    assert "do not verify" in err and s.runs[0].run_id in err
    assert "summary.json is not valid JSON" in err
    # baseline of such results says which run it leaves out
    assert main(["baseline", str(root / "tiny"), "-o", str(tmp_path / "b2.json")]) == 0
    assert f"not counted: {summary_of(root, s).parent}" in capsys.readouterr().err


def test_check_fails_on_a_listed_run_that_never_finished(trained, tmp_path, capsys):
    s, _, root = trained
    base = tmp_path / "base.json"
    assert main(["baseline", str(root / "tiny"), "-o", str(base)]) == 0
    shutil.rmtree(summary_of(root, s).parent)  # suite.json still lists it
    capsys.readouterr()
    assert main(["check", str(root / "tiny"), "--baseline", str(base)]) == 1
    assert "unfinished: not started" in capsys.readouterr().out


# --- checkpoints that do not fit their run ------------------------------------------------


def _with_checkpoints(tmp_path, tiny_suite_dict):
    """A suite interrupted after its first evaluation: checkpoints, no summaries."""
    raw = {**tiny_suite_dict, "grid": {"objective": ["minimax", "nonsaturating"], "seed": [0]}}
    s = parse_suite(raw, default_name="tiny")
    root = tmp_path / "r"
    run_suite(s, root, device="cpu", progress=False, checkpoint_every_s=0)
    full = {r.run_id: json.loads(summary_of(root, s, i).read_text())["metrics"]
            for i, r in enumerate(s.runs)}
    from ganbench.train import checkpoint, setup, train

    session = setup(s.runs, root, torch.device("cpu"))

    class Stop(Exception):
        pass

    def stop_at_11(step):
        if step == 11:
            raise Stop

    with pytest.raises(Stop):
        train(session, stop_at_11, checkpoint_every_s=0)
    checkpoint(session)
    for i in range(len(s.runs)):
        summary_of(root, s, i).unlink()
    return s, root, full


MISFITS = {
    "keys missing": (lambda st: {k: v for k, v in st.items() if k not in ("rows", "rng")},
                     "keys missing: rng, rows"),
    "a step beyond the run": (lambda st: {**st, "step": 10**6}, "step 1000000 is not inside"),
    "another run's": (lambda st: {**st, "run_id": "0123456789ab"}, "it is of another run"),
    "not a mapping": (lambda st: [1, 2, 3], "expected a mapping"),
}


@pytest.mark.parametrize("misfit", list(MISFITS))
def test_a_checkpoint_that_does_not_fit_restarts_the_run(tmp_path, tiny_suite_dict, capsys,
                                                        misfit):
    s, root, full = _with_checkpoints(tmp_path, tiny_suite_dict)
    change, why = MISFITS[misfit]
    d = RunDir(root, s.name, s.runs[0].run_id)
    state = torch.load(d.checkpoint_path, weights_only=True)
    torch.save(change(state), d.checkpoint_path)
    capsys.readouterr()
    out = run_suite(s, root, device="cpu", progress=False)
    err = capsys.readouterr().err
    assert f"warning: checkpoint of tiny/{s.runs[0].run_id}: {why}" in err
    assert "from the start" in err
    assert out["done"] == 2 and out["failed"] == 0
    for i, r in enumerate(s.runs):
        summary = json.loads(summary_of(root, s, i).read_text())
        assert summary["status"] == "done" and summary["resumed_from"] is None
        assert summary["metrics"] == full[r.run_id]  # trained from the start, same result


def test_a_fitting_checkpoint_resumes(tmp_path, tiny_suite_dict):
    s, root, full = _with_checkpoints(tmp_path, tiny_suite_dict)
    run_suite(s, root, device="cpu", progress=False)
    for i, r in enumerate(s.runs):
        summary = json.loads(summary_of(root, s, i).read_text())
        assert summary["resumed_from"] == 11 and summary["metrics"] == full[r.run_id]


# --- the checkpoint interval ------------------------------------------------------------


def test_checkpoint_interval_from_the_suite_does_not_change_run_ids(tiny_suite_dict):
    plain = parse_suite(tiny_suite_dict)
    raw = {**tiny_suite_dict, "base": {**tiny_suite_dict["base"], "training": {
        **tiny_suite_dict["base"]["training"], "checkpoint_every_s": 5}}}
    timed = parse_suite(raw)
    assert [r.run_id for r in plain.runs] == [r.run_id for r in timed.runs]
    assert [r.group_key() for r in plain.runs] == [r.group_key() for r in timed.runs]
    assert checkpoint_interval(timed.runs) == 5.0 and checkpoint_interval(plain.runs) == 60.0
    cfg = timed.runs[0].config
    assert run_id(cfg) == timed.runs[0].run_id and cfg["training"]["checkpoint_every_s"] == 5


def test_checkpoint_every_flag(tmp_path, tiny_suite_dict, capsys):
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    args = ["run", str(f), "--results", str(tmp_path / "r"), "--no-progress"]
    with pytest.raises(SystemExit) as exc:  # argparse's usage error, before anything runs
        main([*args, "--checkpoint-every", "-1"])
    assert exc.value.code == 2
    assert "--checkpoint-every: -1 is outside [0, 86400]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert main([*args, "--checkpoint-every", "0.5"]) == 0
    spec = yaml.safe_load(next((tmp_path / "r" / "tiny").glob("*/spec.yaml")).read_text())
    assert spec["config"]["training"]["checkpoint_every_s"] == 0.5
    assert spec["run_id"] in {r.run_id for r in parse_suite(tiny_suite_dict).runs}


def test_dry_run_says_which_runs_train_again_and_why(trained, capsys):
    s, f, root = trained
    summary_of(root, s).write_text("[]")
    capsys.readouterr()
    assert main(["run", str(f), "--results", str(root), "--dry-run"]) == 0
    assert "to run again: summary.json is not a mapping (got list)" in capsys.readouterr().out


def test_wrong_shaped_suite_record_and_history_give_no_traceback(trained, capsys):
    import ganbench

    s, _, root = trained
    d = summary_of(root, s).parent
    (d / "metrics.jsonl").write_text("[1, 2]\n")
    history = ganbench.load_history(root / "tiny")
    assert d.name not in set(history["run_id"]) and history["run_id"].nunique() == 3
    record = root / "tiny" / "suite.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "table": "rows"}))
    capsys.readouterr()
    assert main(["table", str(root / "tiny")]) == 2
    err = capsys.readouterr().err
    assert f"{record}: 'table' must be a dict, got str" in err and "Traceback" not in err
