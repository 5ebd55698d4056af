"""How far the GAN's own critic is from an optimal real-vs-fake classifier.

``critic_gap`` = BCE_test(training critic) - BCE_test(fresh classifier), in nats, on the
held-out test split of ``jsd_classifier`` (same samples, same seed, one shared estimate),
balanced over real and fake. The training critic's raw outputs (``ctx.extras["critic"]``)
are read as logits: sigmoid(raw) = P(real | x). That is exactly what the critic of the
sigmoid objectives (minimax, non-saturating, and the f-GANs whose optimal raw output is
log p/q) learns, and then the gap is the critic's excess loss over the fresh classifier
(~0 for a critic that tracks the current generator; large for a stale or collapsed one).
For other objectives (WGAN, hinge, least squares, ...) the raw outputs are not logits and
the number is only a calibration-sensitive score: ``critic_gap_logit_critic`` is 1.0 when
the objective's optimal critic is log p/q (gap meaningful) and 0.0 otherwise.
CI: a paired bootstrap over test samples (the same resample for both classifiers).
For a group (``evaluate_many``) the fresh classifiers of all members come from one ensemble
(``estimate_jsd_many``, shared with ``jsd_classifier``); each member's critic scores its own
test split.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.metrics.base import EvalContext, MetricError, ResultEntry
from ganbench.metrics.classifier_jsd import (
    FreshClassifierMetric,
    JSDEstimate,
    bootstrap_means,
)
from ganbench.metrics.classifiers import per_sample_loss
from ganbench.metrics.registry import REGISTRY
from ganbench.seeding import generator as seeded


def logit_critic(objective) -> bool:
    """True when the objective's optimal raw critic output is log p/q (a logit)."""
    if objective is None:
        return False
    p = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    q = torch.tensor([0.4, 0.1, 0.5], dtype=torch.float64)
    try:
        v = objective.optimal_critic(p, q)
    except Exception:  # an objective without a closed form may raise instead of None
        return False
    return v is not None and torch.allclose(torch.as_tensor(v, dtype=torch.float64),
                                            (p / q).log(), atol=1e-9)


@REGISTRY.register("critic_gap", description="test cross-entropy of the training critic "
                   "(sigmoid of its raw outputs) minus that of a freshly trained classifier",
                   reference="Goodfellow et al. 2014, Proposition 1 (the optimal discriminator)")
class CriticGap(FreshClassifierMetric):
    entries = (ResultEntry("critic_gap", "min", "nats",
                     "test BCE of the training critic minus a fresh classifier's"),
               ResultEntry("critic_gap_ci_low", None, "nats", "95% bootstrap interval, lower end"),
               ResultEntry("critic_gap_ci_high", None, "nats", "95% bootstrap interval, upper end"),
               ResultEntry("critic_gap_critic_bce", None, "nats", "test BCE of the training critic"),
               ResultEntry("critic_gap_fresh_bce", None, "nats", "test BCE of the fresh classifier"),
               ResultEntry("critic_gap_logit_critic", None, "",
                     "1 when the objective's optimal critic is a logit (gap meaningful)"))
    needs = frozenset({"critic", "plain_critic"})
    band = (0.02, 0.2)

    def __call__(self, fake: Tensor, ctx: EvalContext) -> dict[str, float]:
        return self.evaluate_many([fake], [ctx])[0]

    def evaluate_many(self, fakes: list[Tensor], ctxs: list[EvalContext]
                      ) -> list[dict[str, float]]:
        """Every member's gap; the fresh classifiers of all members train as one ensemble
        (shared with ``jsd_classifier``), each member's own critic then scores its test set."""
        for ctx in ctxs:
            if ctx.extras.get("critic") is None:
                raise MetricError("critic_gap needs the training critic (ctx.extras['critic']);"
                                  " it is only available while training")
        return [self._gap(e, ctx) for e, ctx in zip(self.estimates(fakes, ctxs), ctxs)]

    def _gap(self, e: JSDEstimate, ctx: EvalContext) -> dict[str, float]:
        critic = ctx.extras["critic"]
        with torch.no_grad():
            raw_r = critic(e.test_real).reshape(-1).double().cpu()
            raw_f = critic(e.test_fake).reshape(-1).double().cpu()
        if raw_r.numel() != e.n_test or raw_f.numel() != e.n_test:
            raise MetricError(f"the critic returned {raw_r.numel()} outputs for {e.n_test} samples")
        crit_r = per_sample_loss(raw_r, torch.ones_like(raw_r))
        crit_f = per_sample_loss(raw_f, torch.zeros_like(raw_f))
        crit = 0.5 * float(crit_r.mean() + crit_f.mean())
        # paired: the same resampled indices for critic and fresh losses (one generator
        # state, replayed), so the CI is that of the difference
        gen = seeded(ctx.seed, "critic_gap/bootstrap")
        state = gen.get_state()
        reps_c = bootstrap_means(crit_r, crit_f, self.kw["bootstrap"], gen)
        gen.set_state(state)
        reps_f = bootstrap_means(e.loss_real, e.loss_fake, self.kw["bootstrap"], gen)
        lo, hi = torch.quantile(reps_c - reps_f, torch.tensor([0.025, 0.975], dtype=torch.float64))
        return {"critic_gap": crit - e.bce, "critic_gap_ci_low": float(lo),
                "critic_gap_ci_high": float(hi), "critic_gap_critic_bce": crit,
                "critic_gap_fresh_bce": e.bce,
                "critic_gap_logit_critic": float(logit_critic(ctx.extras.get("objective")))}
