"""`ganbench plot NAME RESULTS_DIR -o FILE`: draw a figure from results on disk."""

from __future__ import annotations

import argparse

from ganbench import cli


def _parser(sub) -> None:
    p = sub.add_parser("plot", help="draw a figure from results on disk (e.g. dirac)")
    p.add_argument("name", help="the figure: dirac (Dirac-GAN trajectories of theta and psi), "
                                "samples (final samples per table cell); see 'ganbench list plots'")
    p.add_argument("results_dir", help="a suite's results folder, e.g. results/dirac")
    p.add_argument("-o", "--output", required=True, help="output file (.png, .pdf or .svg)")


cli.EXTRA_PARSERS.append(_parser)


@cli.verb("plot")
def cmd_plot(a: argparse.Namespace) -> int:
    from ganbench import plots

    fn = plots.PLOTS.get(a.name)  # unknown names list the valid ones (exit 2)
    print(f"wrote {fn(a.results_dir, a.output)}")
    return 0
