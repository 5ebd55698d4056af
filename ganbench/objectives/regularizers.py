"""Regularizers: terms added to the critic's loss that need the critic itself.

Contract: ``penalty(critic, real, fake, rand)`` returns the unweighted penalty per ensemble
member ([E]); ``critic`` maps [E, N, ...] inputs to [E, N] raw outputs, ``rand(*shape)``
draws uniform [0, 1) numbers of shape [E, *shape] from each member's own generator (so a
member is reproducible alone). ``perturb(x, rand)`` may transform the critic's inputs
(instance noise). ``on_critic_init(params)`` acts on the critic's parameters once, when the
critic is built (before its first step), and ``after_critic_step(params)`` after each of
its updates (weight clipping does both). The trainer multiplies the penalty by the regularizer's
``weight``; every regularizer takes ``weight`` (unused by those without a penalty).

A run may name several regularizers (a list: R3GAN's R1 + R2); each is applied to the
critic's loss and its penalty recorded in the history as ``penalty_<name>``. Lazy
regularization (Karras et al. 2020, StyleGAN2): a penalty with ``every: k`` is computed on
every k-th critic update only (the first included), with its weight multiplied by k, so
that its expected contribution per step is unchanged. ``every`` is left out of run ids at
its default 1 (``id_neutral``), so runs recorded before it keep theirs.

Registered: ``weight_clip`` (WGAN), ``gp`` (WGAN-GP, two-sided at interpolates),
``gp_one_sided`` (WGAN-LP), ``r1`` / ``r2`` (zero-centred on real / fake; the penalty is
1/2 E||grad||^2, so ``weight`` is Mescheder et al.'s gamma, twice GAN_stability's
``reg_param``), ``dragan`` (around the data)
and ``instance_noise``. Gradients are taken of the critic's raw output.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor

from ganbench.registry import Registry

Critic = Callable[[Tensor], Tensor]
Rand = Callable[..., Tensor]


class Regularizer:
    """Base class; every hook has a neutral default, so a subclass overrides what it uses."""

    weight: float = 0.0
    #: lazy regularization: the penalty applies on every ``every``-th critic update only,
    #: weighted ``weight * every`` there (StyleGAN2)
    every: int = 1

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, rand: Rand) -> Tensor | None:
        return None

    def on_critic_init(self, params: list[Tensor]) -> None:
        """Called once by the trainer on the freshly built critic, before its first step.
        Default: nothing."""
        return None

    def after_critic_step(self, params: list[Tensor]) -> None:
        return None

    def perturb(self, x: Tensor, rand: Rand) -> Tensor:
        """Transform the critic's inputs (real and fake alike) before the critic sees them
        during the critic's and generator's losses (instance noise). Default: identity."""
        return x


REGISTRY = Registry("regularizers", base=Regularizer)


def input_grad(critic: Critic, x: Tensor) -> tuple[Tensor, Tensor]:
    """Critic outputs at x and their gradient w.r.t. x (graph kept for double backprop).
    An x that already depends on parameters keeps that dependence (the unrolled GAN's
    look-ahead differentiates a penalty at fake points w.r.t. the generator)."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    out = critic(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return out, g


def sq_norm(g: Tensor) -> Tensor:
    """Squared gradient norm per sample: [E, N, ...] -> [E, N]."""
    return g.flatten(2).pow(2).sum(-1)


def norm(g: Tensor) -> Tensor:
    """Gradient norm per sample: [E, N, ...] -> [E, N]. All its derivatives are 0 at g = 0
    (torch's norm has NaN second derivatives there, which the unrolled GAN's differentiable
    look-ahead takes where a ReLU critic is flat at a penalty point)."""
    s = sq_norm(g)
    pos = s > 0
    return torch.where(pos, torch.where(pos, s, 1.0).sqrt(), 0.0)


def _weight(weight: float, name: str) -> float:
    if weight < 0:
        raise ValueError(f"{name}: weight must be >= 0, got {weight}")
    return float(weight)


def per_sample(x: Tensor) -> tuple[int, ...]:
    """Shape of one uniform per sample, broadcastable against x [E, N, ...] (without E)."""
    return (x.shape[1], *([1] * (x.ndim - 2)))


ARJOVSKY = "Arjovsky, Chintala & Bottou 2017, Wasserstein GAN (ICML)"
GULRAJANI = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs (NeurIPS)"
# penalties' parameters left out of run ids at their default (added after runs were recorded)
LAZY = ("every",)
MESCHEDER = "Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually Converge? (ICML)"


@REGISTRY.register(
    "weight_clip",
    description="clip every critic parameter to [-clip, clip] at initialisation and after each critic step (weight unused)",
    reference=ARJOVSKY,
)
class WeightClip(Regularizer):
    """WGAN's crude Lipschitz constraint. Arjovsky et al.'s Algorithm 1 (and their code)
    clamp before every critic step, the first included, so the initial weights are clamped
    too (``on_critic_init``); clamping after each step then keeps every step's start in
    range. It adds no loss term, so ``weight`` is accepted for a uniform signature but unused."""

    def __init__(self, weight: float = 0.0, clip: float = 0.01):
        if clip <= 0:
            raise ValueError(f"weight_clip: clip must be > 0, got {clip}")
        self.weight = _weight(weight, "weight_clip")
        self.clip = float(clip)

    @torch.no_grad()
    def after_critic_step(self, params: list[Tensor]) -> None:
        for p in params:
            p.clamp_(-self.clip, self.clip)

    def on_critic_init(self, params: list[Tensor]) -> None:
        self.after_critic_step(params)


class _GradientNormPenalty(Regularizer, ABC):
    """mean over samples of ``shape(||grad_x C(x)||)`` at the points ``points`` picks."""

    name = ""

    def __init__(self, weight: float = 10.0, every: int = 1):
        self.weight = _weight(weight, self.name)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every (critic updates between penalties, lazy "
                             f"regularization) must be an integer >= 1, got {every!r}")
        self.every = every

    @abstractmethod
    def points(self, real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
        """Where the gradient is taken: [E, N, ...]."""

    @abstractmethod
    def shape(self, grad: Tensor) -> Tensor:
        """Per-sample penalty [E, N] from the input gradients there."""

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
        _, g = input_grad(critic, self.points(real, fake, rand))
        return self.shape(g).mean(-1)


def interpolate(real: Tensor, fake: Tensor, rand: Rand) -> Tensor:
    """eps * real + (1 - eps) * fake, eps ~ U[0, 1) per sample (real and fake paired)."""
    eps = rand(*per_sample(real))
    return fake + eps * (real - fake)


@REGISTRY.register(
    "gp", id_neutral=LAZY,
    description="WGAN-GP: two-sided (||grad C|| - 1)^2 at random real-fake interpolates (weight 10)",
    reference=GULRAJANI,
)
class GradientPenalty(_GradientNormPenalty):
    name = "gp"

    def points(self, real, fake, rand):
        return interpolate(real, fake, rand)

    def shape(self, grad):
        return (norm(grad) - 1) ** 2


@REGISTRY.register(
    "gp_one_sided", id_neutral=LAZY,
    description="WGAN-LP: one-sided max(0, ||grad C|| - 1)^2 at random real-fake interpolates (weight 10)",
    reference="Petzka, Fischer & Lukovnikov 2018, On the regularization of Wasserstein GANs (ICLR)",
)
class OneSidedGradientPenalty(_GradientNormPenalty):
    name = "gp_one_sided"

    def points(self, real, fake, rand):
        return interpolate(real, fake, rand)

    def shape(self, grad):
        return torch.relu(norm(grad) - 1) ** 2


@REGISTRY.register(
    "r1", id_neutral=LAZY,
    description="R1: zero-centred 1/2 ||grad C||^2 on real data; weight = the paper's gamma (10; GAN_stability's reg_param is gamma/2)",
    reference=MESCHEDER,
)
class R1(_GradientNormPenalty):
    """R1 = gamma/2 E_P ||grad C||^2 on the critic's raw output. The penalty carries the 1/2,
    so ``weight`` is the paper's gamma. Convention: the authors' code (GAN_stability) adds
    ``reg_param * E||grad C||^2``, so its ``reg_param`` is gamma/2: their ``reg_param: 10``
    is ``weight: 20`` here."""

    name = "r1"

    def points(self, real, fake, rand):
        return real

    def shape(self, grad):
        return 0.5 * sq_norm(grad)


@REGISTRY.register(
    "r2", id_neutral=LAZY,
    description="R2: zero-centred 1/2 ||grad C||^2 on generated data; weight = the paper's gamma (10; GAN_stability's reg_param is gamma/2)",
    reference=MESCHEDER,
)
class R2(R1):
    name = "r2"

    def points(self, real, fake, rand):
        return fake


@REGISTRY.register(
    "dragan", id_neutral=LAZY,
    description="DRAGAN: (||grad C|| - 1)^2 at x + alpha*0.5*std(x)*U[0,1), alpha ~ U[0,1) per sample (weight 10)",
    reference="Kodali et al. 2017, On Convergence and Stability of GANs (arXiv:1705.07215)",
)
class DRAGAN(_GradientNormPenalty):
    """Penalises the critic's slope around the data, at the points of the authors' code
    (and StudioGAN's ``cal_dra_penalty``): x + alpha * delta with delta = 0.5 * std(x) * u,
    u ~ U[0, 1) per coordinate, alpha ~ U[0, 1) per sample, std over each member's real
    batch. alpha is drawn before u, as there."""

    name = "dragan"

    def points(self, real, fake, rand):
        alpha = rand(*per_sample(real))
        std = real.flatten(1).std(dim=1).view(-1, *([1] * (real.ndim - 1)))
        delta = 0.5 * std * rand(*real.shape[1:])
        return real + alpha * delta

    def shape(self, grad):
        return (norm(grad) - 1) ** 2


@REGISTRY.register(
    "instance_noise",
    description="instance noise: add N(0, std^2) to every critic input, real and fake (weight unused)",
    reference="Sønderby et al. 2017, Amortised MAP Inference for Image Super-resolution (ICLR); "
              "Arjovsky & Bottou 2017 (ICLR)",
)
class InstanceNoise(Regularizer):
    """Smooths both distributions with the same Gaussian, so their supports overlap. Noise
    is drawn by Box-Muller from each member's uniforms; there is no penalty, so ``weight``
    is unused."""

    def __init__(self, weight: float = 0.0, std: float = 0.1):
        if std < 0:
            raise ValueError(f"instance_noise: std must be >= 0, got {std}")
        self.weight = _weight(weight, "instance_noise")
        self.std = float(std)

    def perturb(self, x: Tensor, rand: Rand) -> Tensor:
        if self.std == 0:
            return x
        u = rand(2, *x.shape[1:])  # [E, 2, N, ...]
        u1, u2 = u[:, 0], u[:, 1]
        z = torch.sqrt(-2 * torch.log1p(-u1)) * torch.cos(2 * math.pi * u2)  # 1 - u1 in (0, 1]
        return x + self.std * z.to(x.dtype)
