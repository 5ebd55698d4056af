"""Exponential moving average of the generator's parameters, one decay per member."""

from __future__ import annotations

import torch
from torch import Tensor


class EMA:
    """Exponential moving average of the generator's parameters, one decay per member; a
    member with decay 0 is evaluated at its raw parameters."""

    def __init__(self, params: list[Tensor], decays: list[float]):
        dev = params[0].device
        self.on = torch.tensor([d > 0 for d in decays], device=dev)
        self.weight = torch.tensor([1 - d for d in decays], dtype=params[0].dtype, device=dev)
        self.shadow = [p.detach().clone() for p in params]

    @staticmethod
    def create(params: list[Tensor], decays: list[float]) -> EMA | None:
        return EMA(params, decays) if any(d > 0 for d in decays) else None

    @torch.no_grad()
    def update(self, params: list[Tensor]) -> None:
        for s, p in zip(self.shadow, params):
            s.lerp_(p, self.weight.view(-1, *([1] * (p.ndim - 1))))

    def params(self, module: torch.nn.Module) -> dict[str, Tensor]:
        """The parameters to evaluate: the average where a member keeps one, else raw."""
        out = {}
        for (name, p), s in zip(module.named_parameters(), self.shadow):
            out[name] = torch.where(self.on.view(-1, *([1] * (p.ndim - 1))), s, p.detach())
        return out

    def member_state(self, i: int) -> list[Tensor]:
        return [s[i].cpu().clone() for s in self.shadow]

    @torch.no_grad()
    def load_member_states(self, states: list[list[Tensor]]) -> None:
        for j, sh in enumerate(self.shadow):
            sh.copy_(torch.stack([s[j] for s in states]).to(sh))
