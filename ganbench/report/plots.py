"""Figures from results on disk (never from a live run), one file each.

A figure kind is a function ``fn(results_dir, out, **options) -> Path`` registered in
``PLOTS`` under a short name; ``ganbench plot KIND RESULTS_DIR -o FILE [--set KEY=VALUE]``
draws it and ``ganbench list plots`` lists the kinds with their options. The drawing lives
in ``ganbench.report.figures`` so that ``ganbench report`` embeds the very same figures.
Files are written atomically; the format follows the file's suffix (png, pdf or svg).
"""

from __future__ import annotations

from pathlib import Path

from ganbench.registry import Functions, Registry
from ganbench.report import figures
from ganbench.report.data import SuiteData, label_axes, load_history, run_config  # noqa: F401
from ganbench.report.style import theme
from ganbench.util.atomic import atomic_write_bytes

# figures are plug-ins like any other: ``ganbench list plots``
PLOTS = REGISTRY = Registry("plots", base=Functions(("results_dir", "out")))
FORMATS = ("png", "pdf", "svg")


def plot(name: str, description: str, reference: str = "this project"):
    return PLOTS.register(name, description=description, reference=reference)


def check_output(out: Path | str) -> Path:
    out = Path(out)
    if out.suffix.lstrip(".").lower() not in FORMATS:
        raise ValueError(f"cannot write {out}: the suffix must be one of {', '.join(FORMATS)}")
    return out


def save(fig, out: Path | str) -> Path:
    out = check_output(out)
    atomic_write_bytes(out, figures.to_bytes(fig, out.suffix.lstrip(".").lower()))
    return out


def _draw(results_dir: Path | str, out: Path | str, draw, **options) -> Path:
    out = check_output(out)  # before the (slower) drawing
    data = SuiteData.load(results_dir)
    with theme():
        return save(draw(data, **options), out)


@plot("metrics", "each table metric per row: mean ± std over seeds and every seed, faceted by "
                 "the table's columns (box plots for FID-like metrics)",
      reference="box plots as Lucic et al. 2018, Are GANs Created Equal?")
def metrics_plot(results_dir: Path | str, out: Path | str, metric: str | None = None,
                 kind: str = "auto") -> Path:
    """``metric`` (default: every metric of the table, one figure row each); ``kind``
    auto (box plots for fid/kid), point or box."""
    return _draw(results_dir, out, figures.metric_figure,
                 metrics=[metric] if metric else None, kind=kind)


@plot("curves", "a metric (or loss) against the training step, one panel per table column "
                "with every row overlaid, a band of one std over seeds")
def curves_plot(results_dir: Path | str, out: Path | str, metric: str | None = None) -> Path:
    """``metric``: a table metric or d_loss / g_loss (default: the table's first metric)."""
    return _draw(results_dir, out, figures.curves_figure, metric=metric)


@plot("samples", "final samples of one seed per table cell, table rows down and columns "
                 "across with headings, over the mode centres (2-D data) or a mosaic (images)",
      reference="as Metz et al. 2017, Unrolled GANs, Figure 2")
def samples_plot(results_dir: Path | str, out: Path | str, seed: int | None = None,
                 max_points: int = 1500) -> Path:
    """``seed``: the seed to show (default: per cell the lowest seed that finished)."""
    return _draw(results_dir, out, figures.samples_figure, seed=seed, max_points=max_points)


@plot("dirac", "Dirac-GAN trajectories of (theta, psi), one panel per setting, a line per "
               "scheme and seed", reference="Mescheder, Geiger & Nowozin 2018, Figure 3")
def dirac_plot(results_dir: Path | str, out: Path | str, lim: float = 2.5) -> Path:
    """``lim``: the view is [-lim, lim]^2."""
    return _draw(results_dir, out, figures.dirac_figure, lim=lim)
