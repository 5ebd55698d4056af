"""The regression check: fresh results of a suite against its committed baseline.

Per run group (the runs that differ only in their seed) and metric the check compares the
mean over the fresh seeds with the mean over the baseline seeds. A metric *regresses* when
both hold:

1. the change is practically significant: it is worse than the metric's band, i.e.
   ``direction * (now - baseline) < -max(abs, rel * |baseline|)`` (the band is the metric
   class's ``band``, overridden per metric by the suite's ``check:`` section);
2. it is statistically significant across seeds: a one-sided Welch t test of "now is worse"
   gives a p-value that, after the Benjamini-Hochberg correction over every comparison of
   the check, is at most ``alpha`` (0.05 by default).

Why this rule. Seeds scatter GAN metrics widely, so a band alone either flags seed noise
or has to be so wide that it misses real regressions; a test alone flags tiny, harmless
shifts once the spread is small (on CPU the same seeds give identical values). Requiring
both keeps each test's job small. With many groups x metrics, uncorrected tests would
raise a false alarm on almost every re-run with new seeds; the correction keeps the chance
of any false alarm near ``alpha`` when nothing changed, while a real regression, which
moves many metrics at once, keeps its power. Degenerate samples are handled explicitly:
identical values on both sides (zero spread) make any change beyond the band significant
(every seed agrees); a side with one seed borrows the other side's spread; one seed on both
sides leaves the band alone to decide.

Besides metrics: a run that finished in the baseline and now diverged or failed (same
seed), or a status the baseline group never had (e.g. a divergence where every baseline
seed finished), is always a regression; a group or metric of the baseline that the fresh
results lack, or a metric that could not be computed, fails the check (it would otherwise
pass silently); a group whose labels match but whose config changed fails with the keys
that differ (re-record the baseline); groups or metrics only in the fresh results are
listed as new and do not fail.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ganbench.ci.baseline import group_title, measured, tolerance
from ganbench.metrics.registry import owner
from ganbench.results.aggregate import aggregate
from ganbench.util import stats, textfmt

CORRECTIONS = ("bh", "none")
FAILING = ("REGRESSION", "MISSING", "CONFIG CHANGED")


# --- the statistics ----------------------------------------------------------------------


@dataclass
class Welch:
    delta: float  # signed change of the mean, > 0 is better (direction applied)
    se: float
    df: float
    p_worse: float  # one-sided p-value of "now is worse than the baseline"
    p_better: float


def _certain(delta: float) -> Welch:
    """No spread to weigh the change against: its sign is all the evidence."""
    return Welch(delta, 0.0, math.inf, 0.0 if delta < 0 else 1.0, 0.0 if delta > 0 else 1.0)


def welch(base: np.ndarray, now: np.ndarray, direction: str) -> Welch:
    """One-sided Welch t test of the change from ``base`` to ``now`` (samples over seeds)."""
    sign = 1.0 if direction == "max" else -1.0
    base, now = np.asarray(base, dtype=float), np.asarray(now, dtype=float)
    nb, na = len(base), len(now)
    if nb == 0 or na == 0:
        raise ValueError("welch needs at least one value on each side")
    delta = sign * (now.mean() - base.mean())
    vb = base.var(ddof=1) if nb > 1 else None
    va = now.var(ddof=1) if na > 1 else None
    if vb is None and va is None:  # nothing to estimate seed noise from: the band decides
        return _certain(delta)
    if vb is None:  # one seed: assume its spread is the other side's
        vb, df_fix = va, na - 1
    elif va is None:
        va, df_fix = vb, nb - 1
    else:
        df_fix = None
    sb, sa = vb / nb, va / na
    se = math.sqrt(sb + sa)
    if se == 0.0:  # every seed agrees on both sides: any change is systematic
        return _certain(delta)
    df = float(df_fix) if df_fix is not None else stats.welch_df(sb, sa, nb - 1, na - 1)
    w = stats.Welch(delta, se, df)  # the same Welch test as the tables'
    return Welch(delta, se, df, w.p("less"), w.p("greater"))


def adjust(p: list[float], correction: str) -> list[float]:
    """p-values adjusted for testing them all at once."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; valid: {', '.join(CORRECTIONS)}")
    return stats.adjust(p, correction)


# --- comparison ------------------------------------------------------------------------------


@dataclass
class Row:
    group: str
    metric: str
    verdict: str = "ok"
    baseline: float | None = None
    now: float | None = None
    diff: float | None = None
    tol: float | None = None
    p: float | None = None
    n_baseline: int = 0
    n_now: int = 0
    std_baseline: float | None = None
    std_now: float | None = None
    note: str = ""
    key: str = ""  # the group's key (config hash without the seed)

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


@dataclass
class CheckResult:
    rows: list[Row]
    alpha: float
    correction: str
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.rows)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"passed": not self.failed, "alpha": self.alpha, "correction": self.correction,
                "counts": self.counts(), "notes": self.notes,
                "rows": [asdict(r) for r in self.rows]}


def _values(m: dict[str, Any] | None) -> np.ndarray:
    return np.array(list((m or {}).get("values", {}).values()), dtype=float)


def _match(base: dict, now: dict) -> tuple[dict[str, str], list[str]]:
    """Baseline group key -> fresh group key: the same config, else the same labels."""
    pairs = {k: k for k in base if k in now}

    def labels(g: dict) -> tuple:  # in a fixed order: a baseline file stores keys sorted
        return tuple(sorted((str(a), str(b)) for a, b in (g["labels"] or {}).items()))
    by_labels: dict[tuple, list[str]] = {}
    for k, g in now.items():
        if k not in pairs.values():
            by_labels.setdefault(labels(g), []).append(k)
    changed = []
    for k, g in base.items():
        if k in pairs:
            continue
        cands = by_labels.get(labels(g), [])
        if len(cands) == 1:
            pairs[k] = cands[0]
            changed.append(k)
    return pairs, changed


def _flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: cfg}


def config_diff(a: dict, b: dict) -> list[str]:
    fa, fb = _flatten(a), _flatten(b)
    return [f"{k}: {fa.get(k)!r} -> {fb.get(k)!r}" for k in sorted(set(fa) | set(fb))
            if fa.get(k) != fb.get(k)]


def _status_row(title: str, key: str, bg: dict, ng: dict) -> Row | None:
    b_status = {r["seed"]: r["status"] for r in bg["runs"]}
    n_status = {r["seed"]: r["status"] for r in ng["runs"]}
    problems = [f"seed {s}: done -> {n_status[s]}" for s in sorted(set(b_status) & set(n_status))
                if b_status[s] == "done" and n_status[s] != "done"]
    new_kinds = sorted(set(n_status.values()) - set(b_status.values()) - {"done"})
    for kind in new_kinds:
        k = sum(1 for v in n_status.values() if v == kind)
        problems.append(f"{kind} in {k}/{len(n_status)} runs (never in the baseline)")
    if not problems and set(b_status.values()) | set(n_status.values()) <= {"done"}:
        return None
    return Row(group=title, key=key, metric="status",
               verdict="REGRESSION" if problems else "ok",
               note="; ".join(problems) or f"baseline {_status_text(b_status)}",
               n_baseline=len(b_status), n_now=len(n_status))


def _status_text(status: dict) -> str:
    counts: dict[str, int] = {}
    for v in status.values():
        counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))


def _metric_row(title: str, key: str, name: str, bm: dict, nm: dict | None) -> tuple[Row, Welch | None]:
    b, n = _values(bm), _values(nm)
    ab, an = aggregate(b), aggregate(n)
    row = Row(group=title, key=key, metric=name, n_baseline=ab.n, n_now=an.n,
              baseline=ab.mean, std_baseline=ab.std if ab.n > 1 else None)
    if an.n:
        row.now = an.mean
        row.std_now = an.std if an.n > 1 else None
    if nm is None:
        row.verdict, row.note = "MISSING", "not in the fresh results"
        return row, None
    if nm.get("missing"):
        row.verdict = "MISSING"
        row.note = f"no value for seed(s) {', '.join(map(str, nm['missing']))} (metric error?)"
        return row, None
    if not len(n) or not len(b):
        row.verdict, row.note = "MISSING", "no finished run to compare"
        return row, None
    band = nm.get("band") or bm["band"]
    row.tol = tolerance(band, row.baseline)
    row.diff = row.now - row.baseline
    return row, welch(b, n, nm.get("direction") or bm["direction"])


def compare(baseline: dict[str, Any], current: dict[str, Any], alpha: float = 0.05,
            correction: str = "bh") -> CheckResult:
    """Compare fresh results (``baseline.summarise`` of them) with a baseline."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; valid: {', '.join(CORRECTIONS)}")
    base_groups, now_groups = baseline["groups"], current["groups"]
    pairs, changed = _match(base_groups, now_groups)
    rows: list[Row] = []
    tested: list[tuple[Row, Welch]] = []
    lost_runs = current.get("not_counted") or {}
    for key, bg in sorted(base_groups.items(), key=lambda kv: group_title(kv[1]["labels"])):
        title = group_title(bg["labels"])
        lost = [f"seed {r.get('seed')}: run {r['run_id']} {lost_runs[r['run_id']]}"
                for r in bg["runs"] if r.get("run_id") in lost_runs]
        if lost:  # a baseline run the fresh results lack or cannot read
            rows.append(Row(group=title, key=key, metric="(runs)", verdict="MISSING",
                            note="; ".join(lost), n_baseline=len(bg["runs"])))
        if key not in pairs:
            rows.append(Row(group=title, key=key, metric="(group)", verdict="MISSING",
                            note="group not in the fresh results",
                            n_baseline=len(bg["runs"])))
            continue
        ng = now_groups[pairs[key]]
        if key in changed:
            diff = config_diff(bg["config"], ng["config"])
            rows.append(Row(group=title, key=key, metric="(config)", verdict="CONFIG CHANGED",
                            note="; ".join(diff) + " (re-record the baseline)"))
        srow = _status_row(title, key, bg, ng)
        if srow is not None:
            rows.append(srow)
        for name, bm in bg["metrics"].items():
            if owner(name) and not measured(name):
                continue  # recorded under an older rule (e.g. a unit conversion); not compared now
            row, test = _metric_row(title, key, name, bm, ng["metrics"].get(name))
            rows.append(row)
            if test is not None:
                tested.append((row, test))
        for name in ng["metrics"]:
            if name not in bg["metrics"]:
                rows.append(Row(group=title, key=key, metric=name, verdict="new",
                                now=ng["metrics"][name].get("mean"),
                                n_now=ng["metrics"][name].get("n", 0),
                                note="not in the baseline"))
    matched = set(pairs.values())
    for key, ng in sorted(now_groups.items(), key=lambda kv: group_title(kv[1]["labels"])):
        if key not in matched:
            rows.append(Row(group=group_title(ng["labels"]), key=key, metric="(group)",
                            verdict="new", note="group not in the baseline",
                            n_now=len(ng["runs"])))
    p_worse = adjust([t.p_worse for _, t in tested], correction)
    p_better = adjust([t.p_better for _, t in tested], correction)
    for (row, test), pw, pb in zip(tested, p_worse, p_better):
        row.p = pw
        if test.delta < -row.tol:
            row.verdict = "REGRESSION" if pw <= alpha else "ok (noise)"
        elif test.delta > row.tol and pb <= alpha:
            row.verdict = "better"
    return CheckResult(rows, alpha, correction, _notes(baseline, current))


def _notes(baseline: dict, current: dict) -> list[str]:
    notes = []
    if baseline.get("suite") != current.get("suite"):
        notes.append(f"suite names differ: baseline {baseline.get('suite')!r}, "
                     f"results {current.get('suite')!r}")
    be, ne = baseline.get("environment") or {}, current.get("environment") or {}
    diffs = [f"{k} {be.get(k)} -> {ne.get(k)}" for k in ("device_name", "torch", "numpy", "python")
             if be.get(k) != ne.get(k)]
    if diffs:
        notes.append("environment differs from the baseline's: " + "; ".join(diffs))
    seeds_b = {r["seed"] for g in baseline["groups"].values() for r in g["runs"]}
    seeds_n = {r["seed"] for g in current["groups"].values() for r in g["runs"]}
    if seeds_b == seeds_n:
        notes.append(f"same seeds as the baseline ({len(seeds_n)} per group at most)")
    else:
        notes.append(f"seeds: baseline {sorted(seeds_b)}, now {sorted(seeds_n)}")
    return notes


# --- text ---------------------------------------------------------------------------------


def _num(x: float | None, digits: int = 4) -> str:
    if x is None:
        return "—"
    return f"{x:.{digits}g}"


def _mean_std(mean: float | None, std: float | None, n: int) -> str:
    if mean is None:
        return "—"
    s = _num(mean)
    if std is not None:
        s += f" ± {_num(std, 2)}"
    return f"{s} (n={n})"


def render(result: CheckResult) -> str:
    head = ["group", "metric", "baseline", "now", "diff", "band", "p", "verdict", "note"]
    body = []
    for r in result.rows:
        if r.metric == "status" or r.metric.startswith("("):
            body.append([r.group, r.metric, "", "", "", "", "", r.verdict, r.note])
            continue
        diff = "—" if r.diff is None else f"{r.diff:+.4g}"
        body.append([r.group, r.metric, _mean_std(r.baseline, r.std_baseline, r.n_baseline),
                     _mean_std(r.now, r.std_now, r.n_now), diff,
                     "—" if r.tol is None else f"±{r.tol:.3g}",
                     "—" if r.p is None else f"{r.p:.2g}", r.verdict, r.note])
    out = [textfmt.render(head, body)]
    c = result.counts()
    n_fail = sum(v for k, v in c.items() if k in FAILING)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
    out.append("")
    out.append(f"p: one-sided Welch t test of 'worse', "
               f"{'Benjamini-Hochberg adjusted' if result.correction == 'bh' else 'unadjusted'}; "
               f"regression = worse than the band and p <= {result.alpha}")
    out += [f"note: {n}" for n in result.notes]
    out.append(f"{'FAIL' if result.failed else 'PASS'}: {summary}"
               + (f" ({n_fail} failing)" if n_fail else ""))
    return "\n".join(out) + "\n"
