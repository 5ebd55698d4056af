"""Presets: common objective + regularizer pairings, registered as objectives.

A preset is an ordinary registry entry pointing at an objective class, with the
regularizer it implies in its ``regularizer`` meta (a mapping, or a list of terms); the
suite fills that in when a run names no regularizer (an explicit ``regularizer`` — or
``none`` — wins).
"""

from __future__ import annotations

from ganbench.objectives.ipm import WGAN
from ganbench.objectives.registry import REGISTRY
from ganbench.objectives.relativistic import RSGAN
from ganbench.objectives.standard import NonSaturating

REGISTRY.add(
    "wgan_gp", WGAN,
    description="preset: wgan + gp (two-sided gradient penalty at interpolates, weight 10)",
    reference="Gulrajani et al. 2017, Improved Training of Wasserstein GANs (NeurIPS)",
    regularizer={"name": "gp", "weight": 10.0},
)
REGISTRY.add(
    "wgan_lp", WGAN,
    description="preset: wgan + gp_one_sided (one-sided Lipschitz penalty at interpolates, weight 10)",
    reference="Petzka, Fischer & Lukovnikov 2018, On the regularization of Wasserstein GANs (ICLR)",
    regularizer={"name": "gp_one_sided", "weight": 10.0},
)
REGISTRY.add(
    "nonsaturating_r1", NonSaturating,
    description="preset: nonsaturating + r1 (gamma 10 on real data)",
    reference="Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually "
              "Converge? (ICML)",
    regularizer={"name": "r1", "weight": 10.0},
)
REGISTRY.add(
    "nonsaturating_dragan", NonSaturating,
    description="preset: nonsaturating + dragan (gradient penalty around the data, weight 10)",
    reference="Kodali et al. 2017, On Convergence and Stability of GANs (arXiv:1705.07215)",
    regularizer={"name": "dragan", "weight": 10.0},
)
REGISTRY.add(
    "r3gan", RSGAN,
    description="preset: rsgan + r1 + r2 with a shared gamma (1): softplus(C(fake) - C(real)) "
                "+ gamma/2 (||grad C(real)||^2 + ||grad C(fake)||^2)",
    reference="Huang, Gokaslan, Kuleshov & Tompkin 2024, The GAN is dead; long live the GAN! "
              "A Modern GAN Baseline (NeurIPS)",
    # the authors' trainer adds (gamma/2)(R1 + R2) with R = ||grad||^2; ganbench's penalty
    # carries the 1/2, so weight = gamma. Their presets decay gamma from 0.05 (CIFAR-10) to
    # 150 (FFHQ-256) with the image scale; none is 2-D: 1 is the headline's calibrated R1 gamma
    regularizer=[{"name": "r1", "weight": 1.0}, {"name": "r2", "weight": 1.0}],
)
