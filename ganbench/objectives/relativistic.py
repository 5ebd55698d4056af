"""Relativistic GANs (Jolicoeur-Martineau 2019): the critic judges whether real data is
more realistic than fake data, so the generator's loss also sees the critic on real data
(``uses_real_in_g``).

Neither objective has a closed-form optimal critic. Both values are concave in the
critic's outputs (log sigmoid of linear maps), so on a finite support their supremum is
found reliably by a few L-BFGS steps in float64: ``target`` does that, from the population
form of the value (an exact expectation over P x Q), and equals -log 2 (RSGAN) or -log 4
(RaGAN) exactly when P = Q.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbench.objectives.base import Objective, bmean
from ganbench.objectives.registry import REGISTRY

JOLICOEUR = ("Jolicoeur-Martineau 2019, The relativistic discriminator: a key element missing "
             "from standard GAN (ICLR)")


def maximise(value: Callable[[Tensor], Tensor], n: int, iters: int = 200) -> tuple[Tensor, float]:
    """Argmax and max of a smooth concave ``value`` of n critic outputs (float64 L-BFGS)."""
    c = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([c], lr=1.0, max_iter=iters, tolerance_grad=1e-13,
                            tolerance_change=1e-16, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -value(c)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return c.detach(), float(value(c))


def _real(r: Tensor | None, name: str) -> Tensor:
    if r is None:
        raise ValueError(f"{name}: the generator loss needs the critic's outputs on real data")
    return r


class _Relativistic(Objective):
    uses_real_in_g = True

    @abstractmethod
    def population_value(self, c: Tensor, p: Tensor, q: Tensor) -> Tensor:
        """The value E[...] with critic outputs c on a finite support carrying P and Q."""

    def target(self, p: Tensor, q: Tensor) -> float:
        p, q = p.double(), q.double()
        return maximise(lambda c: self.population_value(c, p, q), p.numel())[1]


@REGISTRY.register(
    "rsgan",
    description="relativistic standard GAN: sigmoid of C(real) - C(fake) on paired samples",
    reference=JOLICOEUR,
)
class RSGAN(_Relativistic):
    divergence = "sup_C E_{PxQ} log sigmoid(C(x_r) - C(x_f)) (= -log 2 iff P = Q; numerical)"
    activation = "sigmoid(C(x_r) - C(x_f))"

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        return bmean(F.softplus(f - r))  # -log sigmoid(r - f), pairs (r_i, f_i)

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        return bmean(F.softplus(_real(r, "rsgan") - f))

    def population_value(self, c, p, q):
        diff = c[:, None] - c[None, :]  # [real point, fake point]
        return (p[:, None] * q[None, :] * F.logsigmoid(diff)).sum()


@REGISTRY.register(
    "ragan",
    description="relativistic average GAN: sigmoid of C(real) - mean C(fake) and of C(fake) - mean C(real); losses sum both terms (2x code that averages them)",
    reference=JOLICOEUR + ", section 4.3",
)
class RaGAN(_Relativistic):
    """The paper's RaGAN losses: each is the *sum* of its two terms (real vs the mean fake,
    fake vs the mean real), as in its equations. Convention: the author's code and most peer
    code average the two terms, so their losses (and gradients) are half of these: with
    SGD that is a factor 2 in the step size, and a regularizer's weight counts double there."""

    divergence = ("sup_C E_P log sigmoid(C - E_Q C) + E_Q log sigmoid(E_P C - C) "
                  "(= -log 4 iff P = Q; numerical)")
    activation = "sigmoid(C(x) - E_other C)"

    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        rr = r - f.mean(-1, keepdim=True)
        ff = f - r.mean(-1, keepdim=True)
        return bmean(F.softplus(-rr)) + bmean(F.softplus(ff))

    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        r = _real(r, "ragan")
        return self._d(f, r)  # the roles of real and fake swapped

    def population_value(self, c, p, q):
        mp, mq = (p * c).sum(), (q * c).sum()
        return (p * F.logsigmoid(c - mq)).sum() + (q * F.logsigmoid(mp - c)).sum()

