"""``ganbench bench``: training throughput, the vectorised ensemble against one run after
another (or a whole suite's groups)."""

from __future__ import annotations

import argparse
import json
import sys

from ganbench.cli import base as cli


@cli.verb("bench")
def cmd_bench(a: argparse.Namespace) -> int:
    from ganbench.ci import bench

    if a.threads is not None:  # bounded by its argument type
        import torch
        torch.set_num_threads(a.threads)
    if a.suite:
        from ganbench.ci.bench_suite import bench_suite
        from ganbench.suite import load_suite

        suite = load_suite(a.suite)
        res = bench_suite(suite, steps=a.steps, warmup=a.warmup, device=a.device,
                          max_group=a.max_group, precisions=a.precision or ["fp32", "bf16"],
                          evaluation=not a.no_eval, compile=_compile(a.compile))
        print(json.dumps(res.to_dict(), indent=2) if a.json else res.render())
        if a.profile:
            from ganbench.ci.bench_suite import profile_largest_group

            print(profile_largest_group(suite, res, a.profile), file=sys.stderr)
        return 0

    if a.lazy:  # lazy regularization's throughput (ci/bench_lazy.py)
        from ganbench.ci.bench_lazy import lazy_bench

        res = lazy_bench(a.lazy, members=max(a.members), steps=a.steps, warmup=a.warmup,
                         device=a.device, dataset=_plugin(a.dataset), model=_plugin(a.model),
                         objective=_plugin(a.objective), scheme=_plugin(a.scheme),
                         batch_size=a.batch_size)
        print(json.dumps(res.to_dict(), indent=2) if a.json else res.render())
        return 0
    result = bench.run_bench(dataset=_plugin(a.dataset), model=_plugin(a.model),
                             objective=_plugin(a.objective), scheme=_plugin(a.scheme),
                             members=a.members, steps=a.steps,
                             warmup=a.warmup, batch_size=a.batch_size, device=a.device,
                             precisions=a.precision or ["fp32"], compile=_compile(a.compile))
    print(json.dumps(result.to_dict(), indent=2) if a.json else result.render())
    return 0


def _compile(text: str | None) -> bool | str | None:
    """--compile BACKEND as training.compile takes it (None: as the suite says)."""
    return None if text is None else {"off": False, "on": True}.get(text, text)


def _plugin(text: str | None):
    """A plug-in as the suite file writes it: a name, or a YAML mapping with its params."""
    if text is None or not text.lstrip().startswith("{"):
        return text
    from ganbench.util import strict_yaml  # read as suite files are (duplicate keys, bounds)

    try:
        return strict_yaml.load(text)
    except strict_yaml.YAMLProblem as exc:
        raise cli.UsageError(f"not a YAML mapping: {strict_yaml.show(text)} ({exc})") from None


PLUGIN_HELP = " (a name or a YAML mapping, e.g. '{name: mlp, width: 128}')"


def add_parser(sub) -> None:
    be = sub.add_parser("bench", help="training throughput, and the vectorised ensemble "
                        "against one run after another")
    be.add_argument("--dataset", default="ring", help="default: ring" + PLUGIN_HELP)
    be.add_argument("--model", default=None,
                    help="default: the model of suites/mode_collapse.yaml, else mlp with its "
                    "defaults" + PLUGIN_HELP)
    be.add_argument("--objective", default="nonsaturating", help="default: nonsaturating")
    be.add_argument("--scheme", default="alternating", help="default: alternating" + PLUGIN_HELP)
    be.add_argument("--members", type=cli.bounded(int, 1, 4096), nargs="+", default=[1, 4, 16, 64],
                    help="ensemble sizes to measure (default: 1 4 16 64)")
    be.add_argument("--steps", type=cli.bounded(int, 1, 10**6), default=50, help="timed steps per measurement")
    be.add_argument("--warmup", type=cli.bounded(int, 0, 10**6), default=5, help="untimed steps first")
    be.add_argument("--batch-size", type=cli.bounded(int, 2, 65536), default=None,
                    help="default: the suite's batch size, else 256")
    be.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    be.add_argument("--suite", default=None,
                    help="time a whole suite instead: its ensembles against its runs one at "
                    "a time (--steps steps each)")
    be.add_argument("--max-group", type=cli.bounded(int, 1, 4096), default=64,
                    help="with --suite: the largest ensemble (default 64)")
    be.add_argument("--threads", type=cli.bounded(int, 1, 1024), default=None,
                    help="CPU threads of torch (default: torch's own choice); 1 separates "
                    "what an ensemble saves in overhead from what two threads add")
    be.add_argument("--precision", nargs="+", choices=["fp32", "bf16", "fp16"], default=None,
                    help="training precisions to time (default: fp32 bf16 with --suite, else "
                    "fp32)")
    be.add_argument("--no-eval", action="store_true",
                    help="with --suite: do not time an evaluation of each metric")
    be.add_argument("--profile", type=cli.bounded(int, 0, 10**5), default=0, metavar="STEPS",
                    help="with --suite: profile STEPS steps of the largest ensemble in each "
                    "precision (torch.profiler, per op, on stderr)")
    be.add_argument("--compile", choices=["off", "on", "inductor", "cudagraphs", "aot_eager",
                                          "eager"], default=None,
                    help="training.compile for every timed run (on = inductor; cudagraphs: "
                    "GPU only); default: as the suite says, off for the plain bench")
    be.add_argument("--lazy", type=cli.bounded(int, 1, 10**6), nargs="+", default=None,
                    metavar="K", help="lazy regularization: steps/s of one ensemble of the "
                    "largest --members with r1 every K critic updates, against every update "
                    "and no penalty")
    be.add_argument("--json", action="store_true")
