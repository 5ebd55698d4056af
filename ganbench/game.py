"""The game a scheme plays: two ensemble players, an objective, a regularizer, optimisers
and each member's random streams. Schemes decide the order and form of the updates; the
game knows how to compute each player's loss and gradients at any parameter point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from ganbench.data.base import Dataset
from ganbench.objectives.base import Objective
from ganbench.objectives.regularizers import Regularizer
from ganbench.optim import MemberOptimizer
from ganbench.seeding import MemberRandom

Params = dict[str, Tensor]


def score_of(out: Tensor) -> Tensor:
    """Critic outputs -> scores [E, N] (extra per-sample columns, as InfoGAN's, dropped)."""
    return out[..., 0] if out.ndim == 3 else out


def pack_code(z: Tensor, code: Tensor, k: int) -> Tensor:
    """Latent [.., N, latent] and code indices [.., N] -> [z, onehot(code)]."""
    return torch.cat([z, F.one_hot(code, k).to(z)], dim=-1)


def params_of(module: nn.Module) -> Params:
    return dict(module.named_parameters())


@dataclass
class Game:
    G: nn.Module
    D: nn.Module
    objective: Objective
    regularizer: Regularizer | None
    opt_g: MemberOptimizer
    opt_d: MemberOptimizer
    dataset: Dataset
    data_rng: MemberRandom
    noise_rng: MemberRandom
    reg_rng: MemberRandom
    latent_dim: int
    batch_size: int
    alive: Tensor  # [E] bool: members that have not diverged
    packing: str | None = None  # see models/conditional.py
    num_codes: int = 0

    @property
    def members(self) -> int:
        return int(self.alive.shape[0])

    @property
    def g_params(self) -> list[Tensor]:
        return list(self.G.parameters())

    @property
    def d_params(self) -> list[Tensor]:
        return list(self.D.parameters())

    # --- sampling ---------------------------------------------------------------
    def real(self) -> Tensor:
        b, dev = self.batch_size, self.data_rng.device
        if self.packing is None:
            return torch.stack([self.dataset.sample(b, g, dev) for g in self.data_rng.gens])
        xs, ys = zip(*(self.dataset.sample_labeled(b, g, dev) for g in self.data_rng.gens))
        x, y = torch.stack(xs).flatten(2), torch.stack(ys)
        c = F.one_hot(y, self.num_codes).to(x) if self.packing == "label" else \
            x.new_zeros(*x.shape[:2], self.num_codes)  # InfoGAN: the critic never sees a code
        return torch.cat([x, c], dim=-1)

    def noise(self) -> Tensor:
        z = self.noise_rng.randn(self.batch_size, self.latent_dim)
        if self.packing is None:
            return z
        c = self.noise_rng.randint(self.num_codes, self.batch_size)
        return pack_code(z, c, self.num_codes)

    # --- players as functions of (optional) parameters ----------------------------
    def generate(self, z: Tensor, g_params: Params | None = None) -> Tensor:
        return self.G(z) if g_params is None else functional_call(self.G, g_params, (z,))

    def critic(self, d_params: Params | None = None) -> Callable[[Tensor], Tensor]:
        if d_params is None:
            return self.D
        return lambda x: functional_call(self.D, d_params, (x,))

    # --- losses (one per member, [E]) ----------------------------------------------
    def _penalised(self, critic: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
        """The critic as regularizers see it: its score only (InfoGAN adds Q columns)."""
        return lambda x: score_of(critic(x))

    def _inputs(self, x: Tensor) -> Tensor:
        return x if self.regularizer is None else self.regularizer.perturb(x, self.reg_rng.rand)

    def d_loss(self, real: Tensor, fake: Tensor, d_params: Params | None = None) -> Tensor:
        critic = self.critic(d_params)
        real, fake = self._inputs(real), self._inputs(fake)
        loss = self.objective.d_loss(critic(real), critic(fake))
        if self.regularizer is not None and self.regularizer.weight:
            pen = self.regularizer.penalty(self._penalised(critic), real, fake, self.reg_rng.rand)
            if pen is not None:
                loss = loss + self.regularizer.weight * pen
        return loss

    def g_loss(self, z: Tensor, real: Tensor | None = None, d_params: Params | None = None,
               g_params: Params | None = None) -> Tensor:
        critic = self.critic(d_params)
        d_fake = critic(self._inputs(self.generate(z, g_params)))
        d_real = critic(self._inputs(real)) if real is not None else None
        return self.objective.g_loss(d_fake, d_real)

    def needs_real_for_g(self) -> bool:
        return getattr(self.objective, "uses_real_in_g", False)

    # --- gradients -------------------------------------------------------------------
    def d_step_grads(self, create_graph: bool = False) -> tuple[Tensor, list[Tensor]]:
        """Critic loss and gradients on a fresh batch, generator held fixed."""
        real = self.real()
        with torch.no_grad():
            fake = self.generate(self.noise())
        loss = self.d_loss(real, fake)
        grads = torch.autograd.grad(loss.sum(), self.d_params, create_graph=create_graph)
        return loss.detach(), list(grads)

    def g_step_grads(self) -> tuple[Tensor, list[Tensor]]:
        z = self.noise()
        real = self.real() if self.needs_real_for_g() else None
        loss = self.g_loss(z, real)
        grads = torch.autograd.grad(loss.sum(), self.g_params)
        return loss.detach(), list(grads)

    def step_d(self, grads: list[Tensor]) -> None:
        self.opt_d.step(grads, self.alive)
        if self.regularizer is not None:
            self.regularizer.after_critic_step(self.d_params)

    def step_g(self, grads: list[Tensor]) -> None:
        self.opt_g.step(grads, self.alive)
