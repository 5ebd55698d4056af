"""The statistics of the tables, tested as theory: nominal error rates and coverage on
simulated data (each test also shows that a naive rule would fail it), and known cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ganbench.util import stats as st

ALPHA = 0.05


def mc_bound(rate: float, reps: int, z: float = 3.0) -> float:
    """The rate plus z Monte-Carlo standard errors."""
    return rate + z * math.sqrt(rate * (1 - rate) / reps)


# --- the interval of the mean --------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 5, 10])
def test_t_interval_covers_the_mean_95_percent_of_the_time(n):
    reps = 4000
    x = np.random.default_rng(n).normal(3.0, 2.0, (reps, n))
    hits = sum(lo <= 3.0 <= hi for lo, hi in (st.mean_interval(r) for r in x))
    sem = math.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) < 3 * sem
    # a naive normal-quantile interval (mean ± 1.96 s/√n) under-covers at these n
    m, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    naive = np.mean(np.abs(m - 3.0) <= 1.96 * s / math.sqrt(n))
    assert abs(naive - 0.95) >= 3 * sem or n == 10


def test_interval_known_case_and_degenerate_inputs():
    lo, hi = st.mean_interval([1.0, 2.0, 3.0])
    h = sps.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert (lo, hi) == pytest.approx((2 - h, 2 + h))
    assert all(math.isnan(v) for v in st.mean_interval([5.0]))
    assert st.mean_interval([4.0, 4.0, 4.0]) == (4.0, 4.0)
    assert st.mean_interval([1.0, math.nan, 3.0]) == pytest.approx(
        st.mean_interval([1.0, 3.0]))
    with pytest.raises(ValueError, match="interval"):
        st.mean_interval([1, 2], method="jackknife")


def test_bootstrap_interval_is_deterministic_and_brackets_the_mean():
    v = [0.1, 0.4, 0.35, 0.2, 0.3]
    a, b = st.mean_interval(v, method="bootstrap"), st.mean_interval(v, method="bootstrap")
    assert a == b and a[0] < np.mean(v) < a[1]


# --- Welch, Holm and friends against known values -------------------------------------------


def test_welch_matches_scipy():
    a, b = [1.0, 2.5, 3.1, 4.0], [2.0, 2.2, 5.9]
    ref = sps.ttest_ind(a, b, equal_var=False)
    w = st.welch(a, b)
    assert w.p() == pytest.approx(ref.pvalue)
    assert w.diff / w.se == pytest.approx(ref.statistic)
    assert w.p("less") == pytest.approx(sps.ttest_ind(a, b, equal_var=False,
                                                      alternative="less").pvalue)


def test_holm_textbook_example():
    # p = (0.01, 0.04, 0.03, 0.005): Holm multiplies the sorted p by 4, 3, 2, 1, monotone
    assert st.adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.adjust([0.01, 0.04], "bonferroni") == pytest.approx([0.02, 0.08])
    with pytest.raises(ValueError, match="correction"):
        st.adjust([0.1], "bh-typo")


def test_hedges_g_known_value():
    # pooled sd 1, d = -3, exact J(4) = Γ(2) / (Γ(3/2) √2)
    j = math.gamma(2) / (math.gamma(1.5) * math.sqrt(2))
    assert st.hedges_g([1, 2, 3], [4, 5, 6]) == pytest.approx(-3 * j)
    c = st.compare([1, 2, 3], [4, 5, 6])
    assert c.diff == -3 and c.ci[0] < -3 < c.ci[1] and 0 < c.p_value < 0.05


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728),
                                 (6, 2.850), (8, 3.031), (10, 3.164)])
def test_nemenyi_critical_values_of_demsar_table_5(k, q):
    # CD = q sqrt(k(k+1)/(6N)); with 6N = k(k+1) the CD is q itself
    assert st.nemenyi_cd(k, k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)


def test_nemenyi_cd_of_demsars_example():
    # Demšar (2006), section 3.2.4: four classifiers on 14 data sets, CD = 1.25 at 0.05
    assert st.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)


def test_friedman_hand_computed():
    # three treatments ranked the same way in 4 blocks: chi2 = 12N/(k(k+1)) Σ(R - 2)² = 8
    scores = np.array([[3, 2, 1], [30, 20, 10], [0.3, 0.2, 0.1], [9, 5, 1]], dtype=float)
    r = st.friedman(scores)
    assert r.mean_rank == [1.0, 2.0, 3.0]
    assert r.statistic == pytest.approx(8.0) and r.p_value == pytest.approx(sps.chi2.sf(8, 2))
    tie = st.friedman(np.ones((3, 4)))
    assert tie.mean_rank == [2.5] * 4 and tie.p_value == 1.0


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, math.nan, True, "0.05"])
def test_alpha_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        st.check_alpha(bad)


# --- top groups -------------------------------------------------------------------------------


def _uncorrected_top(samples, alpha=ALPHA):
    """The naive rule: each cell against the sample best, no correction over the column."""
    means = [np.mean(s) for s in samples]
    best = int(np.argmax(means))
    return [i == best or st.welch(samples[best], samples[i]).p("greater") > alpha
            for i in range(len(samples))]


@pytest.mark.parametrize("mus", [(0, 0), (0, 0, 0, 0), (0,) * 6, (0, 0, -1.5, -1.5, -1.5),
                                 (0, 0, 0, -3, -3)])
def test_top_group_excludes_a_truly_tied_cell_at_most_alpha(mus):
    reps, n = 2500, 3
    rng = np.random.default_rng(len(mus))
    ours = naive = 0
    for _ in range(reps):
        cells = [rng.normal(m, 1.0, n) for m in mus]  # cell 0 is (tied for) the best
        ours += st.top_group(cells, "max")[0].top is False
        naive += not _uncorrected_top(cells)[0]
    assert ours / reps <= mc_bound(ALPHA, reps)
    if mus == (0,) * 6:  # without the correction a tied cell is dropped far more often
        assert naive / reps > mc_bound(ALPHA, reps)


def test_top_group_finds_a_clearly_worse_cell_and_handles_ties_and_small_cells():
    g = st.top_group([[1.0, 1.1, 0.9], [5.0, 5.2, 4.9], [5.1, 4.8, 5.0], [7.0], None], "max")
    assert [m.top for m in g] == [False, True, True, None, None]
    assert g[0].p is not None and g[0].p <= ALPHA
    # lower is better
    assert [m.top for m in st.top_group([[1, 1.1, 0.9], [5, 5.2, 4.9]], "min")] == [True, False]
    # identical values are a tie: both in
    same = [0.5, 0.7, 0.6]
    tied = st.top_group([same, [0.6, 0.5, 0.7], [0.4, 0.6, 0.5]], "max")
    assert [m.top for m in tied] == [True, True, True]
    assert {tied[0].best, tied[1].best} == {True, False} and (tied[0].tie or tied[1].tie)
    assert tied[0].decided and tied[1].decided
    assert not tied[2].decided  # in the group only because 3 seeds cannot separate it
    # constants that differ: the difference is certain
    assert [m.top for m in st.top_group([[2.0, 2.0], [3.0, 3.0]], "max")] == [False, True]
    # a single testable cell: nothing to test against
    assert st.top_group([[1, 2, 3], [4]], "max")[0].top is None


# --- verdicts ---------------------------------------------------------------------------------


def _verdicts(x, pub, margin):
    return [st.verdict(r, pub, margin, ALPHA, resolve=False).verdict for r in x]


def test_false_differs_rate_when_ours_equals_the_published_value():
    reps, n = 3000, 4
    pub = st.published_value(10.0, 1.0, "sem", 10)   # a published mean with its own error
    # ours: the same true mean as the paper's; the paper's own estimate is off by its error
    rng = np.random.default_rng(7)
    shifts = rng.normal(0.0, pub.se, reps)
    x = rng.normal(10.0, 2.0, (reps, n)) + shifts[:, None]
    got = np.mean(np.array(_verdicts(x, pub, None)) == "differs")
    assert got <= mc_bound(ALPHA, reps)
    # a naive one-sample test that ignores the published error rejects far more often
    t = (x.mean(axis=1) - 10.0) / (x.std(axis=1, ddof=1) / math.sqrt(n))
    naive = np.mean(2 * sps.t.sf(np.abs(t), n - 1) <= ALPHA)
    assert naive > mc_bound(ALPHA, reps)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_false_agrees_rate_outside_the_margin(side):
    reps, n, margin = 3000, 5, 0.5
    pub = st.published_value(1.0, None, "none", None)    # a constant
    x = np.random.default_rng(11).normal(1.0 + side * margin, 0.3, (reps, n))  # at the edge
    got = np.mean(np.array(_verdicts(x, pub, margin)) == "agrees")
    assert got <= mc_bound(ALPHA, reps)
    # "agrees when the point estimate lies within the margin" agrees about half the time
    naive = np.mean(np.abs(x.mean(axis=1) - 1.0) < margin)
    assert naive > 0.3


def test_verdicts_known_cases():
    pub = st.published_value(6.3, 0.5, "sem", 10)
    assert st.verdict([6.2, 6.4, 6.3, 6.35], pub, 1.0).verdict == "agrees"
    assert st.verdict([1.0, 1.2, 0.9, 1.1], pub, 1.0).verdict == "differs"
    v = st.verdict([2.0, 9.0, 6.0], st.published_value(6.3, 0.1, "sem", 10), 1.0)
    assert v.verdict == "inconclusive" and v.seeds_needed and v.seeds_needed > 3
    assert "seeds would resolve" in v.text()
    # the published error alone (sem 0.5) keeps |diff| 0.63 from either verdict
    stuck = st.verdict([2.0, 9.0, 6.0], pub, 1.0)
    assert stuck.seeds_needed is None and "not resolvable" in stuck.reason
    # no margin: it can differ or stay inconclusive, never agree
    assert st.verdict([6.2, 6.4, 6.3, 6.35], pub, None).verdict == "inconclusive"
    one = st.verdict([6.3], pub, 1.0)
    assert one.verdict == "inconclusive" and "fewer than 2" in one.reason


def test_bounds_are_tested_one_sided():
    below = st.published_value(None, None, "none", None, below=0.1)
    assert st.verdict([0.01, 0.02, 0.015], below).verdict == "agrees"
    assert st.verdict([0.5, 0.6, 0.55], below).verdict == "differs"
    assert st.verdict([0.05, 0.15, 0.1], below).verdict == "inconclusive"
    above = st.published_value(None, None, "none", None, above=0.1)
    assert st.verdict([0.5, 0.6, 0.55], above).verdict == "agrees"
    # a zero-spread result on the claimed side (a converged Dirac-GAN) is decided
    assert st.verdict([0.0, 0.0, 0.0], below).verdict == "agrees"


def test_published_spread_kinds():
    assert st.published_value(1.0, 0.4, "std", 4).se == pytest.approx(0.2)
    assert st.published_value(1.0, 0.4, "std", 4).df == 3
    assert st.published_value(1.0, 0.4, "sem", 4).se == pytest.approx(0.4)
    assert st.published_value(1.0, 0.4, "ci95", None).se == pytest.approx(0.4 / 1.96, rel=1e-3)
    assert st.published_value(1.0, 0.4, "ci95", 5).se == pytest.approx(
        0.4 / sps.t.ppf(0.975, 4))
    assert st.published_value(1.0, None, "sem", 4).se == 0.0


# --- the power estimate -----------------------------------------------------------------------


@pytest.mark.parametrize("n,diff,sd,pub,margin", [
    (3, 0.5, 1.0, st.PublishedValue(0.0), None),
    (10, 0.8, 1.0, st.PublishedValue(0.0), None),
    (5, 0.0, 0.3, st.PublishedValue(0.0), 0.5),
    (8, 0.2, 0.5, st.PublishedValue(0.0), 0.5),
    (6, 0.2, 0.5, st.PublishedValue(0.0, 0.1, 9), 0.5),
    (10, 0.3, 0.5, st.PublishedValue(0.0), 0.6),
    (5, -0.5, 1.0, st.PublishedValue(below=0.0), None),
])
def test_power_estimate_matches_simulated_power(n, diff, sd, pub, margin):
    """Stated tolerance: 0.03 plus 3 Monte-Carlo standard errors."""
    reps = 2000
    centre = (pub.mean if pub.mean is not None else pub.below) + diff
    x = np.random.default_rng(n * 31 + int(10 * sd)).normal(centre, sd, (reps, n))
    simulated = np.mean(np.array(_verdicts(x, pub, margin)) != "inconclusive")
    est = st.resolve_power(n, diff, sd, pub, margin)
    assert abs(est - simulated) <= 0.03 + 3 * math.sqrt(max(est * (1 - est), 0.01) / reps)
    # a naive estimate that ignores the spread of the sample std (se treated as known)
    # misses at small n; checked where it matters most
    if (n, margin) == (5, 0.5):
        se = sd / math.sqrt(n)
        z = sps.norm.ppf(1 - ALPHA)
        naive = sps.norm.cdf((margin - z * se - diff) / se) - sps.norm.cdf(
            (-margin + z * se - diff) / se)
        assert abs(naive - simulated) > 0.03 + 3 * math.sqrt(simulated * (1 - simulated) / reps)


def test_seeds_to_resolve_reaches_the_power_it_promises():
    pub = st.PublishedValue(0.0)
    k = st.seeds_to_resolve(3, 0.4, 1.0, pub, None)
    assert k is not None and k > 3
    assert st.resolve_power(k, 0.4, 1.0, pub, None) >= st.POWER
    assert st.resolve_power(k - 1, 0.4, 1.0, pub, None) < st.POWER
    # no true difference and no margin: only chance can decide it
    assert st.seeds_to_resolve(3, 0.0, 1.0, pub, None) is None
