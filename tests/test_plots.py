"""Figures (`ganbench plot KIND`): drawn from results written directly through the results
helpers (no training), so that a suite of many rows costs nothing."""

import io

import numpy as np
import pytest
import torch
from matplotlib.collections import PolyCollection
from matplotlib.patches import PathPatch
from PIL import Image

from ganbench.cli import main
from ganbench.data import REGISTRY as DATASETS
from ganbench.report import figures
from ganbench.report.data import SuiteData
from ganbench.report.style import MIN_CONTRAST_ON_WHITE, MODE_MARKER, contrast, palette, theme
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import parse_suite

OBJECTIVES = ["minimax", "nonsaturating", "hinge", "lsgan", "wgan", "rsgan", "ragan", "fgan_kl"]


@pytest.fixture(scope="module")
def fake_results(tmp_path_factory):
    """8 objectives x ring, grid x 2 seeds; 3 evaluations each; samples near the modes (the
    first objectives cover fewer modes); one diverged run. Metrics modes and fid."""
    root = tmp_path_factory.mktemp("plots")
    s = parse_suite({"name": "many", "base": {"evaluation": {"samples": 600, "metrics": ["modes", "fid"]}},
                     "grid": {"dataset": ["ring", "grid"], "objective": OBJECTIVES, "seed": [0, 1]},
                     "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["modes", "fid"]}})
    write_suite_record(s, root)
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    for i, r in enumerate(s.runs):
        d = RunDir(root, s.name, r.run_id)
        d.write_spec(r.to_dict())
        ds = DATASETS.create(r.config["dataset"]["name"], **r.config["dataset"]["params"])
        x = ds.sample(600, g).numpy()
        keep = OBJECTIVES.index(r.labels["objective"]) + 1  # modes kept by this objective
        centres = ds.mode_centres().numpy()
        # samples off the kept modes move onto them (the spec's 600 samples, all near the
        # first `keep` modes)
        far = np.linalg.norm(x[:, None] - centres[None, :keep], axis=2).min(1) >= 1.0
        if far.any():
            x[far] = centres[np.arange(far.sum()) % keep] + (x[far] - x[far].mean(0)) * 0.01
        rows = [{"step": step, "modes": float(min(keep, step // 10)), "fid": float(rng.gamma(2.0) * 10),
                 "d_loss": float(rng.normal(1.0, 0.1)), "g_loss": float(rng.normal(0.7, 0.1))}
                for step in (10, 20, 30)]
        d.write_metrics(rows)
        diverged = r.labels["objective"] == "wgan" and r.labels["dataset"] == "grid" and r.seed == 1
        d.write_samples(fake=x.astype(np.float32))
        d.write_summary({"status": "diverged" if diverged else "done",
                         "diverged_step": 25 if diverged else None,
                         "metrics": {} if diverged else {k: rows[-1][k] for k in ("modes", "fid")},
                         "group": f"g{i % 4}", "timings": {"steps_per_s": 100.0}})
    return root / s.name


def small_results(tmp_path, objectives, datasets, schemes=("alternating",)):
    """A suite of objectives x schemes x datasets x 3 seeds, one evaluation each."""
    s = parse_suite({"name": "small", "base": {"evaluation": {"metrics": ["modes"]}},
                     "grid": {"dataset": list(datasets), "objective": list(objectives),
                              "scheme": list(schemes), "seed": [0, 1, 2]},
                     "table": {"rows": ["objective", "scheme"], "columns": ["dataset"],
                               "metrics": ["modes"]}})
    write_suite_record(s, tmp_path)
    for i, r in enumerate(s.runs):
        d = RunDir(tmp_path, s.name, r.run_id)
        d.write_spec(r.to_dict())
        d.write_metrics([{"step": 10, "modes": float(1 + i % 8)}])
        d.write_summary({"status": "done", "metrics": {"modes": float(1 + i % 8)}, "group": "g"})
    return tmp_path / s.name


def png(path):
    im = Image.open(path)
    im.load()
    return im


def colours_in(im: Image.Image) -> set[tuple[int, int, int]]:
    return {tuple(c) for c in np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)}


def rgb(c) -> tuple[int, int, int]:
    return tuple(int(round(v * 255)) for v in c)


def texts_inside(fig) -> list[str]:
    """What is drawn outside the figure (a cut title, label or legend): empty when nothing.
    Each top-level artist's tight box covers what it draws (the tick labels only of the
    ticks shown)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box, eps = fig.bbox, 1.0  # display pixels
    out = []
    for a in [*fig.axes, *fig.legends, *fig.texts]:
        if not a.get_visible():
            continue
        e = a.get_tightbbox(r)
        if e is None:
            continue
        if e.x0 < box.x0 - eps or e.y0 < box.y0 - eps or e.x1 > box.x1 + eps or e.y1 > box.y1 + eps:
            what = a.get_title() if hasattr(a, "get_title") and not hasattr(a, "get_texts") else type(a).__name__
            out.append(f"{type(a).__name__} {what!r} drawn over {e.bounds} in {box.bounds}")
    return out


def test_samples_grid_rows_by_datasets_with_headings(fake_results, tmp_path):
    out = tmp_path / "samples.png"
    assert main(["plot", "samples", str(fake_results), "-o", str(out)]) == 0
    data = SuiteData.load(fake_results)
    with theme():
        fig = figures.samples_figure(data)
    shown = [ax for ax in fig.axes if ax.collections]
    assert len(shown) == 16
    # table rows down (8), datasets across (2): no holes, no wrapping into blocks
    assert len({round(ax.get_position().x0, 3) for ax in shown}) == 2
    assert len({round(ax.get_position().y0, 3) for ax in shown}) == 8
    grid = np.array(fig.axes).reshape(8, 2)
    assert [ax.get_title() for ax in grid[0]] == ["dataset=ring", "dataset=grid"]
    assert [ax.get_ylabel() for ax in grid[:, 0]] == [f"objective={o}" for o in OBJECTIVES]
    assert texts_inside(fig) == []  # headings and legend whole
    # points carry the objective's colour, the 8 mode centres are drawn in black
    ring_minimax = grid[0, 0]
    (points,) = ring_minimax.collections
    assert np.allclose(points.get_facecolor()[0][:3], data.style.colour("minimax"))
    (centres,) = [line for line in ring_minimax.lines if len(line.get_xdata()) == 8]
    assert centres.get_markeredgecolor() == MODE_MARKER

    assert main(["plot", "samples", str(fake_results), "-o", str(out), "--set", "seed=1"]) == 0
    assert main(["plot", "samples", str(fake_results), "-o", str(out), "--set", "seed=7"]) == 2


def test_palette_has_no_grey_and_contrasts_with_the_mode_markers():
    for n in (3, 9, 10, 14, 18, 25):
        colours = palette(n)
        assert len(colours) == n and len(set(colours)) == n
        for c in colours:
            assert max(c) - min(c) > 0.1, (n, c)  # not a grey (InfoGAN's was 0.58 grey)
            assert contrast(c, MODE_MARKER) >= 3.0, (n, c)
            assert contrast(c, (1, 1, 1)) >= MIN_CONTRAST_ON_WHITE - 1e-9, (n, c)
    # the measure itself: WCAG's black on white is 21, a colour against itself 1
    assert contrast((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    assert contrast((0.58, 0.58, 0.58), (0.58, 0.58, 0.58)) == pytest.approx(1.0)


def test_every_figure_gives_each_objective_the_same_colour(fake_results, tmp_path):
    data = SuiteData.load(fake_results)
    assert data.style.hue == "objective" and data.style.hue_values == OBJECTIVES
    expected = {rgb(data.style.colour(o)) for o in OBJECTIVES}
    assert len(expected) == len(OBJECTIVES)
    for kind in ("metrics", "curves", "samples"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", kind, str(fake_results), "-o", str(out)]) == 0
        im = png(out)
        assert (np.asarray(im.convert("L")) < 200).mean() > 0.01, kind  # not blank
        # the legend draws each objective in its exact colour
        missing = expected - colours_in(im)
        assert not missing, (kind, missing)


def test_metric_figure_points_boxes_and_diverged_counts(fake_results):
    data = SuiteData.load(fake_results)
    with theme():
        fig = figures.metric_figure(data)
    axes = np.array(fig.axes).reshape(2, 2)  # metrics x datasets
    assert [ax.get_title() for ax in axes[0]] == ["dataset=ring", "dataset=grid"]
    assert not any(isinstance(p, PathPatch) for p in axes[0, 0].patches)  # modes: points
    assert sum(isinstance(p, PathPatch) for p in axes[1, 0].patches) == len(OBJECTIVES)  # fid: boxes
    assert [t.get_text() for t in axes[0, 1].texts] == ["1 div"]  # wgan on grid
    assert "higher is better" in axes[0, 0].get_xlabel()
    assert [t.get_text() for t in axes[0, 0].get_yticklabels()] == [f"objective={o}" for o in OBJECTIVES]
    with pytest.raises(ValueError, match="did you mean 'modes'"):
        figures.metric_figure(data, ["mode"])


def test_metric_axes_are_bounded_by_the_range_one_scale_per_metric(fake_results):
    data = SuiteData.load(fake_results)
    with theme():
        fig = figures.metric_figure(data)
    axes = np.array(fig.axes).reshape(2, 2)
    for ax, modes in zip(axes[0], (8, 25)):  # ring, grid: 0 to the number of modes
        lo, hi = ax.get_xlim()
        assert -0.05 * modes <= lo <= 0 and modes <= hi <= 1.05 * modes, (lo, hi)
        for line in ax.lines:  # every bar end (and cap) inside the range
            x = np.asarray(line.get_xdata(), dtype=float)
            assert ((x >= 0) & (x <= modes)).all(), x
        for coll in ax.collections:  # the bars themselves
            for seg in getattr(coll, "get_segments", lambda: [])():
                assert ((seg[:, 0] >= -1e-9) & (seg[:, 0] <= modes + 1e-9)).all(), seg
    for row in axes:  # one scale per metric across its facets
        assert len({ax.get_xscale() for ax in row}) == 1
    # fid's range does not depend on the dataset: its facets share their limits too
    assert axes[1, 0].get_xlim() == axes[1, 1].get_xlim()
    assert axes[0, 0].get_xlim() != axes[0, 1].get_xlim()  # modes: 8 on the ring, 25 on the grid
    assert texts_inside(fig) == []
    # the facets' axis labels never overlap (two lines, each within its panel's width)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [ax.xaxis.label.get_window_extent(r) for ax in axes[0]]
    assert boxes[0].x1 < boxes[1].x0


def test_metric_range_is_declared(fake_results):
    ring = DATASETS.create("ring")
    assert figures.metric_range("modes", ring) == (0.0, 8.0)
    assert figures.metric_range("hq_fraction", ring) == (0.0, 1.0)
    assert figures.metric_range("mode_kl", ring) == (0.0, None)  # a KL: bounded below only
    assert figures.metric_range("modes", DATASETS.create("grid")) == (0.0, 25.0)
    assert figures.metric_range("fid") == (None, None)
    assert figures.metric_range("d_loss") == (None, None)


def test_two_row_suite_point_plot_is_readable(tmp_path):
    root = small_results(tmp_path, ["minimax", "hinge"], ["ring"])
    data = SuiteData.load(root)
    with theme():
        fig = figures.metric_figure(data, ["modes"])
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_window_extent().height >= 100  # pixels at 100 dpi: a panel, not a strip
    r = fig.canvas.get_renderer()
    a, b = [t.get_window_extent(r) for t in ax.get_yticklabels()]
    assert a.y0 > b.y1 or b.y0 > a.y1  # the two row labels do not overlap
    assert texts_inside(fig) == []


def test_row_labels_name_their_fields(tmp_path):
    root = small_results(tmp_path, ["minimax", "hinge"], ["ring"],
                         schemes=["alternating", "simultaneous"])
    data = SuiteData.load(root)
    names, left_out = figures.row_names(data)
    assert set(names.values()) == {"objective=minimax", "objective=hinge",
                                   "objective=minimax, scheme=simultaneous",
                                   "objective=hinge, scheme=simultaneous"}
    assert left_out == {"scheme": "alternating"}
    assert len(set(names.values())) == len(names)  # never two rows with one label


def test_curves_of_a_column_are_overlaid(fake_results, tmp_path):
    data = SuiteData.load(fake_results)
    assert figures.curve_quantities(data) == ["modes", "fid", "d_loss", "g_loss"]
    with theme():
        fig = figures.curves_figure(data, "modes")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["dataset=ring", "dataset=grid"]
    for ax, modes in zip(panels, (8, 25)):
        # every row is a line in its column's panel, with a band over the seeds
        assert len(ax.lines) == len(OBJECTIVES)
        assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(OBJECTIVES)
        lo, hi = ax.get_ylim()
        assert -0.05 * modes <= lo <= 0 and modes <= hi <= 1.05 * modes
        for c in ax.collections:  # bands clipped to 0..modes
            for path in c.get_paths():
                y = path.vertices[:, 1]
                assert ((y >= -1e-9) & (y <= modes + 1e-9)).all()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"objective={o}" for o in OBJECTIVES]
    assert texts_inside(fig) == []
    out = tmp_path / "c.svg"
    assert main(["plot", "curves", str(fake_results), "-o", str(out), "--set", "metric=g_loss"]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
    assert main(["plot", "curves", str(fake_results), "-o", str(out), "--set", "metric=nope"]) == 2
    assert main(["plot", "curves", str(fake_results), "-o", str(out), "--set", "metrc=modes"]) == 2
    assert main(["plot", "curves", str(fake_results), "-o", str(out), "--set", "modes"]) == 2


def test_plot_errors_write_nothing(fake_results, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["plot", "dirac", str(fake_results), "-o", str(out)]) == 2
    assert "dirac_theta" in capsys.readouterr().err and not out.exists()
    assert main(["plot", "metrics", str(fake_results), "-o", str(tmp_path / "x.gif")]) == 2
    assert "suffix" in capsys.readouterr().err
    assert main(["plot", "metrics", str(fake_results), "-o", str(out), "--set", "kind=violin"]) == 2
    assert not out.exists()
    assert main(["list", "plots"]) == 0
    listed = capsys.readouterr().out
    assert all(k in listed for k in ("metrics", "curves", "samples", "dirac"))



def test_samples_of_images_are_mosaics(tmp_path):
    s = parse_suite({"name": "img", "base": {"dataset": "digits", "evaluation": {"samples": 20, "metrics": ["mmd"]}},
                     "grid": {"objective": ["minimax", "hinge"]},
                     "table": {"rows": ["objective"], "columns": ["dataset"], "metrics": ["mmd"]}})
    write_suite_record(s, tmp_path)
    rng = np.random.default_rng(0)
    for r in s.runs:
        d = RunDir(tmp_path, s.name, r.run_id)
        d.write_spec(r.to_dict())
        d.write_metrics([{"step": 10, "mmd": 5.0}])
        d.write_samples(fake=rng.uniform(-1, 1, (20, 1, 8, 8)).astype(np.float32))
        d.write_summary({"status": "done", "metrics": {"mmd": 5.0}, "group": "g"})
    data = SuiteData.load(tmp_path / "img")
    with theme():
        fig = figures.samples_figure(data)
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 2
    for ax in shown:
        (image,) = ax.images
        assert image.get_array().shape == (32, 32)  # 4 x 4 digits of 8 x 8


def test_one_runs_samples_as_a_png(fake_results, tmp_path):
    data = SuiteData.load(fake_results)
    rid = data.done["run_id"].iloc[0]
    im = Image.open(io.BytesIO(figures.run_samples_png(data, rid)))
    assert im.format == "PNG" and min(im.size) > 300
    assert (np.asarray(im.convert("L")) < 200).mean() > 0.01  # ink: points and rings
    # a run without samples.npz has no picture
    (fake_results / rid / "samples.npz").rename(tmp_path / "moved.npz")
    try:
        assert figures.run_samples_png(data, rid) is None
    finally:
        (tmp_path / "moved.npz").rename(fake_results / rid / "samples.npz")
