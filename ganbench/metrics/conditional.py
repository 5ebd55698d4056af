"""Metrics of conditional and InfoGAN generators on mixtures.

They need the codes the samples were generated with (``ctx.extras["labels"]``, set by the
trainer for models that pack labels) and, for InfoGAN, the critic's Q head.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from ganbench.metrics.base import EvalContext, Metric, MetricError, ResultEntry, needs_modes
from ganbench.metrics.registry import REGISTRY


def _labels(ctx: EvalContext) -> torch.Tensor:
    labels = ctx.extras.get("labels")
    if labels is None:
        raise MetricError("needs samples generated from known codes (a conditional or "
                          "InfoGAN model: mlp_conditional, mlp_infogan)")
    return labels.long()


def nearest_mode(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    return torch.cdist(x.reshape(len(x), -1).double(), centres.double()).argmin(dim=1)


class _ModeAccuracy(Metric):
    """An accuracy of generated samples' nearest modes against their codes."""

    band = (0.05, 0.0)

    def applies(self, dataset):
        return needs_modes(dataset)


@REGISTRY.register(
    "conditional_accuracy",
    description="fraction of G(z, c) whose nearest mode is c (conditional models)",
    reference="Mirza & Osindero 2014; protocol of this project",
)
class ConditionalAccuracy(_ModeAccuracy):
    entries = (ResultEntry("conditional_accuracy", "max", "fraction",
                     "share of G(z, c) whose nearest mode is c"),)
    needs = frozenset({"labels"})

    def __call__(self, fake, ctx):
        labels = _labels(ctx)
        modes = nearest_mode(fake, ctx.dataset.mode_centres())
        return {"conditional_accuracy": float((modes == labels).double().mean())}


def best_matching_accuracy(codes: np.ndarray, modes: np.ndarray, k_codes: int, k_modes: int) -> float:
    """Accuracy of the best one-to-one map code -> mode (Hungarian on the confusion matrix)."""
    conf = np.zeros((k_codes, k_modes))
    np.add.at(conf, (codes, modes), 1)
    rows, cols = linear_sum_assignment(-conf)
    return float(conf[rows, cols].sum() / len(codes))


@REGISTRY.register(
    "code_alignment",
    description="InfoGAN: best one-to-one code-to-mode matching accuracy",
    reference="Chen et al. 2016, InfoGAN; unsupervised accuracy via Hungarian matching",
)
class CodeAlignment(_ModeAccuracy):
    entries = (ResultEntry("code_alignment", "max", "fraction",
                     "accuracy of the best one-to-one code-to-mode map"),)
    needs = frozenset({"codes"})

    def __call__(self, fake, ctx):
        labels = _labels(ctx)
        centres = ctx.dataset.mode_centres()
        modes = nearest_mode(fake, centres)
        k_codes = int(labels.max()) + 1
        acc = best_matching_accuracy(labels.numpy(), modes.numpy(), k_codes, len(centres))
        return {"code_alignment": acc}


@REGISTRY.register(
    "info_mi",
    description="InfoGAN: mutual-information lower bound H(c) - CE(Q(c|G(z,c)), c), nats",
    reference="Chen et al. 2016, InfoGAN, eq. 4",
)
class InfoMI(Metric):
    entries = (ResultEntry("info_mi", "max", "nats",
                     "InfoGAN's lower bound on I(c; G(z, c))"),)
    needs = frozenset({"critic", "q_head"})
    band = (0.05, 0.0)

    def __call__(self, fake, ctx):
        from ganbench.objectives.infogan import mi_lower_bound, split_info

        packed = ctx.extras.get("packed")
        critic = ctx.extras.get("critic")
        if packed is None or critic is None:
            raise MetricError("needs an InfoGAN model (mlp_infogan) and its critic")
        _, q, c = split_info(critic(packed).unsqueeze(0))
        if q is None:
            raise MetricError("the critic has no Q head (use mlp_infogan)")
        return {"info_mi": float(mi_lower_bound(q, c)[0])}
