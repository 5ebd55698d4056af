"""An objective plug-in: the GAN loss with one-sided label smoothing (real target 0.9)."""

import torch.nn.functional as F

from ganbench.objectives import REGISTRY, Objective


@REGISTRY.register(
    "smoothed_gan",
    description="non-saturating GAN whose critic regresses real data to `smooth` (one-sided label smoothing)",
    reference="Salimans et al. 2016, Improved Techniques for Training GANs (NeurIPS), section 3.4",
)
class SmoothedGAN(Objective):
    activation = "sigmoid"

    def __init__(self, smooth: float = 0.9):
        if not 0.5 < smooth <= 1:
            raise ValueError(f"smooth must be in (0.5, 1], got {smooth}")
        self.smooth = smooth

    def _d(self, r, f):  # batch on the last axis; one loss per ensemble member
        real = self.smooth * F.softplus(-r) + (1 - self.smooth) * F.softplus(r)
        return real.mean(-1) + F.softplus(f).mean(-1)

    def _g(self, f, r):
        return F.softplus(-f).mean(-1)
