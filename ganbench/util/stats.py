"""The statistics behind every claim a table makes, on samples over seeds.

Each function takes plain arrays (one value per seed) and returns numbers and decisions;
tables, ``compare``, the rank table and adaptive seeds only format or act on them.

* ``mean_interval``: the interval of the mean (Student's t by default; a percentile
  bootstrap through ``scipy.stats.bootstrap`` on request).
* ``top_group``: the best cell and every cell not significantly worse than it: a one-sided
  Welch test against the best, the p-values Holm-corrected over the column. The best is
  chosen from the same data; the test suite simulates that a cell truly tied with the best
  still leaves the group at most ``alpha`` of the time (uncorrected tests do not).
* ``verdict``: ours against a published value: ``agrees`` (two one-sided tests within a
  declared margin), ``differs`` (Welch's test rejects equality) or ``inconclusive``, with
  the seeds that would likely resolve it; a published bound is tested one-sided; an exact
  value with a tolerance (a deterministic truth) agrees when every seed lies within it.
* ``compare``: the difference of two rows' means, its interval, p-value and Hedges' g.
* ``friedman``: mean ranks, the Friedman test and the Nemenyi critical difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ganbench.util.choices import CORRECTIONS

INTERVALS = ("t", "bootstrap")
VERDICTS = ("agrees", "differs", "inconclusive")
POWER = 0.8          # the chance of a decision that "seeds that would resolve it" asks for
MAX_SEEDS = 1000     # beyond this a verdict is called unresolvable by our seeds


def check_alpha(alpha: float, where: str = "alpha") -> float:
    """``alpha`` as a float in (0, 1), or a ValueError that says where and what."""
    ok = (isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
          and math.isfinite(alpha) and 0.0 < alpha < 1.0)
    if not ok:
        raise ValueError(f"{where}: expected a significance level strictly between 0 and 1, "
                         f"got {alpha!r}")
    return float(alpha)


def _values(x: Sequence[float] | np.ndarray | None) -> np.ndarray:
    a = np.asarray([] if x is None else x, dtype=float).ravel()
    return a[np.isfinite(a)]


# --- the interval of the mean ----------------------------------------------------------------


def mean_interval(values, level: float = 0.95, method: str = "t",
                  resamples: int = 9999, seed: int = 0) -> tuple[float, float]:
    """A ``level`` confidence interval of the mean of ``values`` (NaNs without two values).

    ``t``: Student's t, mean ± t_{(1+level)/2, n-1} s/√n. ``bootstrap``: the percentile
    bootstrap of scipy.stats.bootstrap with a fixed seed (deterministic); with 3 seeds it
    is too narrow, which is why t is the default."""
    if method not in INTERVALS:
        raise ValueError(f"interval: expected one of {', '.join(INTERVALS)}, got {method!r}")
    v = _values(values)
    n = len(v)
    if n < 2:
        return (math.nan, math.nan)
    m, s = float(v.mean()), float(v.std(ddof=1))
    if s == 0.0:
        return (m, m)
    if method == "t":
        h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * s / math.sqrt(n)
        return (m - h, m + h)
    res = stats.bootstrap((v,), np.mean, confidence_level=level, n_resamples=resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


# --- Welch's test ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Welch:
    diff: float      # mean(a) - mean(b)
    se: float
    df: float

    def p(self, alternative: str = "two-sided") -> float:
        """p-value of H1: diff != 0 (``two-sided``), diff > 0 (``greater``), diff < 0."""
        if self.se == 0.0:  # no spread: the sign of the difference is certain
            if alternative == "two-sided":
                return 0.0 if self.diff != 0 else 1.0
            up = self.diff > 0 if alternative == "greater" else self.diff < 0
            return 0.0 if up else 1.0
        t = self.diff / self.se
        if alternative == "two-sided":
            return float(2 * stats.t.sf(abs(t), self.df))
        return float(stats.t.sf(t if alternative == "greater" else -t, self.df))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        if self.se == 0.0:
            return (self.diff, self.diff)
        h = float(stats.t.ppf(0.5 + level / 2, self.df)) * self.se
        return (self.diff - h, self.diff + h)


def welch_df(va: float, vb: float, dfa: float, dfb: float) -> float:
    """Welch-Satterthwaite degrees of freedom of va + vb (variances of means); inf df = known."""
    den = (va * va / dfa if va and math.isfinite(dfa) else 0.0) + \
          (vb * vb / dfb if vb and math.isfinite(dfb) else 0.0)
    return (va + vb) ** 2 / den if den > 0 else math.inf


def welch(a, b) -> Welch:
    """Welch's unequal-variance comparison of two samples over seeds (each with ≥ 2 values)."""
    a, b = _values(a), _values(b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("welch needs at least two values on each side")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = welch_df(va, vb, len(a) - 1, len(b) - 1) if se > 0 else math.inf
    return Welch(float(a.mean() - b.mean()), se, df)


def adjust(p: Sequence[float], correction: str = "holm") -> list[float]:
    """p-values adjusted for testing them together: Holm's step-down and Bonferroni (the
    family-wise error), Benjamini-Hochberg (scipy's, the false discovery rate) or none."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction: expected one of {', '.join(CORRECTIONS)}, "
                         f"got {correction!r}")
    p = np.asarray(p, dtype=float)
    m = len(p)
    if correction == "none" or m == 0:
        return [float(x) for x in p]
    if correction == "bonferroni":
        return [float(x) for x in np.minimum(1.0, p * m)]
    if correction == "bh":
        return [float(x) for x in stats.false_discovery_control(p, method="bh")]
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(1.0, stepped)
    return [float(x) for x in out]


# --- top groups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    top: bool | None   # None: not tested (fewer than 2 values, or too few testable cells)
    p: float | None    # corrected p-value of "this cell is worse than the best"
    best: bool = False  # the best cell of the column
    tie: bool = False   # the same values as the best cell (e.g. two names of one loss)

    @property
    def decided(self) -> bool:
        """More seeds cannot change it: the best, tied with it, or shown worse."""
        return self.best or self.tie or self.top is False


def top_group(samples: Sequence, direction: str, alpha: float = 0.05,
              correction: str = "holm") -> list[Membership]:
    """Which cells are in the top group. ``samples[i]`` holds cell i's values over seeds, or
    None for a cell that is not to be tested (incomplete); ``direction`` is max or min.

    The best cell (by mean) is in; every other testable cell is tested for being worse
    than it (one-sided Welch), the p-values corrected over the column (Holm by default)."""
    if direction not in ("max", "min"):
        raise ValueError(f"direction: expected max or min, got {direction!r}")
    check_alpha(alpha)
    sign = 1.0 if direction == "max" else -1.0
    vals = [None if s is None else _values(s) for s in samples]
    testable = [i for i, v in enumerate(vals) if v is not None and len(v) >= 2]
    out = [Membership(None, None)] * len(vals)
    if len(testable) < 2:
        return out
    best = max(testable, key=lambda i: sign * float(vals[i].mean()))
    others = [i for i in testable if i != best]
    p = []
    for i in others:
        w = welch(vals[best], vals[i])  # best - i, > 0 under "max" means i is worse
        p.append(Welch(sign * w.diff, w.se, w.df).p("greater"))
    out[best] = Membership(True, 1.0, best=True)
    same = np.sort(vals[best])
    for i, q in zip(others, adjust(p, correction)):
        tie = len(vals[i]) == len(same) and bool(np.array_equal(np.sort(vals[i]), same))
        out[i] = Membership(tie or q > alpha, 1.0 if tie else q, tie=tie)
    return out


# --- verdicts against published values ---------------------------------------------------------


@dataclass(frozen=True)
class PublishedValue:
    """A published mean with the standard error of that mean (0: a constant) and the degrees
    of freedom behind it (inf: treat as known); or a bound (``below`` / ``above``); or an
    exact value ``mean`` with a tolerance ``tol`` (a computed truth, not a seed statistic)."""

    mean: float | None = None
    se: float = 0.0
    df: float = math.inf
    below: float | None = None
    above: float | None = None
    tol: float | None = None


def published_value(mean: float | None, pm: float | None, spread: str, runs: int | None,
                    below: float | None = None, above: float | None = None,
                    tol: float | None = None) -> PublishedValue:
    """A reference block's value as a mean and its standard error.

    ``std`` over ``runs`` runs gives std/√runs with runs - 1 degrees of freedom (without
    ``runs``, the std itself, as if from one run: the conservative reading); ``sem`` is the
    standard error itself; ``ci95`` is the half-width of a t (or, without runs, normal)
    interval; ``none`` or no ± is a constant; ``tol`` makes ``mean`` an exact value."""
    if tol is not None:
        return PublishedValue(mean=mean, tol=tol)
    if below is not None or above is not None:
        return PublishedValue(below=below, above=above)
    if pm is None or spread == "none" or pm == 0:
        return PublishedValue(mean=mean)
    df = runs - 1 if runs and runs > 1 else math.inf
    if spread == "std":
        se = pm / math.sqrt(runs) if runs else pm
    elif spread == "sem":
        se = pm
    elif spread == "ci95":
        se = pm / (float(stats.t.ppf(0.975, df)) if math.isfinite(df) else 1.959963984540054)
    else:
        raise ValueError(f"spread: expected std, sem, ci95 or none, got {spread!r}")
    return PublishedValue(mean=mean, se=float(se), df=float(df))


@dataclass(frozen=True)
class Verdict:
    verdict: str                     # agrees | differs | inconclusive
    diff: float                      # our mean - published (for a bound: - the bound)
    ci: tuple[float, float]          # 1 - alpha interval of diff (NaN when untestable)
    p_value: float                   # of the test that decided (or of equality when none did)
    seeds_needed: int | None = None  # inconclusive: our seeds that would likely resolve it
    reason: str = ""

    def text(self, digits: int = 3) -> str:
        lo, hi = self.ci
        ci = "" if not math.isfinite(lo) else f", diff [{lo:+.{digits}g}, {hi:+.{digits}g}]"
        p = "" if not math.isfinite(self.p_value) else f", p={self.p_value:.2g}"
        more = ""
        if self.verdict == "inconclusive":
            more = (f", ~{self.seeds_needed} seeds would resolve it" if self.seeds_needed
                    else f", {self.reason}" if self.reason else "")
        return f"{self.verdict}{ci}{p}{more}"


def _moments(ours) -> tuple[int, float, float]:
    v = _values(ours)
    return len(v), (float(v.mean()) if len(v) else math.nan), \
        (float(v.std(ddof=1)) if len(v) > 1 else math.nan)


def _decide(n: int, mean: float, s: float, pub: PublishedValue, margin: float | None,
            alpha: float) -> tuple[str, float, tuple[float, float], float]:
    """The decision on our moments (n ≥ 2): verdict, diff, 1 - alpha interval, p-value."""
    vo = s * s / n
    se = math.sqrt(vo + pub.se ** 2)
    df = welch_df(vo, pub.se ** 2, n - 1, pub.df) if se > 0 else math.inf
    if pub.below is not None or pub.above is not None:
        bound = pub.below if pub.below is not None else pub.above
        sign = 1.0 if pub.below is not None else -1.0   # > 0: on the claimed side
        w = Welch(sign * (bound - mean), se, df)
        p_agree, p_differ = w.p("greater"), w.p("less")
        ci = Welch(mean - bound, se, df).interval(1 - 2 * alpha)
        if p_agree <= alpha:
            return "agrees", mean - bound, ci, p_agree
        if p_differ <= alpha:
            return "differs", mean - bound, ci, p_differ
        return "inconclusive", mean - bound, ci, p_agree
    w = Welch(mean - pub.mean, se, df)
    if margin is not None and margin > 0:
        # TOST: both one-sided nulls |diff| ≥ margin rejected
        p_tost = max(Welch(w.diff + margin, se, df).p("greater"),
                     Welch(w.diff - margin, se, df).p("less"))
        if p_tost <= alpha:
            return "agrees", w.diff, w.interval(1 - 2 * alpha), p_tost
    p_eq = w.p("two-sided")
    if p_eq <= alpha:
        return "differs", w.diff, w.interval(1 - alpha), p_eq
    return "inconclusive", w.diff, w.interval(1 - alpha), p_eq


def verdict(ours, pub: PublishedValue, margin: float | None = None,
            alpha: float = 0.05, resolve: bool = True) -> Verdict:
    """Our values over seeds against one published value (see the module's docstring).
    ``resolve``: estimate the seeds that would decide an inconclusive verdict."""
    check_alpha(alpha)
    if pub.tol is not None:
        return exact_verdict(ours, pub.mean, pub.tol)
    n, mean, s = _moments(ours)
    if n < 2:
        return Verdict("inconclusive", mean - (pub.mean if pub.mean is not None else math.nan),
                       (math.nan, math.nan), math.nan, None,
                       "fewer than 2 values: no spread to test with")
    v, diff, ci, p = _decide(n, mean, s, pub, margin, alpha)
    if v != "inconclusive" or not resolve:
        return Verdict(v, diff, ci, p)
    need = seeds_to_resolve(n, diff, s, pub, margin, alpha)
    why = "" if need else (f"not resolvable within {MAX_SEEDS} seeds at this effect"
                           + ("" if margin else " (no margin declared, so it cannot agree)"))
    return Verdict(v, diff, ci, p, need, why)


def exact_verdict(ours, exact: float, tol: float) -> Verdict:
    """Ours against an exact value: agrees when every seed's value lies within ``tol`` of
    it, else differs. No test over seeds: the truth is computed, not sampled, so one seed
    decides, and where randomness matters every seed must be inside the tolerance."""
    v = np.asarray([] if ours is None else ours, dtype=float).ravel()
    if not len(v):
        return Verdict("inconclusive", math.nan, (math.nan, math.nan), math.nan, None,
                       "no values")
    if not np.all(np.isfinite(v)):  # a NaN is never within a tolerance
        return Verdict("differs", math.nan, (math.nan, math.nan), math.nan, None,
                       "a seed's value is not finite")
    lo, hi = float(v.min()) - exact, float(v.max()) - exact
    inside = bool(np.all(np.abs(v - exact) <= tol))
    return Verdict("agrees" if inside else "differs", float(v.mean()) - exact, (lo, hi),
                   math.nan, None, f"every seed within {tol:g}" if inside
                   else f"a seed is {max(abs(lo), abs(hi)):.3g} away (tolerance {tol:g})")


def resolve_power(n: int, diff: float, sd: float, pub: PublishedValue,
                  margin: float | None, alpha: float = 0.05, nodes: int = 400) -> float:
    """The chance that ``n`` normal seeds reach a decision (agrees or differs) when the
    true difference is ``diff`` (for a bound: our mean minus the bound) and our seed std is
    ``sd``; the published value is held fixed, as it is.

    Exact for normal seeds up to quadrature: given the sample std s, the mean's difference
    D ~ N(diff, sd²/n) is independent of it, and the verdict is a union of intervals of D
    whose ends depend on s only. So the power is the average over s (``nodes`` quantiles of
    its scaled chi distribution) of a normal probability of those intervals."""
    if n < 2:
        return 0.0
    if sd == 0.0:
        s = np.zeros(1)
    else:
        u = (np.arange(nodes) + 0.5) / nodes
        s = sd * np.sqrt(stats.chi2.ppf(u, n - 1) / (n - 1))
    vo = s * s / n
    se = np.sqrt(vo + pub.se ** 2)
    df = np.array([welch_df(v, pub.se ** 2, n - 1, pub.df) for v in vo])
    df = np.minimum(df, 1e7)
    sdm = sd / math.sqrt(n)

    def cdf(x: np.ndarray) -> np.ndarray:  # P(D <= x)
        if sdm == 0.0:
            return (diff <= x).astype(float)
        return stats.norm.cdf((x - diff) / sdm)

    def mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.where(hi > lo, cdf(hi) - cdf(lo), 0.0)

    if pub.below is not None or pub.above is not None:
        ta = stats.t.ppf(1 - alpha, df) * se
        p = 1.0 - mass(-ta, ta)   # decided unless D lies within ± t se of the bound
    else:
        tc = stats.t.ppf(1 - alpha / 2, df) * se
        undecided = mass(-tc, tc)
        if margin:
            ta = stats.t.ppf(1 - alpha, df) * se
            lo, hi = np.maximum(-tc, -margin + ta), np.minimum(tc, margin - ta)
            undecided = undecided - mass(lo, hi)   # inside the equivalence region: agrees
        p = 1.0 - undecided
    return float(np.clip(p, 0.0, 1.0).mean())


def seeds_to_resolve(n: int, diff: float, sd: float, pub: PublishedValue,
                     margin: float | None, alpha: float = 0.05,
                     power: float = POWER) -> int | None:
    """The fewest seeds (more than ``n``) whose verdict is decided with chance ``power`` at
    the observed difference and spread; None when no count up to MAX_SEEDS does."""
    if not (math.isfinite(diff) and math.isfinite(sd)):
        return None
    def ok(k: int) -> bool:
        return resolve_power(k, diff, sd, pub, margin, alpha) >= power
    if not ok(MAX_SEEDS):
        return None
    lo, hi = n, MAX_SEEDS  # power grows with the seeds: bisect for the first that suffices
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


# --- two rows compared -------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float                  # mean_a - mean_b
    ci: tuple[float, float]      # the interval of diff (Welch)
    p_value: float               # two-sided Welch (before any correction)
    hedges_g: float              # standardised difference, small-sample corrected


def hedges_g(a, b) -> float:
    """(mean a - mean b) / pooled std, times Hedges' small-sample factor J(n_a + n_b - 2)."""
    a, b = _values(a), _values(b)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan
    dfree = na + nb - 2
    pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / dfree)
    d = float(a.mean() - b.mean())
    if pooled == 0.0:
        return 0.0 if d == 0 else math.copysign(math.inf, d)
    j = math.exp(math.lgamma(dfree / 2) - math.lgamma((dfree - 1) / 2)) / math.sqrt(dfree / 2)
    return d / pooled * j


def compare(a, b, level: float = 0.95) -> Comparison:
    a, b = _values(a), _values(b)
    ma = float(a.mean()) if len(a) else math.nan
    mb = float(b.mean()) if len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return Comparison(len(a), len(b), ma, mb, ma - mb, (math.nan, math.nan), math.nan,
                          math.nan)
    w = welch(a, b)
    return Comparison(len(a), len(b), ma, mb, w.diff, w.interval(level), w.p(), hedges_g(a, b))


# --- ranks across a table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ranks:
    mean_rank: list[float]   # per treatment (row); 1 is best
    blocks: int              # the complete (column x metric) cells ranked
    statistic: float         # Friedman's chi-square (NaN with fewer than 3 rows or 2 blocks)
    p_value: float
    cd: float                # Nemenyi's critical difference of mean ranks at alpha


def nemenyi_cd(k: int, blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference q_alpha sqrt(k (k+1) / (6 N)), q_alpha the studentized
    range quantile over √2 (Demšar 2006, eq. 7 and Table 5)."""
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6.0 * blocks))


def friedman(scores: np.ndarray, alpha: float = 0.05) -> Ranks:
    """``scores[b, t]``: treatment t's value in block b, larger is better (flip "min"
    metrics before). Ties get average ranks."""
    check_alpha(alpha)
    x = np.asarray(scores, dtype=float)
    nb, k = x.shape
    ranks = stats.rankdata(-x, axis=1)  # 1 = best
    mean_rank = [float(r) for r in ranks.mean(axis=0)] if nb else [math.nan] * k
    if k < 3 or nb < 2:
        return Ranks(mean_rank, nb, math.nan, math.nan, math.nan)
    if np.all(x == x[:, :1]):  # every block a full tie: nothing to rank
        return Ranks(mean_rank, nb, 0.0, 1.0, nemenyi_cd(k, nb, alpha))
    res = stats.friedmanchisquare(*x.T)
    return Ranks(mean_rank, nb, float(res.statistic), float(res.pvalue),
                 nemenyi_cd(k, nb, alpha))
