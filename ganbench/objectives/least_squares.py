"""Least-squares GAN (Mao et al. 2017) with the a-b-c coding of its equation (2).

The critic minimises 1/2 E_P[(D - b)^2] + 1/2 E_Q[(D - a)^2] (that is d_loss itself: the
paper writes the critic's problem as a minimisation), the generator 1/2 E_Q[(D - c)^2].
The optimal critic is D* = (b p + a q) / (p + q), where

    -d_loss = (b-a)^2/8 * Delta(P,Q) - (b-a)^2/4,    Delta(P,Q) = sum (p-q)^2 / (p+q)

(Delta is the triangular discrimination; Mao et al.'s "chi^2_Pearson(P+Q || 2Q)" with the
denominator P + Q). The default a=-1, b=1, c=0 is the paper's b-c=1, b-a=2 coding, for
which -d_loss = Delta/2 - 1 and the generator minimises that chi^2; the 0-1 coding
(a=0, b=1, c=1) gives Delta/8 - 1/4.

Convention: much peer code (and the paper's experiments) uses the 0-1 coding (a, b, c) =
(0, 1, 1); ``lsgan`` defaults to (-1, 1, 0). Their critic losses are the same up to the
change of variable D' = (D + 1)/2 and a factor 1/4, but the generators differ: with c = 1
the generator pulls fakes to the real target and no longer minimises the chi^2 (b - c = 0).
Write {name: lsgan, a: 0, b: 1, c: 1} to match such code.
"""

from __future__ import annotations

from torch import Tensor

from ganbench.objectives.base import Objective, bmean
from ganbench.objectives.registry import REGISTRY


def triangular(p: Tensor, q: Tensor) -> float:
    """Triangular discrimination sum (p - q)^2 / (p + q) over the joint support."""
    s = p + q
    m = s > 0
    return float(((p[m] - q[m]) ** 2 / s[m]).sum())


@REGISTRY.register(
    "lsgan",
    description="least squares: critic regresses real to b, fake to a; generator pulls fakes to c (default a=-1, b=1, c=0; the 0-1 coding is a=0, b=1, c=1)",
    reference="Mao et al. 2017, Least Squares Generative Adversarial Networks (ICCV)",
)
class LSGAN(Objective):
    """Mao et al.'s a-b-c losses; (a, b, c) = (-1, 1, 0) by default, the paper's chi^2
    coding. Peer code often uses (0, 1, 1) instead: see the module docstring."""

    divergence = "Delta(P,Q)/2 - 1, Delta = sum (p-q)^2/(p+q) (a=-1, b=1, c=0)"
    activation = "identity"

    def __init__(self, a: float = -1.0, b: float = 1.0, c: float = 0.0):
        if a == b:
            raise ValueError(f"lsgan needs a != b (the real and fake targets), got a = b = {a}")
        self.a, self.b, self.c = float(a), float(b), float(c)

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return 0.5 * bmean((r - self.b) ** 2) + 0.5 * bmean((f - self.a) ** 2)

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return 0.5 * bmean((f - self.c) ** 2)

    def optimal_critic(self, p: Tensor, q: Tensor) -> Tensor:
        return (self.b * p + self.a * q) / (p + q)

    def target(self, p: Tensor, q: Tensor) -> float:
        k = (self.b - self.a) ** 2
        return k / 8 * triangular(p, q) - k / 4

    def __repr__(self) -> str:
        return f"LSGAN(a={self.a}, b={self.b}, c={self.c})"
