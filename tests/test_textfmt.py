import pytest

from ganbench.util.textfmt import render


def test_columns_align_left_and_right():
    out = render(["name", "n"], [["ab", 1], ["c", 100]], align="lr").splitlines()
    assert out == ["name    n",
                   "----  ---",
                   "ab      1",
                   "c     100"]


def test_short_rows_last_letter_repeats_and_no_trailing_blanks():
    out = render(["a", "b", "c"], [["x"], ["yy", "1", "2"]], align="lr").splitlines()
    assert out[2] == "x"  # padded cells at the end of a line are dropped
    assert out[3] == "yy  1  2"
    assert render(["a"], [["b"]], rule=False) == "a\nb"


def test_bad_alignment_is_an_error():
    with pytest.raises(ValueError, match="align"):
        render(["a"], [], align="c")
