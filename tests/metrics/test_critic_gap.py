"""critic_gap: the training critic's excess test cross-entropy over a fresh classifier."""

import math

import pytest
import torch

from ganbench.data.synthetic import GaussianMixture, ring_centres
from ganbench.metrics import REGISTRY, EvalContext, MetricError
from ganbench.metrics.critic_gap import logit_critic
from ganbench.objectives import REGISTRY as OBJECTIVES

RING = GaussianMixture(ring_centres(8, 2.0), 0.05)
HALF = GaussianMixture(ring_centres(8, 2.0)[::2], 0.05)
TRUTH = 0.75 * math.log(4 / 3)  # JSD of 8 modes vs 4 of them (disjoint modes)


@pytest.fixture(scope="module")
def samples():
    g = torch.Generator().manual_seed(0)
    return RING.sample(3000, g), HALF.sample(3000, g)


def gap(samples, critic, objective="minimax"):
    real, fake = samples
    ctx = EvalContext(real=real, seed=1, extras={"critic": critic,
                                                 "objective": OBJECTIVES.create(objective)})
    return REGISTRY.create("critic_gap")(fake, ctx)


def test_the_bayes_critic_has_no_gap(samples):
    oracle = lambda x: (RING.log_density(x.double()) - HALF.log_density(x.double())).float()  # noqa: E731
    out = gap(samples, oracle)
    # the fresh classifier can only be worse than Bayes: the gap is <= 0, and small
    assert -0.03 < out["critic_gap"] <= 0.005
    assert out["critic_gap_ci_low"] <= out["critic_gap"] <= out["critic_gap_ci_high"]
    assert out["critic_gap_critic_bce"] == pytest.approx(math.log(2) - TRUTH, abs=0.03)


def test_an_uninformed_critic_is_a_jsd_away(samples):
    # a constant critic scores log 2: its gap is the JSD the fresh classifier finds
    out = gap(samples, lambda x: torch.zeros(x.shape[0]))
    assert out["critic_gap_critic_bce"] == pytest.approx(math.log(2))
    assert out["critic_gap"] == pytest.approx(TRUTH, abs=0.03)
    assert out["critic_gap_ci_low"] > 0.1


def test_shares_the_jsd_estimate(samples):
    real, fake = samples
    ctx = EvalContext(real=real, seed=1, extras={"critic": lambda x: torch.zeros(x.shape[0])})
    j = REGISTRY.create("jsd_classifier")(fake, ctx)
    g = REGISTRY.create("critic_gap")(fake, ctx)
    assert g["critic_gap_fresh_bce"] == pytest.approx(math.log(2) - j["jsd_classifier"])


def test_logit_critic_flag():
    # optimal raw output log p/q: the sigmoid GANs and the f-GAN of the GAN divergence
    for name in ("minimax", "nonsaturating", "fgan_gan"):
        assert logit_critic(OBJECTIVES.create(name)), name
    for name in ("wgan", "lsgan", "hinge", "fgan_pearson"):
        assert not logit_critic(OBJECTIVES.create(name)), name
    assert not logit_critic(None)


def test_needs_the_training_critic(samples):
    real, fake = samples
    with pytest.raises(MetricError, match="training critic"):
        REGISTRY.create("critic_gap")(fake, EvalContext(real=real))
