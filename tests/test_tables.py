"""Tables from hand-made results: n/N and top-group marking, every format's title and
legend, LaTeX's grouped headers and escaping, long numeric CSV, and warnings."""

import io
import math

import pandas as pd
import pytest

from ganbench.report import tables
from ganbench.report.tables import build_table, latex_escape, render


def results(rows):
    """(objective, dataset, seed, status, {metric: value}) -> a load_results-like frame."""
    out = []
    for i, (obj, ds, seed, status, metrics) in enumerate(rows):
        out.append({"suite": "t", "run_id": f"r{i}", "seed": seed, "status": status,
                    "objective": obj, "dataset": ds,
                    **{f"metric:{k}": v for k, v in metrics.items()}})
    return pd.DataFrame(out)


def expected(df, extra=()):
    """Every run of the frame, plus runs that never finished: (objective, dataset, seed)."""
    runs = [{"run_id": r.run_id, "labels": {"objective": r.objective, "dataset": r.dataset,
                                            "seed": str(r.seed)}} for r in df.itertuples()]
    runs += [{"run_id": f"x{i}", "labels": {"objective": o, "dataset": d, "seed": str(s)}}
             for i, (o, d, s) in enumerate(extra)]
    return runs


@pytest.fixture
def df():
    nan = math.nan
    return results([
        # ns on ring: complete, 3 seeds, modes 8, 8, 8
        *[("ns", "ring", s, "done", {"modes": 8.0, "mode_kl": 0.1 * s}) for s in range(3)],
        # lsgan on ring: complete, fewer modes than ns, higher KL
        *[("lsgan", "ring", s, "done", {"modes": 6.0, "mode_kl": 0.3}) for s in range(3)],
        # minimax on ring: one seed diverged; the two others have more modes on average
        ("minimax", "ring", 0, "done", {"modes": 9.0, "mode_kl": 0.0}),
        ("minimax", "ring", 1, "done", {"modes": 9.0, "mode_kl": 0.0}),
        ("minimax", "ring", 2, "diverged", {}),
        # hinge on ring: one seed's metric failed (NaN)
        ("hinge", "ring", 0, "done", {"modes": 7.0, "mode_kl": nan}),
        ("hinge", "ring", 1, "done", {"modes": 7.0, "mode_kl": 0.5}),
        ("hinge", "ring", 2, "failed", {}),
        # grid: ns complete, minimax has 1 of 3 seeds finished (the others never ran)
        *[("ns", "grid", s, "done", {"modes": 20.0 + s, "mode_kl": 0.2}) for s in range(3)],
        ("minimax", "grid", 0, "done", {"modes": 25.0, "mode_kl": 0.0}),
    ])


def cells_of(t):
    return {(rk[0], ck[0], m): c for (rk, ck, m), c in t.cells.items()}


def test_incomplete_cells_say_n_of_N_and_are_never_tested(df):
    exp = expected(df, extra=[("minimax", "grid", 1), ("minimax", "grid", 2)])
    t = build_table(df, ["objective"], ["dataset"], ["modes", "mode_kl"], expected=exp)
    c = cells_of(t)
    ns, mm, hinge = c[("ns", "ring", "modes")], c[("minimax", "ring", "modes")], \
        c[("hinge", "ring", "mode_kl")]
    assert (ns.n, ns.N, ns.complete) == (3, 3, True)
    assert (mm.n, mm.N, mm.diverged, mm.complete) == (2, 3, 1, False)
    assert (hinge.n, hinge.N, hinge.failed, hinge.no_value) == (1, 3, 1, 1)
    # minimax has the higher mean (9 > 8) but is incomplete: untested, never marked; ns is
    # the best complete cell, and lsgan's constant 6 is certainly worse than its constant 8
    assert ns.best and mm.top is None and not mm.best
    assert c[("lsgan", "ring", "modes")].top is False
    assert mm.text(3) == "9.000 [9.000, 9.000] (2/3: 1 div) ?"
    assert hinge.text(3) == "0.500 (1/3: 1 fail, 1 no value) ?"
    grid = c[("minimax", "grid", "modes")]
    assert (grid.n, grid.N, grid.missing) == (1, 3, 2)
    assert grid.text(3) == "25.000 (1/3: 2 missing) ?" and not grid.best
    # the only complete grid cell has nothing to be compared with: no mark, no "?"
    only = c[("ns", "grid", "modes")]
    assert not only.best and only.top is None and not only.text(3).endswith("?")
    # min direction: ns (0.1 ± 0.1 over 3 seeds) is best; lsgan's 0.3 is worse
    # (one-sided Welch t = 3.46 on 2 df, p = 0.037); minimax (0.0) is incomplete
    assert c[("ns", "ring", "mode_kl")].best and c[("lsgan", "ring", "mode_kl")].top is False
    assert c[("lsgan", "ring", "mode_kl")].top_p == pytest.approx(0.037, abs=0.001)
    assert c[("minimax", "ring", "mode_kl")].top is None
    # the interval of the mean: Student's t on ns's three values
    lo, hi = c[("ns", "ring", "mode_kl")].ci
    h = 4.302653 * 0.1 / math.sqrt(3)
    assert (lo, hi) == pytest.approx((0.1 - h, 0.1 + h), abs=1e-6)


def test_cells_within_noise_of_the_best_share_the_top_group():
    # three seeds cannot separate 0.95 +- 0.04 from 0.90 +- 0.05: both are marked
    df = results([*[("a", "ring", s, "done", {"hq_fraction": v})
                    for s, v in enumerate([0.99, 0.95, 0.91])],
                  *[("b", "ring", s, "done", {"hq_fraction": v})
                    for s, v in enumerate([0.95, 0.90, 0.85])],
                  *[("c", "ring", s, "done", {"hq_fraction": v})
                    for s, v in enumerate([0.10, 0.12, 0.11])]])
    t = build_table(df, ["objective"], ["dataset"], ["hq_fraction"], expected=expected(df))
    c = cells_of(t)
    assert [c[(o, "ring", "hq_fraction")].top for o in "abc"] == [True, True, False]
    # at a stricter level nothing changes for c, whose difference is huge
    t = build_table(df, ["objective"], ["dataset"], ["hq_fraction"], expected=expected(df),
                    alpha=0.001)
    assert cells_of(t)[("c", "ring", "hq_fraction")].top is False
    with pytest.raises(ValueError, match="alpha"):
        build_table(df, ["objective"], ["dataset"], ["hq_fraction"], alpha=0)


def test_without_a_record_N_counts_runs_on_disk_and_says_so(df):
    t = build_table(df, ["objective"], ["dataset"], ["modes"])
    c = cells_of(t)
    assert c[("minimax", "grid", "modes")].complete  # nothing says two seeds are missing
    assert any("N counts the runs found on disk" in line for line in t.legend)


def test_stale_runs_of_an_earlier_suite_are_not_counted(df):
    exp = [e for e in expected(df) if e["run_id"] != "r0"]
    t = build_table(df, ["objective"], ["dataset"], ["modes"], expected=exp)
    assert cells_of(t)[("ns", "ring", "modes")].N == 2
    assert any("1 finished runs of an earlier version" in line for line in t.legend)


def test_entries_without_a_direction_are_never_marked_best():
    df = results([(o, "ring", s, "done", {"jsd_classifier_bits": v + d, "jsd_classifier": v + d})
                  for o, v in (("a", 0.1), ("b", 0.5)) for s, d in enumerate((0.0, 0.01))])
    t = build_table(df, ["objective"], ["dataset"], ["jsd_classifier_bits", "jsd_classifier"])
    c = cells_of(t)
    assert not any(c[(o, "ring", "jsd_classifier_bits")].best for o in "ab")
    assert c[("a", "ring", "jsd_classifier")].best


@pytest.mark.parametrize("fmt", tables.FORMATS)
def test_every_format_has_title_and_legend(df, fmt):
    out = render(df, ["objective"], ["dataset"], ["modes", "mode_kl"], fmt=fmt,
                 title="Modes & KL: 100% of seeds", expected=expected(df), warn=None,
                 legend=fmt == "csv")  # CSV carries them only when asked
    title = latex_escape("Modes & KL: 100% of seeds") if fmt == "latex" else "Modes & KL: 100% of seeds"
    assert title in out
    # the legend: what the numbers are, how best is marked, which mode definition is shown
    assert "interval of the mean over seeds, Student's t" in out
    assert "top group" in out and "Holm" in out
    assert "at least one high-quality sample" in out
    assert ("minimax,ring,modes,2,3,9.0,0.0,9.0,9.0,,,1," in out) if fmt == "csv" \
        else ("2/3: 1 div" in out)


def test_latex_groups_columns_by_dataset_and_escapes_every_cell_alike(df):
    df = df.assign(objective=df["objective"].replace({"ns": "non_sat & 50%"}))
    out = render(df, ["objective"], ["dataset"], ["modes", "mode_kl"], fmt="latex",
                 title="A_title", expected=expected(df), warn=None)
    lines = out.splitlines()
    assert lines[0].startswith("%") and "booktabs" in lines[0]
    assert "\\caption{A\\_title}" in out
    assert "\\multicolumn{2}{c}{ring} & \\multicolumn{2}{c}{grid} \\\\" in out
    assert "\\cmidrule(lr){2-3} \\cmidrule(lr){4-5}" in out
    assert "objective & modes & mode\\_kl & modes & mode\\_kl \\\\" in out
    row = next(x for x in lines if x.startswith("non\\_sat"))
    assert row.startswith("non\\_sat \\& 50\\% & \\textbf{8.000 [8.000, 8.000] (3/3)} & ")
    # no raw special character left anywhere in the body
    body = out[out.index("\\midrule"):out.index("\\bottomrule")]
    assert "±" not in body and "_" not in body.replace("\\_", "")


def test_latex_with_two_column_axes_has_two_header_levels():
    df = results([("a", "ring", 0, "done", {"modes": 1.0}), ("a", "grid", 0, "done", {"modes": 2.0})])
    df["model"] = ["mlp", "dcgan"]
    out = render(df, ["objective"], ["dataset", "model"], ["modes", "mode_kl"], fmt="latex",
                 warn=None)
    assert "& \\multicolumn{2}{c}{ring} & \\multicolumn{2}{c}{grid} \\\\" in out
    assert "& \\multicolumn{2}{c}{mlp} & \\multicolumn{2}{c}{dcgan} \\\\" in out


def test_csv_is_long_and_numeric(df):
    exp = expected(df, extra=[("minimax", "grid", 1)])
    out = render(df, ["objective"], ["dataset"], ["modes", "mode_kl"], fmt="csv",
                 expected=exp, warn=None)
    frame = pd.read_csv(io.StringIO(out))  # plain: read as it is, no comment lines
    with_legend = render(df, ["objective"], ["dataset"], ["modes", "mode_kl"], fmt="csv",
                         expected=exp, warn=None, legend=True)
    assert with_legend.startswith("# t: mean [95% interval] over seeds\n")
    assert "# *" not in with_legend and "top_group = 1" in with_legend
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(with_legend), comment="#"), frame)
    assert list(frame.columns[:3]) == ["objective", "dataset", "metric"]
    for col in ("mean", "std", "ci_lo", "ci_hi", "top_group", "top_p"):
        assert pd.api.types.is_float_dtype(frame[col])  # empty where untested
    for col in ("n", "N", "diverged", "failed", "missing"):
        assert pd.api.types.is_integer_dtype(frame[col])
    assert len(frame) == 6 * 2  # (4 ring + 2 grid cells) x 2 metrics
    mm = frame[(frame.objective == "minimax") & (frame.dataset == "grid") & (frame.metric == "modes")]
    assert mm[["mean", "n", "N", "missing"]].values.tolist() == [[25.0, 1, 2, 1]]
    assert frame.loc[(frame.objective == "ns") & (frame.dataset == "ring")
                     & (frame.metric == "modes"), "top_group"].item() == 1
    # the top group is tested only where it can be: incomplete cells are empty
    assert frame.loc[(frame.objective == "minimax") & (frame.dataset == "ring")
                     & (frame.metric == "modes"), "top_group"].isna().all()
    ns = frame[(frame.objective == "ns") & (frame.dataset == "ring") & (frame.metric == "mode_kl")]
    assert ns["ci_lo"].item() < ns["mean"].item() < ns["ci_hi"].item()


def test_a_metric_no_run_computed_warns_and_an_unknown_one_is_an_error(df, capsys):
    out = render(df, ["objective"], ["dataset"], ["modes", "fid"], expected=expected(df))
    assert "fid" in out
    assert "warning: no run computed 'fid'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="did you mean 'modes'"):
        render(df, ["objective"], ["dataset"], ["mdoes"], warn=None)
    with pytest.raises(ValueError, match="unknown table axis 'objectiv'"):
        render(df, ["objectiv"], ["dataset"], ["modes"], warn=None)
