"""Every evaluation metric that applies to the ring, on 2500 generated samples (the
headline suite's evaluation size) of a briefly trained run, through the trainer's context
(the training critic and objective as extras). Some metrics remember their last answer
by the samples' content (jsd_classifier and critic_gap share one classifier; precision and
recall one k-NN computation), so every round gets freshly perturbed samples."""

import pytest
import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext
from ganbench.seeding import generator
from ganbench.train import member_critic

SAMPLES = 2500
RING = DATASETS.create("ring")
# metrics of conditional / InfoGAN generators need the codes the samples came from
NEEDS_CODES = {"conditional_accuracy", "code_alignment", "info_mi"}
NAMES = [e.name for e in METRICS.entries()
         if e.create().applies(RING) is None and e.name not in NEEDS_CODES]


@pytest.fixture(scope="module")
def samples(device, built_game):
    built = built_game(members=1)
    for _ in range(50):
        built.scheme.step(built.game)
    with torch.no_grad():
        z = torch.randn(1, SAMPLES, built.game.latent_dim, generator=generator(0, "z"))
        fake = built.game.generate(z.to(device))[0].float().cpu()
    real = RING.sample(SAMPLES, generator(0, "real"), "cpu")
    ctx = EvalContext(real=real, dataset=RING, device=device, seed=0,
                      extras={"critic": member_critic(built.game, 0),
                              "objective": built.game.objective})
    return fake, ctx


ROUNDS = 3


@pytest.mark.parametrize("name", NAMES)
def test_metric(benchmark, samples, name):
    fake, ctx = samples
    metric = METRICS.create(name)
    metric(fake, ctx)  # also fills caches a run would fill once (e.g. real statistics)
    gen = generator(0, f"perturb/{name}")  # per metric: one metric's rounds never hit
    # the answers another (sharing its cache) remembered

    def fresh():
        return (fake + 1e-6 * torch.randn(fake.shape, generator=gen), ctx), {}

    benchmark.group = "metrics (ring, 2500 samples)"
    benchmark.extra_info.update(samples=SAMPLES, device=str(ctx.device))
    benchmark.pedantic(metric, setup=fresh, rounds=ROUNDS, iterations=1)
