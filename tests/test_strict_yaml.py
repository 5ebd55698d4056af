"""strict_yaml on its own: what it accepts as PyYAML does, and what it refuses."""

import pytest
import yaml

from ganbench.util import strict_yaml as sy


def test_ordinary_yaml_reads_as_pyyaml_reads_it():
    text = ("a: &x {k: 1, s: [1, 2.5, .inf, null, yes]}\n"
            "b: {<<: *x, k: 2}\n"  # a merge key overriding a merged one is no duplicate
            "c: [*x, *x]\n")
    assert sy.load(text) == yaml.safe_load(text)
    assert sy.load(text.encode()) == yaml.safe_load(text)
    assert sy.load("") is None


def test_exponents_without_a_dot_are_numbers_here_only():
    assert sy.load("[1e-4, 1E3, -2e+2, 1_0e1, 1.5e3, '1e3', 1e, e3]") == [
        1e-4, 1e3, -2e2, 100.0, 1.5e3, "1e3", "1e", "e3"]
    assert yaml.safe_load("a: 1e-4") == {"a": "1e-4"}  # the global SafeLoader is untouched


@pytest.mark.parametrize("text, path, words", [
    ("a: 1\nb: 2\na: 3\n", "a", "lines 1 and 3"),
    ("x: {k: 1, k: 2}\n", "x.k", "line 1"),
    ("l: [{a: 1}, {b: 1, b: 2}]\n", "l[1].b", "duplicate key 'b'"),
    ("r: &r [*r]\n", "r[0]", "contains itself"),
    ("d: " + "[" * 70 + "]" * 70 + "\n", "d" + "[0]" * 60, "nested more than 64"),
    ("a: [\n", "", "not valid YAML"),
])
def test_refusals_name_the_key(text, path, words):
    with pytest.raises(sy.YAMLProblem) as exc:
        sy.load(text)
    assert exc.value.path.startswith(path) and words in exc.value.message, exc.value


def test_an_alias_bomb_is_measured_without_being_expanded():
    levels = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(sy.YAMLProblem, match=f"more than {sy.MAX_NODES}"):
        sy.load("\n".join(levels) + "\n")  # 10^9 values: returns at once


def test_undecodable_bytes_name_line_column_and_key():
    with pytest.raises(sy.YAMLProblem) as exc:
        sy.load(b"a: ok\nb:\n  c: \"x\xff\"\n")
    assert exc.value.path == "b.c" and "byte 0xff at line 3, column 8" in exc.value.message


def test_show_is_bounded_whatever_the_value():
    bomb: list = ["ha"] * 10
    for _ in range(9):
        bomb = [bomb] * 10  # 10^10 leaves, shared
    assert len(sy.show(bomb)) <= sy.SHOW_CHARS
    assert len(sy.show("x" * 10**6)) <= sy.SHOW_CHARS
    assert sy.show("short") == "'short'"
