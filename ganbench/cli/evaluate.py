"""CLI verb ``evaluate``: metrics of generated samples in files against real ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.cli import base as cli


@cli.verb("evaluate")
def cmd_evaluate(a: argparse.Namespace) -> int:
    from ganbench.metrics.evaluate import evaluate, format_text
    from ganbench.metrics.samples import load_samples
    from ganbench.suite import PluginRef
    from ganbench.train import resolve_device
    from ganbench.util.atomic import dumps

    real = load_samples(a.real)
    fake = load_samples(a.fake)
    dataset = PluginRef(a.dataset).create("datasets") if a.dataset else None
    values = evaluate(real, fake, dataset=dataset, metrics=a.metric, seed=a.seed,
                      device=str(resolve_device(a.device)),
                      cache_dir=Path(a.cache_dir) if a.cache_dir else None,
                      names=(a.real, a.fake))
    print(dumps(values) if a.json else format_text(values))
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="measure generated samples against real ones",
                       description="PATH: .npy or .npz (arrays [N, D] or [N, C, H, W]; "
                       "an .npz array as PATH.npz:KEY) or a folder of PNG/JPG images.")
    e.add_argument("--real", required=True, metavar="PATH", help="real samples")
    e.add_argument("--fake", required=True, metavar="PATH", help="generated samples")
    e.add_argument("--dataset", default=None, metavar="NAME",
                   help="dataset the samples come from (mode-aware metrics need it)")
    e.add_argument("--metric", action="extend", nargs="+", default=None, metavar="NAME",
                   help="metrics to evaluate (default: the default metrics that apply)")
    e.add_argument("--json", action="store_true", help="one JSON object metric -> value")
    e.add_argument("--seed", type=cli.bounded(int, 0, 2**32 - 1), default=0, help="seed of the metrics' randomness")
    e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    e.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="cache of classifiers and real features (default: $GANBENCH_CACHE "
                   "or ~/.cache/ganbench)")

