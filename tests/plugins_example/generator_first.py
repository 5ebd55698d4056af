"""A scheme plug-in: alternating updates with the generator moving first."""

from ganbench.schemes import REGISTRY, Scheme
from ganbench.schemes.base import StepCost


@REGISTRY.register(
    "generator_first",
    description="alternating updates, the generator's step before the critic's",
    reference="a variant of Goodfellow et al. 2014, Algorithm 1",
)
class GeneratorFirst(Scheme):
    def step(self, game):
        g_loss, grads = game.g_step_grads()
        game.step_g(grads)
        d_loss, grads = game.d_step_grads()
        game.step_d(grads)
        return {"d_loss": d_loss, "g_loss": g_loss}

    def cost_per_step(self):
        return StepCost(critic=1, generator=1)  # one loss-and-gradient per player
