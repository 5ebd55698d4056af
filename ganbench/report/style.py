"""One look for every figure: seaborn's whitegrid theme at paper scale, a colour per
objective and a line style / marker per scheme, fixed once per suite so that an objective
has the same colour in the point plots, the training curves, the samples and the Dirac-GAN
trajectories."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

# font sizes in points: figures are drawn at their printed size, so these are what a reader sees
RC = {
    "font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "xtick.labelsize": 6,
    "ytick.labelsize": 6, "legend.fontsize": 6.5, "legend.title_fontsize": 7,
    "figure.titlesize": 8, "axes.titlepad": 3, "lines.linewidth": 1.0,
    "savefig.facecolor": "white", "figure.facecolor": "white",
}
DPI = 150
LINESTYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
# the samples figure's mode centres: black, so that every palette colour stands out against
# them (the palette has no greys)
MODE_MARKER = (0.0, 0.0, 0.0)
# metrics drawn as box plots (spread over seeds matters more than the mean: Lucic et al. 2018)
BOX_METRICS = ("fid", "kid")


@contextlib.contextmanager
def theme() -> Iterator[None]:
    """seaborn's theme for the duration of a figure, without touching global state."""
    import matplotlib as mpl
    import seaborn as sns

    with mpl.rc_context():  # restores every rcParam set_theme changes
        sns.set_theme(context="paper", style="whitegrid", rc=RC)
        yield


def palette(n: int) -> list[tuple[float, float, float]]:
    """n distinguishable colours, none of them grey (a grey objective would vanish against
    the mode markers and the grid): seaborn's colour-blind palette without its grey up to
    9; up to 18 the dark hues of tab20 then their light partners (neighbours in the grid
    differ in hue), its greys left out; beyond, husl."""
    import seaborn as sns

    def coloured(cs):  # a grey has equal channels; a pale colour is darkened for the page
        return [_readable(c) for c in cs if max(c) - min(c) > 0.1]

    if n <= 9:
        return coloured(sns.color_palette("colorblind", 10))[:n]
    if n <= 18:
        tab = list(sns.color_palette("tab20", 20))
        return coloured(tab[0::2] + tab[1::2])[:n]
    return list(sns.color_palette("husl", n))


def luminance(c) -> float:
    """WCAG relative luminance of an sRGB colour in [0, 1]."""
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


# the least contrast a palette colour has against the white page (a yellow is darkened)
MIN_CONTRAST_ON_WHITE = 1.8


def _readable(c) -> tuple[float, float, float]:
    c = tuple(float(v) for v in c[:3])
    while contrast(c, (1.0, 1.0, 1.0)) < MIN_CONTRAST_ON_WHITE:
        c = tuple(0.92 * v for v in c)
    return c


@dataclass
class Style:
    """Colour per value of ``hue`` (the objective axis) and a line style / marker per value
    of ``dash`` (the scheme axis), in the suite's grid order."""

    hue: str | None
    hue_values: list[str] = field(default_factory=list)
    dash: str | None = None
    dash_values: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._colours = dict(zip(self.hue_values, palette(max(len(self.hue_values), 1))))

    def colour(self, value: object) -> tuple[float, float, float]:
        return self._colours.get(str(value), (0.3, 0.3, 0.3))

    @property
    def colours(self) -> dict[str, tuple[float, float, float]]:
        return dict(self._colours)

    def linestyle(self, value: object):
        v = str(value)
        return LINESTYLES[self.dash_values.index(v) % len(LINESTYLES)] if v in self.dash_values else "-"

    def marker(self, value: object) -> str:
        v = str(value)
        return MARKERS[self.dash_values.index(v) % len(MARKERS)] if v in self.dash_values else "o"

    def legend_handles(self):
        """(handles, labels) of the colour legend: one line per objective."""
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=self.colour(v), marker="o", ms=4, lw=1.2)
                   for v in self.hue_values]
        return handles, list(self.hue_values)

    def dash_handles(self):
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="0.3", ls=self.linestyle(v), marker=self.marker(v),
                          ms=3, lw=1.0) for v in self.dash_values]
        return handles, list(self.dash_values)
