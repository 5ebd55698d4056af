"""Nothing is written outside --results: suite names and file stems are plain folder names,
writes do not go through links inside the results tree, and a device that is not there is
refused before anything is written."""

import os

import pytest
import yaml

from ganbench.cli import main
from ganbench.results import RunDir
from ganbench.suite import parse_suite
from ganbench.util.containment import ContainmentError, name_problem


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "a\\b", "", "x" * 200, "a\0b"])
def test_names_that_are_not_one_plain_folder_are_refused(name):
    assert name_problem(name)


@pytest.mark.parametrize("name", ["ci", "mode_collapse", "v1.2", "a-b+c", "_x"])
def test_plain_names_pass(name):
    assert name_problem(name) is None


def test_suite_named_dotdot_exits_2_and_writes_nothing(tmp_path, tiny_suite_dict, capsys):
    root = tmp_path / "area" / "results"
    root.mkdir(parents=True)
    f = tmp_path / "area" / "s.yaml"
    f.write_text(yaml.safe_dump({"name": "..", **tiny_suite_dict}))
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "name: '..'" in err and "cannot name a results folder" in err
    assert tree(tmp_path / "area") == ["results", "s.yaml"]


def test_file_stem_dotdot_exits_2_naming_the_file(tmp_path, tiny_suite_dict, capsys):
    root = tmp_path / "results"
    f = tmp_path / "...yaml"  # its stem is '..'
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "the file's name gives the suite name '..'" in err
    assert "set name:" in err
    assert tree(tmp_path) == ["...yaml"]


def test_run_dir_refuses_path_parts(tmp_path):
    for suite, rid in (("..", "abc"), ("s", "../x"), ("s", "a/b"), ("s", "")):
        with pytest.raises(ContainmentError):
            RunDir(tmp_path, suite, rid)


def test_symlinked_suite_folder_is_not_written_through(tmp_path, tiny_suite_dict, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "results"
    root.mkdir()
    (root / "tiny").symlink_to(outside, target_is_directory=True)
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    assert main(["run", str(f), "--results", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and str(root / "tiny") in err
    assert list(outside.iterdir()) == []


def test_symlinked_run_folder_is_not_written_through(tmp_path, tiny_suite_dict):
    s = parse_suite(tiny_suite_dict, default_name="tiny")
    r = s.runs[0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "results" / "tiny").mkdir(parents=True)
    (tmp_path / "results" / "tiny" / r.run_id).symlink_to(outside, target_is_directory=True)
    d = RunDir(tmp_path / "results", "tiny", r.run_id)
    with pytest.raises(ContainmentError, match="symbolic link"):
        d.write_spec(r.to_dict())
    assert list(outside.iterdir()) == []


def test_a_link_at_the_lock_file_is_not_followed(tmp_path, tiny_suite_dict, capsys):
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    (tmp_path / "results" / "tiny").mkdir(parents=True)
    os.symlink(target, tmp_path / "results" / "tiny" / ".lock")
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    assert main(["run", str(f), "--results", str(tmp_path / "results"), "--no-progress"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("how", ["suite", "flag"])
def test_cuda_on_a_cpu_machine_exits_4_before_writing(tmp_path, tiny_suite_dict, capsys, how,
                                                      monkeypatch):
    # 4: the environment refused (no device), not bad input
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    raw = {**tiny_suite_dict, "device": "cuda"} if how == "suite" else tiny_suite_dict
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(raw))
    extra = ["--device", "cuda"] if how == "flag" else []
    assert main(["run", str(f), "--results", str(tmp_path / "r"), "--no-progress", *extra]) == 4
    assert "CUDA is not available" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
