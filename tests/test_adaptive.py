"""Adaptive seeds: the loop on fakes (rounds, stop reasons, determinism)."""

from __future__ import annotations

import pytest

from ganbench.execute.adaptive import STOP_DECIDED, STOP_MAX, run_adaptive


def _loop(decide_after: dict[str, int], maximum: int = 10):
    trained = []

    def train(seeds):
        trained.append(seeds)
        return {"runs": sum(seeds.values())}

    def undecided(seeds):
        return {f"cell {p}": ([f"{p} not separated"], [p])
                for p, need in decide_after.items() if seeds[p] < need}

    return run_adaptive(list(decide_after), 3, maximum, 2, train, undecided), trained


def test_seeds_are_added_only_where_claims_are_undecided():
    res, trained = _loop({"a": 3, "b": 5, "c": 7})
    assert res.stop == STOP_DECIDED
    assert trained == [{"a": 3, "b": 3, "c": 3}, {"a": 3, "b": 5, "c": 5},
                       {"a": 3, "b": 5, "c": 7}]
    assert [r.added for r in res.rounds] == [["b", "c"], ["c"], []]
    assert res.seeds == {"a": 3, "b": 5, "c": 7}
    assert "stopped: every claim decided" in res.lines()[-1]


def test_the_maximum_stops_it_and_the_last_round_is_partial():
    res, trained = _loop({"a": 99}, maximum=8)
    assert res.stop == STOP_MAX
    assert [t["a"] for t in trained] == [3, 5, 7, 8]
    assert res.to_dict()["stop"] == STOP_MAX and len(res.to_dict()["rounds"]) == 4


def test_same_results_same_rounds():
    a, _ = _loop({"a": 4, "b": 9})
    b, _ = _loop({"a": 4, "b": 9})
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("mn,mx,step", [(1, 10, 2), (5, 4, 1), (3, 10, 0)])
def test_bad_bounds_are_refused(mn, mx, step):
    with pytest.raises(ValueError, match="adaptive seeds"):
        run_adaptive(["a"], mn, mx, step, lambda s: {}, lambda s: {})
