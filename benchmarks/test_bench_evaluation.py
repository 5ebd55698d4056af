"""Vectorised evaluation: jsd_classifier for the 8 members of a group on the ring (2500
samples each, the headline suite's evaluation size and classifier settings), three ways in
one process:

* ``fitter``: ``estimate_jsd`` per member, one ``Fitter`` at a time (the recipe as it ran
  before evaluation was vectorised);
* ``per_member``: ``metric(fake, ctx)`` per member (the trainer's fallback; a group of one);
* ``ensemble``: ``metric.evaluate_many(fakes, ctxs)``: all members' classifiers as one
  ensemble.

The members' generated samples are rings of differing quality (blurred, shifted, with
dropped modes), so their classifiers stop at different steps, as in a real group. The
ensemble's benchmark records its speed-up over the other two (extra_info ``speedup_vs_*``,
from the minimum times; run all three in one session): ``pytest
benchmarks/test_bench_evaluation.py --benchmark-only --benchmark-enable -s``."""

import pytest
import torch

from ganbench.data.synthetic import GaussianMixture, ring_centres
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics import classifier_jsd as J
from ganbench.metrics.base import EvalContext
from ganbench.seeding import generator

MEMBERS, SAMPLES = 8, 2500
# suites/mode_collapse.yaml's jsd_classifier settings
SETTINGS = dict(max_steps=600, patience=100, bootstrap=200)
ROUNDS = 2
_min_s: dict[str, float] = {}


def _fake(i: int) -> GaussianMixture:
    centres = ring_centres(8, 2.0)
    kinds = [(centres, 0.02), (centres, 0.03), (centres, 0.05), (centres[::2], 0.02),
             (centres + torch.tensor([0.05, 0.0]), 0.02), (centres[:6], 0.02),
             (centres, 0.08), (centres[::4], 0.04)]
    c, std = kinds[i % len(kinds)]
    return GaussianMixture(c, std)


@pytest.fixture(scope="module")
def group(device):
    ring = GaussianMixture(ring_centres(8, 2.0), 0.02)
    fakes, ctxs = [], []
    for i in range(MEMBERS):
        fakes.append(_fake(i).sample(SAMPLES, generator(i, "bench/fake")))
        ctxs.append(EvalContext(real=ring.sample(SAMPLES, generator(i, "bench/real")),
                                device=device, seed=i))
    return fakes, ctxs


@pytest.mark.parametrize("path", ["fitter", "per_member", "ensemble"])
def test_jsd_classifier_group(benchmark, device, sync, group, path):
    fakes, ctxs = group
    metric = METRICS.create("jsd_classifier", **SETTINGS)
    run = {
        "fitter": lambda: [J.estimate_jsd(c.real, f, c.seed, c.device, **SETTINGS)
                           for f, c in zip(fakes, ctxs)],
        "per_member": lambda: [metric(f, c) for f, c in zip(fakes, ctxs)],
        "ensemble": lambda: metric.evaluate_many(fakes, ctxs),
    }[path]

    def timed():
        run()
        sync()

    benchmark.group = f"jsd_classifier, {MEMBERS} members (ring, {SAMPLES} samples)"
    benchmark.extra_info.update(members=MEMBERS, samples=SAMPLES, device=str(device),
                                threads=torch.get_num_threads())
    # every round estimates afresh: the metric remembers its last answers
    benchmark.pedantic(timed, setup=J._MEMO.clear, rounds=ROUNDS, iterations=1)
    _min_s[path] = benchmark.stats.stats.min
    if path == "ensemble":
        for other in ("fitter", "per_member"):
            if other in _min_s:
                ratio = _min_s[other] / _min_s["ensemble"]
                benchmark.extra_info[f"speedup_vs_{other}"] = round(ratio, 2)
                print(f"\nensemble of {MEMBERS} vs {other}: {ratio:.2f}x "
                      f"({_min_s[other]:.1f} s -> {_min_s['ensemble']:.1f} s)")
