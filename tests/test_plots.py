"""Figures (`ganbench plot KIND`): drawn from results written directly through the results
helpers (no training), so that a suite of many rows costs nothing."""

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
from ganbench.report.style import theme
from ganbench.results import RunDir, write_suite_record
from ganbench.suite import parse_suite

OBJECTIVES = ["minimax", "nonsaturating", "hinge", "lsgan", "wgan", "rsgan", "ragan", "fgan_kl"]


@pytest.fixture(scope="module")
def fake_results(tmp_path_factory):
    """8 objectives x ring, grid x 2 seeds; 3 evaluations each; samples near the modes (the
    first objectives cover fewer modes); one diverged run. Metrics modes and fid."""
    root = tmp_path_factory.mktemp("plots")
    s = parse_suite({"name": "many", "base": {"evaluation": {"metrics": ["modes", "fid"]}},
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
        x = x[np.linalg.norm(x[:, None] - centres[None, :keep], axis=2).min(1) < 1.0]
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


def png(path):
    im = Image.open(path)
    im.load()
    return im


def colours_in(im: Image.Image) -> set[tuple[int, int, int]]:
    return {tuple(c) for c in np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)}


def rgb(c) -> tuple[int, int, int]:
    return tuple(int(round(v * 255)) for v in c)


def test_samples_grid_is_compact(fake_results, tmp_path):
    out = tmp_path / "samples.png"
    assert main(["plot", "samples", str(fake_results), "-o", str(out)]) == 0
    im = png(out)
    w, h = im.size
    # 16 cells wrapped into blocks of whole rows: about square, not one tall column
    assert 0.6 < w / h < 2.0 and h < 2500, im.size
    data = SuiteData.load(fake_results)
    with theme():
        fig = figures.samples_figure(data)
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == 16
    # 2 blocks of 4 table rows, each block 2 datasets wide: 4 x 4 panels
    assert len({round(ax.get_position().x0, 3) for ax in shown}) == 4
    assert len({round(ax.get_position().y0, 3) for ax in shown}) == 4
    # points carry the objective's colour, mode centres are drawn
    ring_minimax = next(ax for ax in shown if ax.get_title().startswith("minimax") and "ring" in ax.get_title())
    (points,) = ring_minimax.collections
    assert np.allclose(points.get_facecolor()[0][:3], data.style.colour("minimax"))
    assert any(len(line.get_xdata()) == 8 for line in ring_minimax.lines)  # the 8 centres

    assert main(["plot", "samples", str(fake_results), "-o", str(out), "--set", "seed=1"]) == 0
    assert main(["plot", "samples", str(fake_results), "-o", str(out), "--set", "seed=7"]) == 2


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
    assert [ax.get_title() for ax in axes[0]] == ["ring", "grid"]
    assert not any(isinstance(p, PathPatch) for p in axes[0, 0].patches)  # modes: points
    assert sum(isinstance(p, PathPatch) for p in axes[1, 0].patches) == len(OBJECTIVES)  # fid: boxes
    assert [t.get_text() for t in axes[0, 1].texts] == ["1 div"]  # wgan on grid
    assert "higher is better" in axes[0, 0].get_xlabel()
    with pytest.raises(ValueError, match="did you mean 'modes'"):
        figures.metric_figure(data, ["mode"])


def test_curves_band_over_seeds(fake_results, tmp_path):
    data = SuiteData.load(fake_results)
    assert figures.curve_quantities(data) == ["modes", "fid", "d_loss", "g_loss"]
    with theme():
        fig = figures.curves_figure(data, "fid")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == OBJECTIVES
    # a band over the two seeds per dataset
    assert all(sum(isinstance(c, PolyCollection) for c in ax.collections) == 2 for ax in panels)
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
    s = parse_suite({"name": "img", "base": {"dataset": "digits", "evaluation": {"metrics": ["mmd"]}},
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
