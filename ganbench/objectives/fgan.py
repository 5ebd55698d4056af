"""The f-GAN family (Nowozin et al. 2016): variational estimation of f-divergences.

For a convex f with f(1) = 0, D_f(P || Q) = E_Q[f(p/q)] = sup_T E_P[T] - E_Q[f*(T)], where
f* is f's Fenchel conjugate. The critic's raw output v goes through the output activation
g_f of the paper's Table 2, which maps R into the domain of f*, so T = g_f(v) and

    V(v) = E_P[g_f(v(x))] - E_Q[f*(g_f(v(x)))],      d_loss = -V.

The supremum is reached by T*(x) = f'(p(x)/q(x)), so at the optimal critic -d_loss equals
D_f(P_real || P_fake). The generator uses the paper's "alternative" loss (section 3.2):
it maximises E_Q[g_f(v(G(z)))] rather than minimising -E_Q[f*(g_f(v))] — the -log D
trick of Goodfellow et al. generalised; for ``fgan_gan`` it *is* the non-saturating loss.

``generator: saddle`` trains the generator on the saddle form instead (minimising V, i.e.
-E_Q[f*(g_f(v))]), as the paper's Gaussian fit of section 4 does. The two share their
fixed point but not their gradients: for Pearson chi^2, d/dv of the alternative loss is -1
while the saddle form's is -(v/2 + 1), so they push fakes in opposite directions where
v < -2.

Each member writes f, g_f and f* as in the paper, plus f*(g_f(v)) simplified where the
composition would lose precision (e.g. reverse KL: f*(-exp(-v)) = v - 1).
"""

from __future__ import annotations

import math
from abc import abstractmethod

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.objectives.base import Objective, bmean
from ganbench.objectives.registry import REGISTRY

NOWOZIN = ("Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using "
           "Variational Divergence Minimization (NeurIPS), Table 2")
LOG2 = math.log(2.0)


GENERATOR_FORMS = ("alternative", "saddle")


class FGAN(Objective):
    """Base of the family: subclasses give f, g_f (``output_activation``), f* and v*.
    ``family``: the divergence's short name (``ganbench.metrics.gaussian_fit`` computes it
    by quadrature)."""

    family: str = ""
    #: D_f of two distributions with disjoint supports, f(0) + lim_{u -> inf} f(u) / u
    #: (WGAN's parallel lines: ``ganbench.metrics.lines``)
    disjoint: float = math.nan

    def __init__(self, generator: str = "alternative"):
        if generator not in GENERATOR_FORMS:
            raise ValueError(f"generator: expected one of {', '.join(GENERATOR_FORMS)}, "
                             f"got {generator!r}")
        self.generator = generator

    @abstractmethod
    def f(self, u: Tensor) -> Tensor:
        """The generator function of the divergence, on density ratios u = p/q >= 0."""

    @abstractmethod
    def output_activation(self, v: Tensor) -> Tensor:
        """g_f: raw critic output -> T, inside the domain of f*."""

    @abstractmethod
    def conjugate(self, t: Tensor) -> Tensor:
        """f*(t) = sup_u u t - f(u), as in the paper's table."""

    def conjugate_of_output(self, v: Tensor) -> Tensor:
        """f*(g_f(v)); members override it with a numerically stable form."""
        return self.conjugate(self.output_activation(v))

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return bmean(self.conjugate_of_output(f)) - bmean(self.output_activation(r))

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        if self.generator == "saddle":  # minimise V: its fake term, -E_Q[f*(g_f(v))]
            return -bmean(self.conjugate_of_output(f))
        return -bmean(self.output_activation(f))

    def target(self, p: Tensor, q: Tensor) -> float:
        """D_f(P || Q) = sum_x q f(p/q) (Q must be positive wherever P is)."""
        return float((q * self.f(p / q)).sum())


def _register(name: str, what: str):
    return REGISTRY.register(
        name, description=f"f-GAN estimating {what}; generator maximises E_Q[g_f(v)] (the paper's alternative form; generator: saddle for the saddle form)",
        reference=NOWOZIN,
        # added after runs were recorded: left out of run ids at its default
        id_neutral=("generator",))


@_register("fgan_kl", "KL(P||Q)")
class KL(FGAN):
    family = "kl"
    disjoint = math.inf
    divergence = "KL(P||Q)"
    activation = "v"

    def f(self, u):
        return torch.xlogy(u, u)

    def output_activation(self, v):
        return v

    def conjugate(self, t):
        return torch.exp(t - 1)

    def optimal_critic(self, p, q):
        return 1 + (p / q).log()


@_register("fgan_reverse_kl", "KL(Q||P)")
class ReverseKL(FGAN):
    family = "reverse_kl"
    disjoint = math.inf
    divergence = "KL(Q||P) (reverse KL)"
    activation = "-exp(-v)"

    def f(self, u):
        return -u.log()

    def output_activation(self, v):
        return -torch.exp(-v)

    def conjugate(self, t):
        return -1 - (-t).log()

    def conjugate_of_output(self, v):
        return v - 1

    def optimal_critic(self, p, q):
        return (p / q).log()  # g_f(v*) = -q/p = f'(p/q)


@_register("fgan_pearson", "Pearson chi^2(P||Q)")
class Pearson(FGAN):
    family = "pearson"
    disjoint = math.inf
    divergence = "Pearson chi^2(P||Q) = sum (p-q)^2/q"
    activation = "v"

    def f(self, u):
        return (u - 1) ** 2

    def output_activation(self, v):
        return v

    def conjugate(self, t):
        return t * t / 4 + t

    def optimal_critic(self, p, q):
        return 2 * (p / q - 1)


@_register("fgan_neyman", "Neyman chi^2(P||Q)")
class Neyman(FGAN):
    family = "neyman"
    disjoint = math.inf
    divergence = "Neyman chi^2(P||Q) = sum (p-q)^2/p"
    activation = "1 - exp(-v)"

    def f(self, u):
        return (1 - u) ** 2 / u

    def output_activation(self, v):
        return 1 - torch.exp(-v)

    def conjugate(self, t):
        return 2 - 2 * torch.sqrt(1 - t)

    def conjugate_of_output(self, v):
        return 2 - 2 * torch.exp(-v / 2)

    def optimal_critic(self, p, q):
        return 2 * (p / q).log()  # g_f(v*) = 1 - (q/p)^2 = f'(p/q)


@_register("fgan_hellinger", "the squared Hellinger distance")
class Hellinger(FGAN):
    family = "hellinger"
    disjoint = 2.0
    divergence = "squared Hellinger sum (sqrt p - sqrt q)^2"
    activation = "1 - exp(-v)"

    def f(self, u):
        return (u.sqrt() - 1) ** 2

    def output_activation(self, v):
        return 1 - torch.exp(-v)

    def conjugate(self, t):
        return t / (1 - t)

    def conjugate_of_output(self, v):
        return torch.expm1(v)

    def optimal_critic(self, p, q):
        return 0.5 * (p / q).log()  # g_f(v*) = 1 - sqrt(q/p) = f'(p/q)


@_register("fgan_jensen_shannon", "2*JSD(P||Q)")
class JensenShannon(FGAN):
    family = "jensen_shannon"
    disjoint = 2 * LOG2
    # Table 1 prints the JS divergence with a factor 1/2, but its f (and the conjugate of
    # Table 2) give D_f = KL(P||M) + KL(Q||M) = 2*JSD; we state what the loss reaches.
    divergence = "2*JSD(P||Q) (f(u) = u log u - (u+1) log((u+1)/2))"
    activation = "log 2 - log(1 + exp(-v))"

    def f(self, u):
        return torch.xlogy(u, u) - (u + 1) * ((u + 1) / 2).log()

    def output_activation(self, v):
        return LOG2 - F.softplus(-v)

    def conjugate(self, t):
        return -(2 - torch.exp(t)).log()

    def conjugate_of_output(self, v):
        return F.softplus(v) - LOG2  # 2 - 2 sigmoid(v) = 2 sigmoid(-v)

    def optimal_critic(self, p, q):
        return (p / q).log()  # g_f(v*) = log(2p/(p+q)) = f'(p/q)


@_register("fgan_gan", "2*JSD(P||Q) - log 4 (the GAN divergence)")
class GANDivergence(FGAN):
    family = "gan"
    disjoint = 0.0
    divergence = "2*JSD(P||Q) - log 4"
    activation = "-log(1 + exp(-v))"

    def f(self, u):
        return torch.xlogy(u, u) - (u + 1) * (u + 1).log()

    def output_activation(self, v):
        return -F.softplus(-v)

    def conjugate(self, t):
        return -(-torch.expm1(t)).log()

    def conjugate_of_output(self, v):
        return F.softplus(v)  # -log(1 - sigmoid(v))

    def optimal_critic(self, p, q):
        return (p / q).log()  # sigmoid(v*) = p/(p+q)


@_register("fgan_total_variation", "the total variation distance")
class TotalVariation(FGAN):
    family = "total_variation"
    disjoint = 1.0
    divergence = "TV(P,Q) = 1/2 sum |p-q|"
    activation = "tanh(v)/2"

    def f(self, u):
        return 0.5 * (u - 1).abs()

    def output_activation(self, v):
        return 0.5 * torch.tanh(v)

    def conjugate(self, t):
        return t  # on its domain |t| <= 1/2

    def optimal_critic(self, p, q):
        # T* = sign(p - q)/2 is reached only as |v| -> inf; tanh(+-inf) is exact
        return torch.sign(p - q) * torch.where(p == q, 0.0, math.inf)


class _JeffreyConjugate:
    """Jeffrey's f*(t) = W(e^(1-t)) + 1/W(e^(1-t)) + t - 2 (the paper's Table 2), with W the
    principal Lambert W: W solves W + log W = 1 - t, found by Newton's method in float64
    (from the log of the argument, so e^(1-t) never overflows); scipy.special.lambertw is
    the reference it is tested against. The gradient is exact: df*/dt = 1/W (= the u at
    which the supremum is reached), through one Newton step taken with autograd at the root;
    higher derivatives through W are not (W is held at the root)."""

    @staticmethod
    def w_of_log(L: Tensor) -> Tensor:
        """W(e^L) for real L (no gradient)."""
        x = L.detach().double()
        # start: W ~ e^L for small arguments, L - log L for large ones
        w = torch.where(x < 1.0, torch.exp(x) / (1 + torch.exp(x)).sqrt(),
                        x - torch.log(x.clamp(min=1.0)))
        w = w.clamp(min=1e-300)
        for _ in range(60):
            step = (w + torch.log(w) - x) / (1 + 1 / w)
            w = (w - step).clamp(min=1e-300)
            if bool((step.abs() <= 1e-15 * w).all()):
                break
        return w

    @classmethod
    def value(cls, t: Tensor) -> Tensor:
        # in float64 (1/W reaches e^(t-1)), the result in t's dtype (inf where it overflows)
        td = t.double()
        L = 1 - td
        w0 = cls.w_of_log(L)
        # one Newton step with autograd: equal to the root, with the root's derivative in t
        w = w0 - (w0 + torch.log(w0) - L) / (1 + 1 / w0)
        out = w + 1 / w + td - 2
        # W below float64's range (t > ~700): f* ~ e^(t-1) overflows, as KL's conjugate does
        return torch.where(w0 > 1e-290, out, torch.full_like(out, math.inf)).to(t.dtype)


@_register("fgan_jeffrey", "Jeffrey's divergence KL(P||Q) + KL(Q||P)")
class Jeffrey(FGAN):
    family = "jeffrey"
    disjoint = math.inf
    divergence = "Jeffrey KL(P||Q) + KL(Q||P) = sum (p - q) log(p/q)"
    activation = "v"

    def f(self, u):
        return (u - 1) * u.log()

    def output_activation(self, v):
        return v

    def conjugate(self, t):
        return _JeffreyConjugate.value(t)

    def optimal_critic(self, p, q):
        u = p / q
        return u.log() + 1 - 1 / u  # f'(u)
