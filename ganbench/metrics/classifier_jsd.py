"""Jensen-Shannon divergence between real and generated samples, estimated by a classifier.

For balanced classes, a classifier D(x) = P(real | x) has expected cross-entropy
BCE(D) = -1/2 E_P log D - 1/2 E_Q log(1 - D) >= log 2 - JSD(P, Q), with equality at the
Bayes classifier D* = p / (p + q). So ``log 2 - BCE_test`` of a classifier trained on other
samples is an estimate of JSD that is low by the classifier's excess loss (a lower bound in
expectation) plus test-set noise (the bootstrap CI covers only the latter).

Protocol (``estimate_jsd``): equal numbers n of real and fake samples, each split into
disjoint train / validation / test parts (60/20/20); a fresh classifier sized for the data
(vectors: MLPs, images: a small CNN, both standardising their input with statistics of the
training split); model selection on the validation loss (vectors: a plain MLP raced
against one on multi-scale Fourier features, which resolves sharp low-dimensional
structure such as a ring of modes with std 1% of its radius: each trains ``probe`` steps,
the better one goes on); Adam minibatches, weights averaged over the iterates (EMA) and
early stopping on the validation loss; the estimate on the test split only, clipped to
[0, log 2]; a 95% percentile bootstrap CI over test samples (resampled within each
class). Randomness comes from generators seeded by ``seed``, never the global RNG.

Accuracy, measured against Monte-Carlo truths with exact densities (tests/metrics/
test_classifier_jsd.py; 2-D Gaussian mixtures and a 10-D pair): within 0.02 nats or 5%
from 10k + 10k samples. Bias (estimate - truth, nats) against the number of samples per
side, mean +- std over 3 data seeds, and seconds per estimate (one CPU thread), measured
with ``bias_table()`` (``python -m ganbench.metrics.classifier_jsd``):

    case                          truth           n=1000           n=2500          n=10000          n=30000
    ring vs 4 of its modes        0.216 -0.018+-0.011   2s -0.002+-0.008   2s +0.003+-0.004   3s +0.001+-0.001   3s
    ring vs blurred (std 0.05)    0.258 -0.039+-0.020   1s -0.002+-0.023   2s -0.002+-0.007   2s -0.006+-0.005   7s
    10-D, std 1 vs 1.2 + shift    0.252 -0.079+-0.019   2s -0.036+-0.009   2s -0.010+-0.004   3s -0.007+-0.003   4s

The bias is negative and shrinks with n: with fewer samples the classifier is further
from Bayes-optimal (early stopping keeps it closer to the constant 1/2). Smooth but
curved log-ratios in more dimensions (the 10-D row) are the slowest to learn. Compare
estimates only at equal sample counts (suites evaluate a fixed ``evaluation.samples``).

The metrics run this recipe through ``estimate_jsd_many``: the classifiers of every member
of a group (one call of ``evaluate_many``; a single call is a group of one) train as one
ensemble (``classifiers.EnsembleFitter``), each member with its own split, seeded weights
and minibatches, race, early stopping and bootstrap. A member's estimate is the one it gets
alone, and the one ``estimate_jsd`` (one ``Fitter`` at a time, kept as the reference) gets,
up to rounding amplified by training: well within the CI (tests/metrics/
test_classifier_jsd_ensemble.py). The speed-up is measured in benchmarks/
test_bench_evaluation.py.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry
from ganbench.metrics.classifiers import (
    Classifier,
    EnsembleFitter,
    Fitter,
    cnn,
    mlp,
    per_sample_loss,
    predict,
)
from ganbench.metrics.registry import REGISTRY
from ganbench.seeding import generator as seeded

LOG2 = math.log(2.0)
REFERENCE = ("Lopez-Paz & Oquab 2017, Revisiting classifier two-sample tests (ICLR); "
             "Goodfellow et al. 2014, Proposition 1")
FRACTIONS = (0.6, 0.2, 0.2)
#: frequency scales of the Fourier-feature candidate (standardised units)
FOURIER_SCALES = (1.0, 4.0, 16.0, 64.0)
#: validation BCE below which training stops: the estimate is then within this of log 2
GOOD_ENOUGH = 1e-3


@dataclass
class JSDEstimate:
    jsd: float                  # nats, clipped to [0, log 2]
    ci_low: float
    ci_high: float
    bce: float                  # balanced test cross-entropy of the selected classifier
    n: int                      # samples per class used (train + val + test)
    n_test: int                 # test samples per class
    steps: int                  # optimiser steps, all candidates
    seconds: float
    model: str                  # selected candidate
    test_real: Tensor = field(repr=False)
    test_fake: Tensor = field(repr=False)
    loss_real: Tensor = field(repr=False)   # per-sample test losses (real labelled 1)
    loss_fake: Tensor = field(repr=False)   # (fake labelled 0)
    classifier: Classifier = field(repr=False)


def bootstrap_means(a: Tensor, b: Tensor, reps: int, gen: torch.Generator) -> Tensor:
    """Bootstrap replicates of (mean(a) + mean(b)) / 2, resampling each class separately."""
    ia = torch.randint(a.numel(), (reps, a.numel()), generator=gen)
    ib = torch.randint(b.numel(), (reps, b.numel()), generator=gen)
    return 0.5 * (a.double()[ia].mean(1) + b.double()[ib].mean(1))


def _candidates(kind: str, width: int, fourier_features: int):
    if kind == "image":
        return {"cnn": lambda x, g: cnn(x, 1, g, width=16, feature_dim=64)}
    return {"mlp": lambda x, g: mlp(x, 1, g, width=width),
            "fourier_mlp": lambda x, g: mlp(x, 1, g, width=width, fourier=FOURIER_SCALES,
                                            fourier_features=fourier_features)}


def _check(x: Tensor, what: str) -> Tensor:
    if x.ndim < 2 or x.shape[0] == 0:
        raise MetricError(f"{what} samples must be [N, ...] with N > 0, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise MetricError(f"{what} samples hold NaN or infinite values")
    return x.float()


@dataclass
class _Split:
    """One member's data, shuffled (seeded) and split into train / validation / test."""

    r: Tensor
    f: Tensor
    n: int
    n_tr: int
    n_va: int
    n_te: int
    kind: str
    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]

    @property
    def key(self) -> tuple:
        """Members with equal keys can train in one ensemble (equal tensor shapes)."""
        return (self.kind, self.n, tuple(self.r.shape[1:]))


def _prepare(real: Tensor, fake: Tensor, seed: int, dev: torch.device, min_test: int) -> _Split:
    real, fake = _check(real, "real"), _check(fake, "fake")
    if real.shape[1:] != fake.shape[1:]:
        raise MetricError(f"real samples are {tuple(real.shape[1:])}, fake ones "
                          f"{tuple(fake.shape[1:])}")
    n = min(real.shape[0], fake.shape[0])
    n_tr, n_va = int(FRACTIONS[0] * n), int(FRACTIONS[1] * n)
    n_te = n - n_tr - n_va
    if n_te < min_test or n_va < 1:
        raise MetricError(f"need at least {math.ceil(min_test / FRACTIONS[2])} samples per "
                          f"side for a classifier JSD estimate, got {n}")
    g = seeded(seed, "jsd_classifier/split")
    r = real[torch.randperm(real.shape[0], generator=g)[:n]].to(dev)
    f = fake[torch.randperm(fake.shape[0], generator=g)[:n]].to(dev)
    ones, zeros = torch.ones(n, device=dev), torch.zeros(n, device=dev)

    def part(a: int, b: int):
        return torch.cat([r[a:b], f[a:b]]), torch.cat([ones[a:b], zeros[a:b]])

    kind = "image" if real.ndim > 2 else "vector"
    return _Split(r, f, n, n_tr, n_va, n_te, kind, part(0, n_tr), part(n_tr, n_tr + n_va))


def _fit_settings(kind: str, batch_size: int, patience: int) -> dict:
    return dict(lr=3e-3 if kind == "vector" else 1e-3,
                batch_size=batch_size if kind == "vector" else 128,
                patience=patience, good_enough=GOOD_ENOUGH)


def _conclude(s: _Split, net: Classifier, name: str, steps: int, seed: int, bootstrap: int,
              seconds: float) -> JSDEstimate:
    """The estimate and its bootstrap CI from the selected classifier's test losses."""
    te_r, te_f = s.r[s.n_tr + s.n_va:], s.f[s.n_tr + s.n_va:]
    ones = torch.ones(s.n_te, device=te_r.device)
    loss_r = per_sample_loss(predict(net, te_r), ones).double().cpu()
    loss_f = per_sample_loss(predict(net, te_f), 1 - ones).double().cpu()
    bce = 0.5 * float(loss_r.mean() + loss_f.mean())
    reps = bootstrap_means(loss_r, loss_f, bootstrap, seeded(seed, "jsd_classifier/bootstrap"))
    lo, hi = torch.quantile(LOG2 - reps, torch.tensor([0.025, 0.975], dtype=torch.float64))
    clip = lambda v: min(max(float(v), 0.0), LOG2)  # noqa: E731
    return JSDEstimate(clip(LOG2 - bce), clip(lo), clip(hi), bce, s.n, s.n_te, steps, seconds,
                       name, te_r.cpu(), te_f.cpu(), loss_r, loss_f, net)


def estimate_jsd(real: Tensor, fake: Tensor, seed: int = 0, device: torch.device | str = "cpu",
                 max_steps: int = 3000, patience: int = 300, batch_size: int = 1024,
                 bootstrap: int = 1000, min_test: int = 20, width: int = 64,
                 fourier_features: int = 16, probe: int = 300) -> JSDEstimate:
    """The estimate for one sample pair, one classifier at a time (``Fitter``): the
    reference recipe that ``estimate_jsd_many`` vectorises."""
    t0 = time.perf_counter()
    dev = torch.device(device)
    s = _prepare(real, fake, seed, dev, min_test)
    # race the candidates: each trains ``probe`` steps, the best (validation) goes on
    fitters = {}
    for name, build in _candidates(s.kind, width, fourier_features).items():
        gen = seeded(seed, f"jsd_classifier/{name}")
        net = build(s.train[0], gen).to(dev)
        fitters[name] = Fitter(net, s.train, s.val, gen,
                               **_fit_settings(s.kind, batch_size, patience)
                               ).run(min(probe, max_steps))
    name = min(fitters, key=lambda k: fitters[k].best)
    fitters[name].run(max_steps)
    steps = sum(ft.step for ft in fitters.values())
    fitters[name].finish()
    return _conclude(s, fitters[name].net, name, steps, seed, bootstrap,
                     time.perf_counter() - t0)


def estimate_jsd_many(reals: list[Tensor], fakes: list[Tensor], seeds: list[int],
                      device: torch.device | str = "cpu", max_steps: int = 3000,
                      patience: int = 300, batch_size: int = 1024, bootstrap: int = 1000,
                      min_test: int = 20, width: int = 64, fourier_features: int = 16,
                      probe: int = 300) -> list[JSDEstimate]:
    """``estimate_jsd`` for several sample pairs at once: the classifiers of all pairs train
    as one ensemble per candidate (``EnsembleFitter``), each pair with its own split, seeded
    initial weights and minibatches, race, early stopping and bootstrap, so a pair's
    estimate does not depend on the others in the call. Pairs whose sample counts or shapes
    differ train in separate ensembles. ``seconds`` of each estimate is the call's time
    divided by the number of pairs."""
    if not (len(reals) == len(fakes) == len(seeds)):
        raise ValueError("estimate_jsd_many needs one real set, fake set and seed per pair")
    t0 = time.perf_counter()
    dev = torch.device(device)
    splits = [_prepare(r, f, s, dev, min_test) for r, f, s in zip(reals, fakes, seeds)]
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(splits):
        groups.setdefault(s.key, []).append(i)
    picked: dict[int, tuple[str, Classifier, int]] = {}
    for members in groups.values():
        kind = splits[members[0]].kind
        fitters: dict[str, EnsembleFitter] = {}
        for name, build in _candidates(kind, width, fourier_features).items():
            gens = [seeded(seeds[i], f"jsd_classifier/{name}") for i in members]
            nets = [build(splits[i].train[0], g).to(dev) for i, g in zip(members, gens)]
            fitters[name] = EnsembleFitter(
                nets, [splits[i].train for i in members], [splits[i].val for i in members],
                gens, **_fit_settings(kind, batch_size, patience)).run(min(probe, max_steps))
        # per member, the better candidate goes on and the other one stops
        winners = [min(fitters, key=lambda k: fitters[k].best[j]) for j in range(len(members))]
        for name, ft in fitters.items():
            ft.stop([j for j, w in enumerate(winners) if w != name])
            ft.run(max_steps).finish()
        for j, i in enumerate(members):
            steps = sum(ft.steps[j] for ft in fitters.values())
            picked[i] = (winners[j], fitters[winners[j]].nets[j], steps)
    seconds = (time.perf_counter() - t0) / len(splits)
    return [_conclude(s, picked[i][1], picked[i][0], picked[i][2], seed, bootstrap, seconds)
            for i, (s, seed) in enumerate(zip(splits, seeds))]


# the jsd and critic_gap metrics share one estimate per (samples, seed): the last answers
# (at least the last call's, so that all members of a group are shared)
_MEMO: dict[tuple, JSDEstimate] = {}
_MEMO_MIN = 4


def _digest(x: Tensor) -> str:
    t = x.detach().cpu().contiguous()
    return hashlib.sha1(t.numpy().tobytes()).hexdigest() + str(tuple(t.shape))


def cached_estimates(reals: list[Tensor], fakes: list[Tensor], seeds: list[int], device,
                     **kw) -> list[JSDEstimate]:
    """``estimate_jsd_many``, remembering answers: pairs already estimated with these settings
    are looked up, the others estimated together."""
    keys = [(_digest(r), _digest(f), s, str(device), tuple(sorted(kw.items())))
            for r, f, s in zip(reals, fakes, seeds)]
    todo = [i for i, k in enumerate(keys) if k not in _MEMO]
    first = {keys[i]: i for i in reversed(todo)}  # a pair given twice is estimated once
    todo = sorted(first.values())
    if todo:
        new = estimate_jsd_many([reals[i] for i in todo], [fakes[i] for i in todo],
                                [seeds[i] for i in todo], device, **kw)
        _MEMO.update({keys[i]: e for i, e in zip(todo, new)})
    out = [_MEMO[k] for k in keys]
    wanted = set(keys)
    for k in [k for k in _MEMO if k not in wanted][:max(0, len(_MEMO) - max(_MEMO_MIN,
                                                                             len(wanted)))]:
        del _MEMO[k]
    return out


def cached_estimate(real: Tensor, fake: Tensor, seed: int, device, **kw) -> JSDEstimate:
    return cached_estimates([real], [fake], [seed], device, **kw)[0]


class FreshClassifierMetric(Metric):
    """A metric built on the fresh real-vs-fake classifier (``cached_estimate``): metrics
    with equal settings share one estimate per sample set."""

    # _prepare's requirement: min_test (20) held-out samples in the test fraction
    min_samples = math.ceil(20 / FRACTIONS[2])

    def __init__(self, max_steps: int = 3000, patience: int = 300, bootstrap: int = 1000):
        if max_steps < 1 or patience < 1 or bootstrap < 10:
            raise ValueError("needs max_steps >= 1, patience >= 1, bootstrap >= 10")
        self.kw = dict(max_steps=max_steps, patience=patience, bootstrap=bootstrap)

    def estimates(self, fakes: list[Tensor], ctxs: list[EvalContext]) -> list[JSDEstimate]:
        """One estimate per (fake, ctx), the classifiers of all of them trained as one
        ensemble (per device): a member's estimate is the one it gets alone."""
        if len(fakes) != len(ctxs):
            raise ValueError(f"{len(fakes)} sample sets for {len(ctxs)} contexts")
        by_device: dict[str, list[int]] = {}
        for i, c in enumerate(ctxs):
            by_device.setdefault(str(torch.device(c.device)), []).append(i)
        out: list[JSDEstimate | None] = [None] * len(fakes)
        for dev, idx in by_device.items():
            es = cached_estimates([ctxs[i].real for i in idx], [fakes[i] for i in idx],
                                  [ctxs[i].seed for i in idx], dev, **self.kw)
            for i, e in zip(idx, es):
                out[i] = e
        return out


@REGISTRY.register("jsd_classifier",
                   description="Jensen-Shannon divergence (nats) by a fresh real-vs-fake "
                   "classifier's held-out cross-entropy, with a bootstrap CI",
                   reference=REFERENCE)
class ClassifierJSD(FreshClassifierMetric):
    entries = (ResultEntry("jsd_classifier", "min", "nats",
                     "JSD from a fresh classifier's held-out cross-entropy (log 2 = "
                     "0.693: nothing in common)"),
               ResultEntry("jsd_classifier_ci_low", None, "nats", "95% bootstrap interval, lower end"),
               ResultEntry("jsd_classifier_ci_high", None, "nats", "95% bootstrap interval, upper end"),
               ResultEntry("jsd_classifier_bits", None, "bits", "jsd_classifier in bits"),
               ResultEntry("jsd_classifier_bits_ci_low", None, "bits", "lower CI end in bits"),
               ResultEntry("jsd_classifier_bits_ci_high", None, "bits", "upper CI end in bits"),
               ResultEntry("jsd_classifier_n", None, "samples", "samples per class used"),
               ResultEntry("jsd_classifier_steps", None, "steps", "classifier optimiser steps"),
               ResultEntry("jsd_classifier_seconds", None, "s", "time of the estimate"))
    band = (0.02, 0.1)
    default = True

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        return self._report(self.estimates([fake], [ctx])[0])

    def evaluate_many(self, fakes: list[Tensor], ctxs: list[EvalContext]
                      ) -> list[dict[str, float]]:
        """``__call__`` for every member of a group, their classifiers trained as one
        ensemble (see ``estimate_jsd_many``)."""
        return [self._report(e) for e in self.estimates(fakes, ctxs)]

    @staticmethod
    def _report(e: JSDEstimate) -> dict[str, float]:
        out = {"jsd_classifier": e.jsd, "jsd_classifier_ci_low": e.ci_low,
               "jsd_classifier_ci_high": e.ci_high}
        out.update({k.replace("jsd_classifier", "jsd_classifier_bits", 1): v / LOG2
                    for k, v in list(out.items())})
        out.update(jsd_classifier_n=float(e.n), jsd_classifier_steps=float(e.steps),
                   jsd_classifier_seconds=e.seconds)
        return out


# --- known truth ---------------------------------------------------------------------------


def monte_carlo_jsd(p, q, n: int = 200_000, seed: int = 0) -> tuple[float, float]:
    """JSD(P, Q) in nats and its standard error, by Monte Carlo with exact densities:
    1/2 E_P log(p / m) + 1/2 E_Q log(q / m), m = (p + q) / 2. ``p`` and ``q`` need
    ``sample(n, generator)`` and ``log_density(x)`` (e.g. data.synthetic.GaussianMixture)."""
    g = seeded(seed, "monte_carlo_jsd")
    terms = []
    for a, b in ((p, q), (q, p)):
        x = a.sample(n, g).double()
        la, lb = a.log_density(x), b.log_density(x)
        terms.append(la - (torch.logaddexp(la, lb) - LOG2))
    value = 0.5 * float(terms[0].mean() + terms[1].mean())
    se = 0.5 * math.sqrt(float(terms[0].var() + terms[1].var()) / n)
    return value, se


def bias_table(sizes=(1000, 2500, 10000), seeds: int = 3) -> str:
    """Measure estimate - truth against the number of samples per side (the docstring's
    table): ``python -m ganbench.metrics.classifier_jsd``."""
    from ganbench.data.synthetic import GaussianMixture, ring_centres

    ring = GaussianMixture(ring_centres(8, 2.0), 0.02)
    g = torch.Generator().manual_seed(7)
    c10 = torch.randn(6, 10, generator=g) * 2
    cases = {
        "ring vs 4 of its modes": (ring, GaussianMixture(ring_centres(8, 2.0)[::2], 0.02)),
        "ring vs blurred (std 0.05)": (ring, GaussianMixture(ring_centres(8, 2.0), 0.05)),
        "10-D, std 1 vs 1.2 + shift": (GaussianMixture(c10, 1.0), GaussianMixture(c10 + 0.5, 1.2)),
    }
    lines = [f"{'case':28s} {'truth':>6s} " + " ".join(f"{'n=' + str(n):>16s}" for n in sizes)]
    for label, (p, q) in cases.items():
        truth, _ = monte_carlo_jsd(p, q)
        cells = []
        for n in sizes:
            errs, secs = [], []
            for s in range(seeds):
                gen = torch.Generator().manual_seed(1000 + s)
                e = estimate_jsd(p.sample(n, gen), q.sample(n, gen), seed=s)
                errs.append(e.jsd - truth)
                secs.append(e.seconds)
            m = sum(errs) / seeds
            sd = math.sqrt(sum((x - m) ** 2 for x in errs) / max(1, seeds - 1))
            cells.append(f"{m:+.3f}+-{sd:.3f} {sum(secs) / seeds:3.0f}s")
        lines.append(f"{label:28s} {truth:6.3f} " + " ".join(f"{c:>16s}" for c in cells))
    return "\n".join(lines)


if __name__ == "__main__":
    print(bias_table())
