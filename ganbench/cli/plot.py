"""`ganbench plot KIND RESULTS_DIR -o FILE [--set KEY=VALUE ...]`: draw one figure from
results on disk."""

from __future__ import annotations

import argparse

from ganbench.cli import base as cli


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw one figure from results on disk")
    p.add_argument("name", metavar="KIND",
                   help="metrics (per-metric point/box plots), curves (training curves), "
                        "samples (final samples per table cell), dirac (Dirac-GAN "
                        "trajectories); see 'ganbench list plots'")
    p.add_argument("results_dir", help="a suite's results folder, e.g. results/mode_collapse")
    p.add_argument("-o", "--output", required=True, help="output file (.png, .pdf or .svg)")
    p.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the figure, e.g. --set metric=modes, --set seed=1 "
                        "(the options are listed by 'ganbench list plots')")



def parse_options(pairs: list[str], valid: list[str]) -> dict:
    """KEY=VALUE pairs (values read as YAML scalars: 1 -> int, none -> None) checked
    against the figure's keyword options."""
    import yaml

    from ganbench.registry import unknown_message

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise cli.UsageError(f"--set {pair!r}: expected KEY=VALUE")
        if key not in valid:
            raise cli.UsageError(unknown_message("figure option", key, valid))
        out[key] = None if value.lower() in ("none", "null", "") else yaml.safe_load(value)
    return out


@cli.verb("plot")
def cmd_plot(a: argparse.Namespace) -> int:
    from ganbench.report import plots

    entry = plots.PLOTS.entry(a.name)  # unknown names list the valid ones (exit 2)
    valid = [k for k in entry.params() if k not in ("results_dir", "out")]
    print(f"wrote {entry.obj(a.results_dir, a.output, **parse_options(a.options, valid))}")
    return 0
