"""Ranks across a whole table: each row's mean rank over the (column x metric) cells,
Friedman's test that the rows rank alike, and Nemenyi's critical difference (Demšar 2006),
drawn as a critical-difference diagram.

Only ranked metrics (with a direction) count, and only blocks in which every kept row is
complete: Friedman's test needs a complete design. Rows complete nowhere are dropped
first, then, while fewer than two blocks remain, the row with the fewest complete blocks.
Blocks of one column are not independent (modes and hq_fraction move together); the
legend says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ganbench.util import stats


@dataclass
class RankTable:
    rows: list[str]               # row labels kept, in table order
    dropped: list[str]            # rows left out (incomplete)
    blocks: list[str]             # "column / metric" labels ranked
    mean_rank: list[float]
    result: stats.Ranks
    alpha: float

    @property
    def ranked(self) -> bool:
        return math.isfinite(self.result.p_value)

    def cliques(self) -> list[tuple[int, int]]:
        """Maximal runs (first, last) of rows, in rank order, within the critical difference
        of each other: the bars of the CD diagram (only when Friedman rejects)."""
        if not self.ranked or self.result.p_value > self.alpha:
            return []
        order = sorted(range(len(self.rows)), key=lambda i: self.mean_rank[i])
        r = [self.mean_rank[i] for i in order]
        out: list[tuple[int, int]] = []
        for i in range(len(r)):
            j = i
            while j + 1 < len(r) and r[j + 1] - r[i] < self.result.cd:
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in out):
                out.append((i, j))
        return out

    def lines(self, digits: int = 2) -> list[str]:
        if not self.rows:
            return ["ranks: no row is complete in any ranked cell"]
        order = sorted(range(len(self.rows)), key=lambda i: self.mean_rank[i])
        width = max(len(r) for r in self.rows)
        out = [f"mean rank over {len(self.blocks)} ranked cells (1 = best):"]
        out += [f"  {self.rows[i]:<{width}}  {self.mean_rank[i]:.{digits}f}" for i in order]
        res = self.result
        if not self.ranked:
            out.append("  not tested: Friedman's test needs at least 3 rows and 2 cells")
        else:
            verdict = ("the rows do not all rank alike" if res.p_value <= self.alpha
                       else "no difference in ranks shown")
            out.append(f"  Friedman chi2 = {res.statistic:.3g}, p = {res.p_value:.3g} "
                       f"({verdict} at alpha = {self.alpha:g}); Nemenyi critical difference "
                       f"{res.cd:.{digits}f}: rows whose mean ranks differ by less are not "
                       "separated")
        order_names = [self.rows[i] for i in order]
        for a, b in self.cliques():
            out.append(f"  not separated: {', '.join(order_names[a:b + 1])}")
        if self.dropped:
            out.append(f"  left out (incomplete in the ranked cells): {', '.join(self.dropped)}")
        out.append("  cells of one column are not independent (e.g. modes and hq_fraction), "
                   "so the test is approximate")
        return out


def rank_table(rows: list[str], blocks: list[str], means: np.ndarray, directions: list[str],
               alpha: float = 0.05) -> RankTable:
    """``means[r, b]``: row r's mean in block b, NaN where the cell is incomplete;
    ``directions[b]``: max or min."""
    stats.check_alpha(alpha)
    x = np.asarray(means, dtype=float).reshape(len(rows), len(blocks))
    sign = np.array([1.0 if d == "max" else -1.0 for d in directions])
    keep = [i for i in range(len(rows)) if np.isfinite(x[i]).any()]
    while True:
        full = [b for b in range(len(blocks)) if np.isfinite(x[keep, b]).all()] if keep else []
        if len(full) >= 2 or len(keep) <= 2:
            break
        counts = [int(np.isfinite(x[i]).sum()) for i in keep]
        keep.pop(int(np.argmin(counts)))
    dropped = [rows[i] for i in range(len(rows)) if i not in keep]
    scores = (x[np.ix_(keep, full)] * sign[full]).T if keep and full else np.zeros((0, len(keep)))
    res = stats.friedman(scores, alpha)
    return RankTable([rows[i] for i in keep], dropped, [blocks[b] for b in full],
                     res.mean_rank, res, alpha)


def cd_diagram(t: RankTable, ax=None):
    """Draw the critical-difference diagram of ``t`` on a matplotlib axis (made if None)."""
    import matplotlib.pyplot as plt

    k = len(t.rows)
    if ax is None:
        # the row labels sit left and right of the axis: the figure is as wide as the axis
        # plus the longest label on each side, so that none is cut
        label = max(len(f"{r} (0.00)") for r in t.rows) * 8 * 0.6 / 72 + 0.15  # inches at 8 pt
        core = max(4.0, 0.6 * k)
        width, height = core + 2 * label, 1.2 + 0.28 * k
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((label / width, 0.02, core / width, 0.96))
    order = sorted(range(k), key=lambda i: t.mean_rank[i])
    ax.set_xlim(0.5, max(k, 2) + 0.5)
    ax.set_ylim(-(math.ceil(k / 2) + 1), 1.6)
    ax.axhline(0, color="black", lw=1)
    for r in range(1, k + 1):
        ax.plot([r, r], [0, 0.15], color="black", lw=1)
        ax.text(r, 0.35, str(r), ha="center", va="bottom", fontsize=8)
    half = math.ceil(k / 2)
    for pos, i in enumerate(order):
        x = t.mean_rank[i]
        left = pos < half
        y = -(pos if left else k - 1 - pos) - 1
        xe = 0.6 if left else max(k, 2) + 0.4
        ax.plot([x, x, xe], [0, y, y], color="0.3", lw=0.8)
        ax.text(xe + (-0.05 if left else 0.05), y, f"{t.rows[i]} ({x:.2f})", fontsize=8,
                ha="right" if left else "left", va="center")
    for n, (a, b) in enumerate(t.cliques()):
        y = -0.4 - 0.25 * n
        ax.plot([t.mean_rank[order[a]] - 0.03, t.mean_rank[order[b]] + 0.03], [y, y],
                color="tab:red", lw=3, solid_capstyle="round")
    if t.ranked:
        cd = t.result.cd
        ax.plot([1, 1 + cd], [1.1, 1.1], color="black", lw=1.5)
        ax.text(1 + cd / 2, 1.2, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    ax.axis("off")
    return ax


def from_table(t, alpha: float = 0.05) -> RankTable:
    """The rank table of a built table (``report.tables.Table``): its rows over every
    (column, ranked metric) cell, complete cells only."""
    from ganbench.metrics.registry import direction

    blocks = [(ck, m) for ck in t.col_keys for m in t.metrics if direction(m) in ("max", "min")]
    means = np.full((len(t.row_keys), len(blocks)), np.nan)
    for i, rk in enumerate(t.row_keys):
        for j, (ck, m) in enumerate(blocks):
            c = t.cells.get((rk, ck, m))
            if c is not None and c.complete:
                means[i, j] = c.mean
    return rank_table([" / ".join(rk) for rk in t.row_keys],
                      [" / ".join([*ck, m]) for ck, m in blocks], means,
                      [direction(m) for _, m in blocks], alpha)
