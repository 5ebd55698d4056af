"""A GAN on the 8-Gaussian ring with the core alone: a Game, a scheme and a metric from the
registries, trained top to bottom, no suite, no executor, no results folder.

    python examples/minimal_gan.py [STEPS]        (default 3000; ~1 min on a CPU)
"""

import sys

import torch

from ganbench.data import REGISTRY as DATASETS
from ganbench.game import Game, MemberOptimizer, partition
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics import EvalContext
from ganbench.models import REGISTRY as MODELS
from ganbench.objectives import REGISTRY as OBJECTIVES
from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.seeding import MemberRandom, generator

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
seed, batch_size, lr = 0, 256, 1e-3
torch.manual_seed(seed)
torch.set_num_threads(1)

# the plug-ins, by their registered names
dataset = DATASETS.create("ring")
model = MODELS.create("mlp", latent_dim=2, width=128, depth=2)
objective = OBJECTIVES.create("nonsaturating")
scheme = SCHEMES.create("alternating", d_steps=1)

# an ensemble of one member: networks stacked along a member axis of size 1
model.bind(dataset)
init = [generator(seed, "init")]
G, D = model.generator(dataset.shape, init), model.critic(dataset.shape, init)
adam = dict(kind="adam", beta1=[0.5], beta2=[0.999], momentum=[0.0])
game = Game(G=G, D=D, objectives=partition([objective], ["nonsaturating"], "cpu"),
            regularizers=[], dataset=dataset,
            opt_g=MemberOptimizer(list(G.parameters()), [lr], **adam),
            opt_d=MemberOptimizer(list(D.parameters()), [lr], **adam),
            data_rng=MemberRandom([seed], "data", "cpu"),
            noise_rng=MemberRandom([seed], "noise", "cpu"),
            reg_rng=MemberRandom([seed], "regularizer", "cpu"),
            latent_dim=model.latent_dim, batch_size=batch_size,
            alive=torch.ones(1, dtype=torch.bool))

# the loop: one scheme step (critic, then generator) per iteration
for step in range(1, steps + 1):
    losses = game.train_step(scheme)
    if step % 500 == 0 or step == steps:
        print(f"step {step:5d}  d_loss {losses['d_loss'].item():.3f}  "
              f"g_loss {losses['g_loss'].item():.3f}")

# mode coverage of 2500 samples against held-out real ones
n = 2500
z = torch.randn(1, n, model.latent_dim, generator=generator(seed, "eval_noise"))
with torch.no_grad():
    fake = game.sample(z)[0]
real = dataset.sample(n, generator(seed, "eval_real"), "cpu")
ctx = EvalContext(real=real, dataset=dataset, seed=seed)
for name in ("modes", "hq_fraction"):
    print(f"{name} {METRICS.create(name)(fake, ctx)[name]:.3f}")
