"""The regression check: its statistics against known truth, its rule on hand-made
baselines, and end to end: a broken objective fails, new seeds of the same code pass."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch.nn.functional as F
import yaml
from scipy import stats

from ganbench.ci import baseline, check
from ganbench.cli import main
from ganbench.objectives.base import bmean
from ganbench.objectives.standard import NonSaturating

# --- hand-made summaries --------------------------------------------------------------


def summary(groups, seeds=(0, 1, 2), status=None, suite="s"):
    """{group: {metric: (values, direction, (abs, rel))}} -> the shape of baseline.summarise."""
    out = {}
    for title, metrics in groups.items():
        runs = [{"run_id": f"{title}-{s}", "seed": s,
                 "status": (status or {}).get((title, s), "done")} for s in seeds]
        done = [r["seed"] for r in runs if r["status"] == "done"]
        ms = {}
        for name, (vals, direction, band) in metrics.items():
            v = dict(zip(map(str, done), map(float, vals)))
            a = np.array(list(v.values()))
            ms[name] = {"values": v, "n": len(a), "mean": float(a.mean()) if len(a) else None,
                        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
                        "direction": direction, "band": {"abs": band[0], "rel": band[1]}}
        out[f"key-{title}"] = {"labels": {"objective": title}, "config": {"objective": title},
                               "runs": runs, "metrics": ms}
    return {"format": 1, "suite": suite, "environment": {}, "groups": out}


def verdicts(result):
    return {(r.group, r.metric): r.verdict for r in result.rows}


MODES = ("max", (1.0, 0.0))
KL = ("min", (0.05, 0.0))


# --- statistics against known truth ---------------------------------------------------


def test_welch_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        b, n = rng.normal(0, 1, rng.integers(2, 6)), rng.normal(0.3, 2, rng.integers(2, 6))
        w = check.welch(b, n, "max")
        ref = stats.ttest_ind(n, b, equal_var=False, alternative="less")
        assert w.p_worse == pytest.approx(ref.pvalue, rel=1e-9)
        assert w.p_better == pytest.approx(1 - ref.pvalue, rel=1e-9)
        # for a "min" metric an increase is worse
        w = check.welch(b, n, "min")
        ref = stats.ttest_ind(n, b, equal_var=False, alternative="greater")
        assert w.p_worse == pytest.approx(ref.pvalue, rel=1e-9)


def test_welch_degenerate_samples():
    # identical values on each side: any change is systematic, none is no evidence
    assert check.welch([8, 8, 8], [6, 6, 6], "max").p_worse == 0.0
    assert check.welch([8, 8, 8], [8, 8, 8], "max").p_worse == 1.0
    assert check.welch([8, 8, 8], [9, 9, 9], "max").p_worse == 1.0
    # one seed borrows the other side's spread: t = d / sqrt(v/1 + v/n), df = n - 1
    w = check.welch([1.0], [0.0, 1.0, 2.0], "max")
    assert w.df == 2 and w.se == pytest.approx(np.sqrt(1 + 1 / 3))
    assert w.p_worse == pytest.approx(stats.t.cdf(0.0, 2))
    # one seed on both sides: the band alone decides (the sign is all the evidence)
    assert check.welch([2.0], [1.0], "max").p_worse == 0.0
    assert check.welch([2.0], [1.0], "min").p_worse == 1.0


def test_benjamini_hochberg_adjustment():
    p = [0.01, 0.04, 0.03, 0.2]
    # BH: p_(i) * m / i, made monotone from the top
    assert check.adjust(p, "bh") == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2], rel=1e-5)
    assert check.adjust(p, "none") == p
    with pytest.raises(ValueError, match="unknown correction"):
        check.adjust(p, "holm")


def _null_groups(rng, n_groups, sd, shift=0.0, shifted=0):
    return {f"g{i}": {f"m{j}": (rng.normal(0.5 - (shift if i < shifted else 0.0), sd, 3),
                                "max", (0.0, 0.0)) for j in range(4)} for i in range(n_groups)}


def test_false_alarms_on_new_seeds_are_controlled():
    """Nothing changed, new seeds, no band at all (worst case: the test alone decides):
    with 40 comparisons an uncorrected test raises a false alarm on most re-runs; the
    corrected check on about alpha of them."""
    rng = np.random.default_rng(1)
    reps, alarms, alarms_raw = 200, 0, 0
    for _ in range(reps):
        b = summary(_null_groups(rng, 10, 0.1))
        n = summary(_null_groups(rng, 10, 0.1), seeds=(3, 4, 5))
        alarms += check.compare(b, n).failed
        alarms_raw += check.compare(b, n, correction="none").failed
    assert alarms / reps <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert alarms_raw / reps > 0.5


def test_a_realistic_regression_is_caught():
    """One setting loses 0.3 of a metric whose seed spread is 0.05 (e.g. the share of
    high-quality samples halving), among 40 comparisons, with 3 seeds a side: caught nearly
    always, and the share of flagged comparisons that are false stays below alpha (the
    Benjamini-Hochberg guarantee)."""
    rng = np.random.default_rng(2)
    reps, caught, fdp = 200, 0, []
    for _ in range(reps):
        b = summary(_null_groups(rng, 10, 0.05))
        n = summary(_null_groups(rng, 10, 0.05, shift=0.3, shifted=1), seeds=(3, 4, 5))
        flagged = [r.group for r in check.compare(b, n).rows if r.verdict == "REGRESSION"]
        caught += "g0" in flagged
        fdp.append(sum(g != "g0" for g in flagged) / max(1, len(flagged)))
    assert caught / reps > 0.9
    assert np.mean(fdp) <= 0.05


# --- the rule on hand-made baselines ----------------------------------------------------


def test_band_and_significance_are_both_required():
    base = summary({"a": {"modes": ([8, 8, 8], *MODES)},
                    "b": {"modes": ([8, 7, 8], *MODES)},
                    "c": {"modes": ([8, 8, 8], *MODES)},
                    "d": {"mode_kl": ([0.10, 0.12, 0.11], *KL)},
                    "e": {"mode_kl": ([0.10, 0.12, 0.11], *KL)}})
    now = summary({"a": {"modes": ([7, 7, 7], *MODES)},        # inside the band
                   "b": {"modes": ([8, 8, 2], *MODES)},        # beyond, one bad seed: noise
                   "c": {"modes": ([5, 6, 5], *MODES)},        # beyond and systematic
                   "d": {"mode_kl": ([0.40, 0.45, 0.42], *KL)},  # min metric went up
                   "e": {"mode_kl": ([0.01, 0.02, 0.015], *KL)}},  # better
                  seeds=(3, 4, 5))
    res = check.compare(base, now)
    assert verdicts(res) == {("a", "modes"): "ok", ("b", "modes"): "ok (noise)",
                             ("c", "modes"): "REGRESSION", ("d", "mode_kl"): "REGRESSION",
                             ("e", "mode_kl"): "better"}
    assert res.failed
    row = next(r for r in res.rows if r.group == "c")
    assert row.diff == pytest.approx(-8 / 3) and row.tol == 1.0 and row.n_now == 3
    # the same results are not a regression for a wider band (the fresh results carry the
    # band of the current code and suite file, which is what counts)
    only_c = summary({"c": {"modes": ([8, 8, 8], *MODES)}})
    assert check.compare(only_c, summary({"c": {"modes": ([5, 6, 5], *MODES)}})).failed
    assert not check.compare(only_c, summary({"c": {"modes": ([5, 6, 5], "max", (3.0, 0))}})).failed


def test_same_seeds_same_values_pass():
    base = summary({"a": {"modes": ([8, 6, 7], *MODES), "mode_kl": ([0.1, 0.3, 0.2], *KL)}})
    res = check.compare(base, base)
    assert not res.failed and set(verdicts(res).values()) == {"ok"}
    assert all(r.diff == 0 for r in res.rows)
    assert any("same seeds" in n for n in res.notes)


def test_status_changes_are_regressions():
    m = {"modes": ([8, 8, 8], *MODES)}
    base = summary({"a": m, "b": m, "c": {"modes": ([8, 8], *MODES)}},
                   status={("c", 1): "diverged"})
    # same seed: done -> diverged, even where the baseline had a divergence elsewhere;
    # a status the baseline never had (a crash)
    now = summary({"a": {"modes": ([8, 8], *MODES)}, "b": {"modes": ([8, 8], *MODES)},
                   "c": {"modes": ([8, 8], *MODES)}},
                  status={("a", 2): "diverged", ("b", 0): "failed", ("c", 0): "diverged"})
    res = check.compare(base, now)
    v = verdicts(res)
    assert {v[(g, "status")] for g in "abc"} == {"REGRESSION"}
    note = {r.group: r.note for r in res.rows if r.metric == "status"}
    assert "seed 2: done -> diverged" in note["a"] and "failed in 1/3 runs" in note["b"]
    assert v[("a", "modes")] == "ok"  # the runs that finished are still compared
    # new seeds: a group that diverged in the baseline may diverge again, one that never
    # did may not
    new = summary({"a": {"modes": ([8, 8], *MODES)}, "c": {"modes": ([8, 8], *MODES)}},
                  seeds=(3, 4, 5), status={("a", 4): "diverged", ("c", 4): "diverged"})
    base = summary({"a": m, "c": {"modes": ([8, 8], *MODES)}}, status={("c", 1): "diverged"})
    v = verdicts(check.compare(base, new))
    assert v[("a", "status")] == "REGRESSION" and v[("c", "status")] == "ok"


def test_missing_new_and_changed_groups():
    base = summary({"a": {"modes": ([8, 8, 8], *MODES), "mode_kl": ([0.1, 0.1, 0.1], *KL)},
                    "gone": {"modes": ([8, 8, 8], *MODES)},
                    "cfg": {"modes": ([8, 8, 8], *MODES)}})
    now = summary({"a": {"modes": ([8, 8, 8], *MODES), "hq_fraction": ([0.5] * 3, "max", (0.05, 0))},
                   "extra": {"modes": ([8, 8, 8], *MODES)},
                   "cfg": {"modes": ([8, 8, 8], *MODES)}})
    # same labels, another config: matched, compared, and flagged as stale
    g = now["groups"].pop("key-cfg")
    g["config"] = {"objective": "cfg", "training": {"iterations": 10}}
    now["groups"]["key-cfg2"] = g
    res = check.compare(base, now)
    v = verdicts(res)
    assert v[("a", "mode_kl")] == "MISSING" and v[("a", "hq_fraction")] == "new"
    assert v[("gone", "(group)")] == "MISSING" and v[("extra", "(group)")] == "new"
    assert v[("cfg", "(config)")] == "CONFIG CHANGED" and v[("cfg", "modes")] == "ok"
    note = next(r.note for r in res.rows if r.metric == "(config)")
    assert "training.iterations: None -> 10" in note
    assert res.failed
    # new groups or metrics alone never fail
    only_new = check.compare(summary({"a": {"modes": ([8] * 3, *MODES)}}),
                             summary({"a": {"modes": ([8] * 3, *MODES)},
                                      "b": {"modes": ([1] * 3, *MODES)}}))
    assert not only_new.failed


def test_a_metric_that_failed_to_compute_is_missing():
    base = summary({"a": {"hq_fraction": ([0.5, 0.6, 0.5], "max", (0.05, 0.0))}})
    now = summary({"a": {"hq_fraction": ([0.5, 0.6], "max", (0.05, 0.0))}})
    now["groups"]["key-a"]["metrics"]["hq_fraction"]["missing"] = [2]
    (row,) = check.compare(base, now).rows
    assert row.verdict == "MISSING" and "seed(s) 2" in row.note


def test_render_and_json():
    base = summary({"a": {"modes": ([8, 8, 8], *MODES)}})
    res = check.compare(base, summary({"a": {"modes": ([5, 5, 5], *MODES)}}))
    text = check.render(res)
    head = text.splitlines()[0].split()
    assert head == ["group", "metric", "baseline", "now", "diff", "band", "p", "verdict", "note"]
    assert "8 ± 0 (n=3)" in text and "-3" in text and "REGRESSION" in text
    assert text.rstrip().splitlines()[-1].startswith("FAIL: 1 REGRESSION")
    d = json.loads(json.dumps(res.to_dict()))
    assert d["passed"] is False and d["rows"][0]["verdict"] == "REGRESSION"
    with pytest.raises(ValueError, match="alpha"):
        check.compare(base, base, alpha=1.5)


# --- end to end: train, record, re-run with new seeds, inject a regression ----------------


def tiny_suite(seeds):
    return {"name": "tiny", "device": "cpu",
            "base": {"dataset": {"name": "ring", "std": 0.1}, "objective": "nonsaturating",
                     "model": {"name": "mlp", "latent_dim": 4, "width": 32, "depth": 2},
                     "optimizer": {"lr_g": 2e-3, "lr_d": 2e-3},
                     "training": {"iterations": 400, "batch_size": 64},
                     "evaluation": {"every": 400, "samples": 500,
                                    "metrics": ["modes", "hq_fraction", "mode_kl"]}},
            "grid": {"seed": list(seeds)}}


def run_tiny(root: Path, seeds, tag: str = "") -> Path:
    path = root / f"tiny-{'-'.join(map(str, seeds))}{tag}.yaml"
    path.write_text(yaml.safe_dump(tiny_suite(seeds)))
    # in-process: a monkeypatched (broken) objective must be what trains
    assert main(["run", str(path), "--results", str(root / path.stem), "--no-progress",
                 "--executor", "local"]) == 0
    return root / path.stem / "tiny"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    results = run_tiny(root, [0, 1, 2])
    assert main(["baseline", str(results), "-o", str(root / "baseline.json")]) == 0
    return root, results, root / "baseline.json"


def test_rerun_of_the_baseline_passes_with_zero_differences(recorded, capsys):
    _, results, base = recorded
    capsys.readouterr()
    assert main(["check", str(results), "--baseline", str(base), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["passed"] and {r["metric"] for r in d["rows"]} >= {"modes", "hq_fraction", "mode_kl"}
    assert all(r["diff"] == 0 for r in d["rows"])


def test_new_seeds_of_unchanged_code_pass(recorded, capsys):
    root, _, base = recorded
    results = run_tiny(root, [3, 4, 5])
    capsys.readouterr()
    assert main(["check", str(results), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "seeds: baseline [0, 1, 2], now [3, 4, 5]" in out


def test_a_broken_generator_loss_fails_the_check(recorded, capsys, monkeypatch):
    root, _, base = recorded
    # a sign error: the generator now maximises -log D(G(z)), i.e. runs away from the data
    monkeypatch.setattr(NonSaturating, "_g", lambda self, f, r: -bmean(F.softplus(-f)))
    results = run_tiny(root, [3, 4, 5], "-broken")  # the seeds of the passing re-run above
    capsys.readouterr()
    assert main(["check", str(results), "--baseline", str(base), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    bad = {r["metric"] for r in d["rows"] if r["verdict"] == "REGRESSION"}
    assert not d["passed"] and bad >= {"modes", "hq_fraction", "mode_kl"}


def test_check_usage_errors_exit_2(recorded, tmp_path, capsys):
    _, results, _ = recorded
    assert main(["check", str(results), "--baseline", str(tmp_path / "nope.json")]) == 2
    assert "no baseline file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["check", str(results), "--baseline", str(bad)]) == 2
    assert "not a ganbench baseline" in capsys.readouterr().err


def test_baseline_of_the_ci_suite_matches_the_suite():
    """The committed baseline holds every group of suites/ci.yaml with its current config,
    so a fresh clone's CI compares like with like."""
    from ganbench.suite import load_suite

    root = Path(__file__).parents[1]
    s = load_suite(root / "suites" / "ci.yaml")
    base = baseline.load(root / "results" / "baselines" / "ci.json")
    assert base["suite"] == s.name
    stale = "results/baselines/ci.json is stale; re-record it (docs/ci.md)"
    assert set(base["groups"]) == {r.group_key(("seed",)) for r in s.runs}, stale
    seeds = sorted({r.seed for r in s.runs})
    for g in base["groups"].values():
        assert sorted(r["seed"] for r in g["runs"]) == seeds
        assert all(r["status"] == "done" for r in g["runs"])


def test_entries_without_a_direction_are_neither_recorded_nor_missed():
    """Unit conversions and diagnostics (``_bits``, ``_steps``, ...) are not compared; a
    baseline recorded when they were is not failed for lacking them now."""
    import copy
    import json
    from pathlib import Path

    from ganbench.ci.baseline import measured
    from ganbench.ci.check import compare

    assert measured("jsd_classifier") and measured("modes_thresholded")
    assert not any(measured(k) for k in ("jsd_classifier_bits", "jsd_classifier_steps",
                                         "jsd_classifier_ci_low", "mmd_bandwidth"))
    base = json.loads((Path(__file__).parents[1] / "results/baselines/ci.json").read_text())
    old = copy.deepcopy(base)
    for g in old["groups"].values():
        g["metrics"]["jsd_classifier_bits"] = dict(g["metrics"]["jsd_classifier"])
    rows = compare(old, base).rows
    assert rows and all(r.verdict == "ok" for r in rows)
