"""``ganbench check RESULTS --baseline FILE``: fresh results against a baseline; exit 1 on a
regression."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganbench.cli import base as cli


@cli.verb("check")
def cmd_check(a: argparse.Namespace) -> int:
    from ganbench.ci import baseline, check
    from ganbench.suite.shipped import baseline_path

    a.baseline = str(baseline_path(a.baseline))  # a bare name: the shipped baseline
    base = baseline.load(a.baseline)  # first: a bad baseline is a usage error (exit 2)
    current = baseline.summarise(Path(a.results_dir))
    # damaged fresh results are bad files (exit 2), never read as a regression (exit 1);
    # summarise verified every folder already (its not_counted)
    damaged = [f"{rid}: {why[len('invalid: '):]}" for rid, why in
               (current.get("not_counted") or {}).items() if why.startswith("invalid:")]
    if damaged:
        raise cli.UsageError(
            f"{len(damaged)} run folder(s) of {a.results_dir} do not verify, so they cannot "
            "be checked: " + "; ".join(damaged[:5]) + (" ..." if len(damaged) > 5 else "")
            + " (ganbench verify lists them; ganbench run trains them again)")
    baseline.same_suite(base, current, a.baseline)  # another suite's baseline: exit 2 too
    result = check.compare(base, current, alpha=a.alpha, correction=a.correction)
    if a.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(check.render(result), end="")
    return 1 if result.failed else 0


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="compare fresh results with a baseline; exit 1 on a "
                       "regression")
    c.add_argument("results_dir", help="the fresh results of the suite, e.g. /tmp/r/ci")
    c.add_argument("--baseline", required=True, help="baseline file (ganbench baseline), or the name of a shipped one "
                        "(e.g. ci: results/baselines/ci.json in the repository)")
    c.add_argument("--alpha", type=cli.bounded(float, 0, 1, True, True), default=0.05,
                   help="significance level after the correction (default 0.05)")
    c.add_argument("--correction", choices=["bh", "none"], default="bh",
                   help="multiple-testing correction over all comparisons (default: bh, "
                   "Benjamini-Hochberg)")
    c.add_argument("--json", action="store_true", help="print the comparison as JSON")
