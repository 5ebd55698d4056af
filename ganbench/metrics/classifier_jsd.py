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
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ganbench.classifiers import Classifier, Fitter, cnn, mlp, per_sample_loss, predict
from ganbench.metrics.base import Entry, EvalContext, Metric, MetricError
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


def estimate_jsd(real: Tensor, fake: Tensor, seed: int = 0, device: torch.device | str = "cpu",
                 max_steps: int = 3000, patience: int = 300, batch_size: int = 1024,
                 bootstrap: int = 1000, min_test: int = 20, width: int = 64,
                 fourier_features: int = 16, probe: int = 300) -> JSDEstimate:
    t0 = time.perf_counter()
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
    dev = torch.device(device)
    r = real[torch.randperm(real.shape[0], generator=g)[:n]].to(dev)
    f = fake[torch.randperm(fake.shape[0], generator=g)[:n]].to(dev)
    ones, zeros = torch.ones(n, device=dev), torch.zeros(n, device=dev)

    def part(a: int, b: int):
        return torch.cat([r[a:b], f[a:b]]), torch.cat([ones[a:b], zeros[a:b]])

    train, val = part(0, n_tr), part(n_tr, n_tr + n_va)
    kind = "image" if real.ndim > 2 else "vector"
    # race the candidates: each trains ``probe`` steps, the best (validation) goes on
    fitters = {}
    for name, build in _candidates(kind, width, fourier_features).items():
        gen = seeded(seed, f"jsd_classifier/{name}")
        net = build(train[0], gen).to(dev)
        fitters[name] = Fitter(net, train, val, gen, lr=3e-3 if kind == "vector" else 1e-3,
                               batch_size=batch_size if kind == "vector" else 128,
                               patience=patience, good_enough=GOOD_ENOUGH
                               ).run(min(probe, max_steps))
    name = min(fitters, key=lambda k: fitters[k].best)
    fitters[name].run(max_steps)
    steps = sum(ft.step for ft in fitters.values())
    fitters[name].finish()
    net = fitters[name].net
    te_r, te_f = r[n_tr + n_va:], f[n_tr + n_va:]
    loss_r = per_sample_loss(predict(net, te_r), ones[:n_te]).double().cpu()
    loss_f = per_sample_loss(predict(net, te_f), zeros[:n_te]).double().cpu()
    bce = 0.5 * float(loss_r.mean() + loss_f.mean())
    reps = bootstrap_means(loss_r, loss_f, bootstrap, seeded(seed, "jsd_classifier/bootstrap"))
    lo, hi = torch.quantile(LOG2 - reps, torch.tensor([0.025, 0.975], dtype=torch.float64))
    clip = lambda v: min(max(float(v), 0.0), LOG2)  # noqa: E731
    return JSDEstimate(clip(LOG2 - bce), clip(lo), clip(hi), bce, n, n_te, steps,
                       time.perf_counter() - t0, name, te_r.cpu(), te_f.cpu(), loss_r, loss_f,
                       net)


# the jsd and critic_gap metrics share one estimate per (samples, seed): the last few answers
_MEMO: dict[tuple, JSDEstimate] = {}


def _digest(x: Tensor) -> str:
    t = x.detach().cpu().contiguous()
    return hashlib.sha1(t.numpy().tobytes()).hexdigest() + str(tuple(t.shape))


def cached_estimate(real: Tensor, fake: Tensor, seed: int, device, **kw) -> JSDEstimate:
    key = (_digest(real), _digest(fake), seed, str(device), tuple(sorted(kw.items())))
    if key not in _MEMO:
        if len(_MEMO) >= 4:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = estimate_jsd(real, fake, seed, device, **kw)
    return _MEMO[key]


class FreshClassifierMetric(Metric):
    """A metric built on the fresh real-vs-fake classifier (``cached_estimate``): metrics
    with equal settings share one estimate per sample set."""

    def __init__(self, max_steps: int = 3000, patience: int = 300, bootstrap: int = 1000):
        if max_steps < 1 or patience < 1 or bootstrap < 10:
            raise ValueError("needs max_steps >= 1, patience >= 1, bootstrap >= 10")
        self.kw = dict(max_steps=max_steps, patience=patience, bootstrap=bootstrap)


@REGISTRY.register("jsd_classifier",
                   description="Jensen-Shannon divergence (nats) by a fresh real-vs-fake "
                   "classifier's held-out cross-entropy, with a bootstrap CI",
                   reference=REFERENCE)
class ClassifierJSD(FreshClassifierMetric):
    entries = (Entry("jsd_classifier", "min", "nats",
                     "JSD (nats; log 2 = 0.693 is disjoint) from a fresh "
                     "classifier's held-out cross-entropy"),
               Entry("jsd_classifier_ci_low", None, "nats", "95% bootstrap interval, lower end"),
               Entry("jsd_classifier_ci_high", None, "nats", "95% bootstrap interval, upper end"),
               Entry("jsd_classifier_bits", None, "bits", "jsd_classifier in bits"),
               Entry("jsd_classifier_bits_ci_low", None, "bits", "lower CI end in bits"),
               Entry("jsd_classifier_bits_ci_high", None, "bits", "upper CI end in bits"),
               Entry("jsd_classifier_n", None, "samples", "samples per class used"),
               Entry("jsd_classifier_steps", None, "steps", "classifier optimiser steps"),
               Entry("jsd_classifier_seconds", None, "s", "time of the estimate"))
    band = (0.02, 0.1)
    default = True

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        e = cached_estimate(ctx.real, fake, ctx.seed, ctx.device, **self.kw)
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
