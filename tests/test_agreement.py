"""Do two result sets of one suite agree (bf16 against fp32)? A two-sample TOST per cell,
tested against its nominal error rate, and ``ganbench compare --against`` end to end on a
suite trained in fp32 and in bf16 into separate results folders."""

import numpy as np
import pytest
import yaml

from ganbench.cli.main import main
from ganbench.results.claims import CellSample, agreement


def _cells(values: dict) -> dict:
    return {(("r",), ("c",), m): CellSample(np.asarray(v, float), len(v))
            for m, v in values.items()}


def test_equal_sets_agree_shifted_sets_differ_and_one_seed_is_untested():
    rng = np.random.default_rng(0)
    a = rng.normal(5.0, 0.2, 10)
    res = agreement(_cells({"modes": a, "hq": a[:1], "kl": a}),
                    _cells({"modes": a + rng.normal(0, 0.05, 10), "hq": a[:1],
                            "kl": a + 3.0}),
                    {"modes": 1.0, "hq": 0.1, "kl": 1.0})
    by = {k[2]: v for k, v in res.items()}
    assert by["modes"].verdict == "agrees" and by["modes"].p_tost <= 0.05
    lo, hi = by["modes"].ci
    assert -1.0 < lo <= by["modes"].diff <= hi < 1.0   # TOST: the 90% interval inside ±margin
    assert by["kl"].verdict == "differs" and by["kl"].diff == pytest.approx(-3.0)
    assert by["hq"].verdict == "untested"


def test_metrics_without_a_margin_are_not_compared():
    a = np.arange(5.0)
    assert set(k[2] for k in agreement(_cells({"m": a, "n": a}), _cells({"m": a, "n": a}),
                                       {"m": 1.0})) == {"m"}


def test_tost_false_agreement_rate_at_the_margin_is_at_most_alpha():
    # true difference exactly at the margin: "agrees" would be a false claim
    rng = np.random.default_rng(1)
    trials, hits = 2000, 0
    for _ in range(trials):
        a, b = rng.normal(1.0, 1.0, 8), rng.normal(0.0, 1.0, 8)
        (v,) = agreement(_cells({"m": a}), _cells({"m": b}), {"m": 1.0}).values()
        hits += v.verdict == "agrees"
    rate = hits / trials
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / trials)
    assert rate > 0.01  # not vacuous: TOST is close to its level at the boundary


def test_the_power_to_agree_grows_with_seeds():
    rng = np.random.default_rng(2)

    def rate(n):
        hits = 0
        for _ in range(300):
            a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
            hits += agreement(_cells({"m": a}), _cells({"m": b}),
                              {"m": 1.0})[(("r",), ("c",), "m")].verdict == "agrees"
        return hits / 300

    assert rate(4) < rate(10) < rate(30)
    assert rate(30) > 0.9


@pytest.fixture
def two_precisions(tmp_path, tiny_suite_dict):
    d = {**tiny_suite_dict, "name": "tiny"}
    d["base"]["evaluation"] = {"every": 20, "samples": 200, "metrics": ["hq_fraction", "modes"]}
    d["grid"] = {"objective": ["nonsaturating"], "seed": [0, 1, 2]}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(d))
    r32, r16 = tmp_path / "fp32", tmp_path / "bf16"
    assert main(["run", str(path), "--results", str(r32), "--device", "cpu",
                 "--no-progress", "--executor", "local"]) == 0
    assert main(["run", str(path), "--results", str(r16), "--device", "cpu", "--no-progress",
                 "--executor", "local", "--set", "training.precision=bf16"]) == 0
    # each root holds one suite folder (its name may carry the --set variant)
    (a,) = [p for p in r16.iterdir() if p.is_dir()]
    (b,) = [p for p in r32.iterdir() if p.is_dir()]
    return a, b


def test_compare_against_another_folder_gives_a_verdict_per_cell(two_precisions, capsys):
    bf16, fp32 = two_precisions
    ids16 = {p.name for p in bf16.iterdir() if p.is_dir()}
    ids32 = {p.name for p in fp32.iterdir() if p.is_dir()}
    assert ids16 and not ids16 & ids32  # bf16 runs are other runs, in their own folder
    capsys.readouterr()
    assert main(["compare", str(bf16), "--against", str(fp32), "--margin", "hq_fraction=0.5",
                 "modes=8", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split(",")[:4] == ["objective", "scheme", "dataset", "metric"]
    rows = [line.split(",") for line in out[1:]]
    assert sorted(r[3] for r in rows) == ["hq_fraction", "modes"]
    assert all(r[-1] in ("agrees", "differs", "inconclusive") for r in rows)
    assert all(r[4] == "3/3" and r[5] == "3/3" for r in rows)


@pytest.mark.parametrize("args, says", [
    (["--margin", "hq_fraction=x"], "METRIC=NUMBER"),
    (["--margin", "hq_fraction=-1"], "> 0"),
    (["--margin", "nosuch=1"], "nosuch"),
    ([], "--margin"),
    (["--margin", "hq_fraction=1", "--rows", "a=b", "c=d"], "--rows"),
])
def test_compare_against_bad_input_exits_2(two_precisions, capsys, args, says):
    bf16, fp32 = two_precisions
    capsys.readouterr()
    assert main(["compare", str(bf16), "--against", str(fp32), *args]) == 2
    captured = capsys.readouterr()
    assert says in captured.err and not captured.out
