"""A regularizer plug-in: the zero-centred gradient penalty at real-fake interpolates."""

from ganbench.objectives.regularizers import (
    REGISTRY,
    Regularizer,
    input_grad,
    interpolate,
    sq_norm,
)


@REGISTRY.register(
    "zero_gp",
    description="0-GP: ||grad C||^2 at random real-fake interpolates (weight 10)",
    reference="Thanh-Tung, Tran & Venkatesh 2019, Improving Generalization and Stability "
              "of GANs (ICLR)",
)
class ZeroGP(Regularizer):
    def __init__(self, weight: float = 10.0):
        self.weight = weight

    def penalty(self, critic, real, fake, rand):
        # rand draws from each member's own stream, so a member is reproducible alone
        _, grad = input_grad(critic, interpolate(real, fake, rand))
        return sq_norm(grad).mean(-1)  # [E]: one penalty per member, unweighted
