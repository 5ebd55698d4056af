"""Optimisers for ensembles: per-member hyper-parameters and a mask of live members.

Adam and SGD are element-wise, so stacking members along the first axis keeps each
member's update identical to training it alone. Dead (diverged) members are frozen by the
mask with ``torch.where`` (NaN * 0 would still be NaN). ``optimistic=True`` gives
optimistic mirror descent (OAdam / optimistic SGD, Daskalakis et al. 2018):
p <- p - lr * (2 u_t - u_{t-1}).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

OPTIMIZERS = ("adam", "sgd")


def per_member(x: Sequence[float] | Tensor, like: Tensor) -> Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _bcast(v: Tensor, p: Tensor) -> Tensor:
    return v.view(-1, *([1] * (p.ndim - 1)))


class MemberOptimizer:
    def __init__(self, params: list[Tensor], lr: Sequence[float], kind: str = "adam",
                 beta1: float = 0.5, beta2: float = 0.999, eps: float = 1e-8,
                 momentum: float = 0.0, optimistic: bool = False):
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}; valid: {', '.join(OPTIMIZERS)}")
        self.params = list(params)
        self.kind = kind
        self.lr = per_member(lr, self.params[0])
        self.beta1, self.beta2, self.eps, self.momentum = beta1, beta2, eps, momentum
        self.optimistic = optimistic
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params] if kind == "adam" else []
        self.prev = [torch.zeros_like(p) for p in self.params] if optimistic else []

    def direction(self, grads: list[Tensor]) -> list[Tensor]:
        """Update the moments with ``grads`` and return the step direction u_t."""
        self.t += 1
        out = []
        for i, g in enumerate(grads):
            if self.kind == "adam":
                self.m[i].mul_(self.beta1).add_(g, alpha=1 - self.beta1)
                self.v[i].mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                mh = self.m[i] / (1 - self.beta1**self.t)
                vh = self.v[i] / (1 - self.beta2**self.t)
                out.append(mh / (vh.sqrt() + self.eps))
            elif self.momentum:
                self.m[i].mul_(self.momentum).add_(g)
                out.append(self.m[i].clone())
            else:
                out.append(g)
        return out

    @torch.no_grad()
    def step(self, grads: list[Tensor], alive: Tensor | None = None) -> None:
        for i, (p, u) in enumerate(zip(self.params, self.direction(grads))):
            if self.optimistic:
                u, self.prev[i] = 2 * u - self.prev[i], u
            new = p - _bcast(self.lr, p) * u
            if alive is not None:
                new = torch.where(_bcast(alive, p), new, p)
            p.copy_(new)

    def state_dict(self) -> dict:
        return {"t": self.t, "m": self.m, "v": self.v, "prev": self.prev, "lr": self.lr}

    def load_state_dict(self, sd: dict) -> None:
        self.t = sd["t"]
        for dst, src in ((self.m, sd["m"]), (self.v, sd["v"]), (self.prev, sd["prev"])):
            for a, b in zip(dst, src):
                a.copy_(b)
        self.lr = sd["lr"].to(self.lr)
