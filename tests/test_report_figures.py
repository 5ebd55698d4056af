"""The report's figures as a reader sees them: each kind rendered by Chromium is not blank,
the throughput table lists one trained ensemble as one group, the suite dump keeps its
characters. Results are written directly through the results helpers (no training)."""

import numpy as np
import pytest
import torch
from test_report import assert_not_blank, find_browser, screenshot

from ganbench.data import REGISTRY as DATASETS
from ganbench.report import figures
from ganbench.report.data import SuiteData
from ganbench.report.page.content import _throughput, collect
from ganbench.report.ranks import cd_diagram
from ganbench.report.style import theme
from ganbench.report.text import suite_ranks
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import parse_suite

OBJECTIVES = ["minimax", "nonsaturating", "hinge", "lsgan"]


def write(root, suite, values, train_s=None, history=None, samples=True):
    """Write every run of ``suite``; ``values(i, run)`` its final modes; ``train_s(i)`` the
    ensemble's training time it records (members of one ensemble share it)."""
    write_suite_record(suite, root)
    g = torch.Generator().manual_seed(0)
    for i, r in enumerate(suite.runs):
        d = RunDir(root, suite.name, r.run_id)
        d.write_spec(r.to_dict())
        v = values(i, r)
        rows = (history(i, r) if history else
                [{"step": s, "wall_s": s / 10, "modes": min(v, s / 10), "d_loss": 1.0 + i / 50}
                 for s in (10, 20, 30)])
        d.write_metrics(rows)
        final = {k: x for k, x in rows[-1].items() if k in r.config["evaluation"]["metrics"]
                 or k in [m["name"] for m in r.config["evaluation"]["metrics"] if isinstance(m, dict)]}
        if samples:
            d.write_samples(fake=DATASETS.create(r.config["dataset"]["name"]).sample(300, g).numpy()
                            .astype(np.float32))
        t = {"steps_per_s": 10.0}
        if train_s:
            t.update(group_size=train_s(i)[0], train_s=train_s(i)[1])
        d.write_summary({"status": "done", "metrics": final, "group": r.group_key(),
                         "timings": t})
    return root / suite.name


@pytest.fixture(scope="module")
def grid_results(tmp_path_factory):
    s = parse_suite({"name": "figs", "description": "figures ± their ranges",
                     "base": {"evaluation": {"samples": 300, "metrics": ["modes"]}},
                     "grid": {"dataset": ["ring", "grid"], "objective": OBJECTIVES, "seed": [0, 1, 2]},
                     "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["modes"]}})
    # one mixed ensemble per dataset (all objectives and seeds train together)
    ds = {r.run_id: r.labels["dataset"] for r in s.runs}
    return write(tmp_path_factory.mktemp("figs"), s,
                 lambda i, r: float(1 + (i * 7) % 8),
                 train_s=lambda i: (12, 100.0 if ds[s.runs[i].run_id] == "ring" else 200.0)), s


@pytest.fixture(scope="module")
def dirac_results(tmp_path_factory):
    s = parse_suite({"name": "dirac_figs",
                     "base": {"dataset": "dirac", "model": {"name": "dirac", "theta": 1.0, "psi": 1.0},
                              "evaluation": {"metrics": ["dirac_theta", "dirac_psi"]}},
                     "grid": {"objective": ["minimax", "wgan"], "scheme": ["simultaneous", "alternating"]},
                     "table": {"rows": ["objective", "scheme"], "columns": [],
                               "metrics": ["dirac_theta"]}})

    def spiral(i, r):
        t = np.linspace(0, 6, 12)
        grow = 1.1 if r.labels["scheme"] == "simultaneous" else 0.8
        return [{"step": int(k * 5 + 5), "dirac_theta": float(grow ** k * np.cos(a)),
                 "dirac_psi": float(grow ** k * np.sin(a))} for k, a in enumerate(t)]

    return write(tmp_path_factory.mktemp("dirac"), s, lambda i, r: 0.0, history=spiral,
                 samples=False)


def kinds(grid_root, dirac_root):
    """Every figure kind the report draws, as (name, Figure) built fresh."""
    data, dirac = SuiteData.load(grid_root), SuiteData.load(dirac_root)
    ranks = suite_ranks(grid_root)
    return [("metrics", lambda: figures.metric_figure(data)),
            ("curves", lambda: figures.curves_figure(data, "modes")),
            ("samples", lambda: figures.samples_figure(data)),
            ("dirac", lambda: figures.dirac_figure(dirac)),
            ("ranks", lambda: cd_diagram(ranks).figure)]


@pytest.mark.skipif(find_browser() is None, reason="no Chromium or Chrome binary found "
                    "(CI installs the Debian package chromium)")
def test_chromium_renders_every_figure_kind(grid_results, dirac_results, tmp_path):
    import base64

    browser = find_browser()
    for name, draw in kinds(grid_results[0], dirac_results):
        with theme():
            png = figures.to_bytes(draw())
        assert_not_blank(png)
        page = tmp_path / f"{name}.html"  # the figure as the report embeds it
        page.write_text('<!doctype html><html><body style="margin:0;background:#fff">'
                        f'<img style="width:1280px" src="data:image/png;base64,'
                        f'{base64.b64encode(png).decode()}"></body></html>')
        shot = tmp_path / f"{name}-shot.png"
        screenshot(browser, page, shot)
        try:
            assert_not_blank(shot.read_bytes(), min_side=1200)
        except AssertionError as exc:
            raise AssertionError(f"the {name} figure renders blank in Chromium") from exc


def test_every_figure_kind_draws_nothing_outside_itself(grid_results, dirac_results):
    from test_plots import texts_inside

    for name, draw in kinds(grid_results[0], dirac_results):
        with theme():
            assert texts_inside(draw()) == [], name


def test_throughput_lists_one_ensemble_as_one_group(grid_results):
    root, s = grid_results
    data = SuiteData.load(root)
    # 8 configurations (4 objectives x 2 datasets) but 2 ensembles of 12 runs
    assert data.runs["group"].nunique() == 8
    listing = _throughput(data)
    assert [r[1] for r in listing.rows] == ["12", "12"]
    assert ["dataset=ring" in r[2] for r in listing.rows] == [True, False]


def test_suite_dump_keeps_non_ascii(grid_results):
    c = collect(grid_results[0])
    assert "figures ± their ranges" in c.suite_yaml and "\\xB1" not in c.suite_yaml


@pytest.mark.parametrize("values", [
    [0.0, 1e-4, 3.0, 25636.0],        # a diverged Dirac-GAN beside converged ones
    [-0.5, 0.0, 3.1, 25636.0],        # both signs, the positive side far larger
    [-1e4, -2.0, 0.0, 1e-3],          # both signs, the negative side larger
    [-3e4, 0.01, 3e4],
])
def test_a_wide_span_gets_decade_ticks_inside_the_values_on_each_side(values):
    """Symmetric-log axes: every sign that has values gets at least one labelled decade
    within the axis, the larger side at least two (one tick alone cannot show a scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    v = np.array(values)
    ax.plot(v, np.arange(len(v)), "o")
    assert figures.auto_scale(ax, v, "x") == "symlog"
    lo, hi = ax.get_xlim()
    shown = [t for t in ax.get_xticks() if lo <= t <= hi]
    up, down = [t for t in shown if t > 0], [t for t in shown if t < 0]
    assert 0.0 in shown and (v.max() <= 0 or up) and (v.min() >= 0 or down)
    assert max(len(up), len(down)) >= 2
    assert max(shown) <= v.max() and min(shown) >= min(v.min(), 0.0)
    plt.close(fig)
