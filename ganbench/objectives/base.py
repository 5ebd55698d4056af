"""The objective contract.

An objective maps the critic's raw outputs to the two players' losses. The batch is the
last axis; leading axes are ensemble members (one loss per member). A trailing singleton
axis ([N, 1]) is dropped. ``d_loss`` is minimised by the critic and equals minus the value
function as the objective's paper writes it, so that at the optimal critic ``-d_loss``
equals the divergence the paper derives.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from torch import Tensor


def as_batch(x: Tensor) -> Tensor:
    """[N] or [N, 1] -> [N]; [E, N] stays (batch on the last axis)."""
    if x.ndim >= 2 and x.shape[-1] == 1:
        x = x.squeeze(-1)
    return x


def bmean(x: Tensor) -> Tensor:
    return x.mean(dim=-1)


class Objective(ABC):
    """Base class. Subclasses implement ``_d`` and ``_g`` on [..., N] tensors."""

    #: the divergence that ``-d_loss`` estimates at the optimal critic (text)
    divergence: str = ""
    #: activation the value function applies to the raw critic output
    activation: str = "identity"
    #: the generator's loss needs the critic's outputs on real data (relativistic losses)
    uses_real_in_g: bool = False

    def d_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return self._d(as_batch(d_real), as_batch(d_fake))

    def g_loss(self, d_fake: Tensor, d_real: Tensor | None = None) -> Tensor:
        return self._g(as_batch(d_fake), None if d_real is None else as_batch(d_real))

    @abstractmethod
    def _d(self, r: Tensor, f: Tensor) -> Tensor:
        """The critic's loss on real outputs r and fake outputs f, one per member."""

    @abstractmethod
    def _g(self, f: Tensor, r: Tensor | None) -> Tensor:
        """The generator's loss (r: outputs on real data, for ``uses_real_in_g``)."""

    # --- theory -------------------------------------------------------------
    def optimal_critic(self, p: Tensor, q: Tensor) -> Tensor | None:
        """Raw critic output of the optimal critic at points with real density ``p`` and
        fake density ``q`` (None where no closed form exists)."""
        return None

    def target(self, p: Tensor, q: Tensor) -> float | None:
        """The divergence ``-d_loss`` reaches at the optimal critic, for discrete P, Q."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def jsd(p: Tensor, q: Tensor) -> float:
    """Jensen-Shannon divergence (nats) of two discrete distributions."""
    m = 0.5 * (p + q)
    return float(0.5 * kl(p, m) + 0.5 * kl(q, m))


def kl(p: Tensor, q: Tensor) -> float:
    mask = p > 0
    return float((p[mask] * (p[mask] / q[mask]).log()).sum())


def tv(p: Tensor, q: Tensor) -> float:
    """Total variation distance sup_A |P(A) - Q(A)| = 1/2 sum |p - q|."""
    return float(0.5 * (p - q).abs().sum())


LOG4 = math.log(4.0)
