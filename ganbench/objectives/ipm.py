"""Critic-difference objectives: the Wasserstein GAN and the hinge loss.

WGAN's value E_P[C] - E_Q[C] is the Kantorovich dual of the Wasserstein-1 distance only
when the critic is 1-Lipschitz; over all functions it is unbounded, so there is no
pointwise optimal critic and the constraint lives in a regularizer (weight clipping by
default, a gradient penalty in the ``wgan_gp`` / ``wgan_lp`` presets, or a spectrally
normalised critic).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.objectives.base import Objective, bmean, tv
from ganbench.objectives.registry import REGISTRY

ARJOVSKY = "Arjovsky, Chintala & Bottou 2017, Wasserstein Generative Adversarial Networks (ICML)"


@REGISTRY.register(
    "wgan",
    description="Wasserstein GAN: critic maximises E_P[C] - E_Q[C]; weight clipping 0.01 unless a regularizer is given",
    reference=ARJOVSKY,
    regularizer={"name": "weight_clip", "clip": 0.01},
)
class WGAN(Objective):
    divergence = "W1(P,Q) (Kantorovich dual; needs a 1-Lipschitz critic)"
    activation = "identity"

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return bmean(f) - bmean(r)

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return -bmean(f)

    # optimal_critic / target stay None: W1 depends on the geometry of the support, not
    # only on the densities (the tests check the duality on the line, where it is explicit)


@REGISTRY.register(
    "hinge",
    description="hinge loss: critic minimises E_P[relu(1 - C)] + E_Q[relu(1 + C)]; generator maximises E_Q[C]",
    reference="Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, Spectral Normalization for GANs (ICLR)",
)
class Hinge(Objective):
    # V = E_P[min(0, C - 1)] + E_Q[min(0, -C - 1)]. Pointwise, p relu(1 - v) + q relu(1 + v)
    # is linear on [-1, 1] and grows outside it, so the optimum over all functions is
    # v* = sign(p - q) and the value is -sum 2 min(p, q) = 2 TV(P, Q) - 2.
    divergence = "2*TV(P,Q) - 2"
    activation = "identity (hinge at +-1)"

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return bmean(F.relu(1 - r)) + bmean(F.relu(1 + f))

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return -bmean(f)

    def optimal_critic(self, p: Tensor, q: Tensor) -> Tensor:
        return torch.sign(p - q)

    def target(self, p: Tensor, q: Tensor) -> float:
        return 2 * tv(p, q) - 2
