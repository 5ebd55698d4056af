"""Optimisers for ensembles: per-member hyper-parameters and a mask of live members.

Adam and SGD are element-wise, so stacking members along the first axis keeps each
member's update identical to training it alone. Dead (diverged) members are frozen by the
mask with ``torch.where`` (NaN * 0 would still be NaN). ``optimistic=True`` gives
optimistic mirror descent (OAdam / optimistic SGD, Daskalakis et al. 2018):
p <- p - lr * (2 u_t - u_{t-1}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

OPTIMIZERS = ("adam", "sgd")


def per_member(x: Sequence[float] | Tensor, like: Tensor) -> Tensor:
    return torch.as_tensor(x, dtype=like.dtype, device=like.device)


def _bcast(v: Tensor, p: Tensor) -> Tensor:
    return v.view(-1, *([1] * (p.ndim - 1)))


def _sqrt(x: Tensor) -> Tensor:
    """sqrt whose gradient is 0 (not NaN) where x = 0 (an untouched Adam second moment)."""
    if not x.requires_grad:
        return x.sqrt()
    pos = x > 0
    return torch.where(pos, torch.where(pos, x, 1.0).sqrt(), 0.0)


@dataclass
class OptState:
    """Step count and moments (m: first moment / momentum, v: second moment, prev: last
    direction of an optimistic optimiser), one tensor per parameter."""

    t: int
    m: list[Tensor]
    v: list[Tensor]
    prev: list[Tensor]


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

    def state(self) -> OptState:
        return OptState(self.t, self.m, self.v, self.prev)

    def update(self, params: list[Tensor], grads: list[Tensor], state: OptState
               ) -> tuple[list[Tensor], OptState]:
        """The parameters and optimiser state after one step with ``grads``, out of place
        and differentiable: ``step`` applies it, and unrolled GANs differentiate through it."""
        t = state.t + 1
        new, ms, vs, prev = [], [], [], []
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.kind == "adam":
                m = torch.add(state.m[i] * self.beta1, g, alpha=1 - self.beta1)
                v = torch.addcmul(state.v[i] * self.beta2, g, g, value=1 - self.beta2)
                mh = m / (1 - self.beta1**t)
                vh = v / (1 - self.beta2**t)
                u = mh / (_sqrt(vh) + self.eps)
                ms.append(m)
                vs.append(v)
            elif self.momentum:
                u = torch.add(state.m[i] * self.momentum, g)
                ms.append(u)
            else:
                u = g
                ms.append(state.m[i])
            if self.optimistic:
                u, last = 2 * u - state.prev[i], u
                prev.append(last)
            new.append(p - _bcast(self.lr, p) * u)
        return new, OptState(t, ms, vs, prev)

    @torch.no_grad()
    def step(self, grads: list[Tensor], alive: Tensor | None = None) -> None:
        new, st = self.update(self.params, grads, self.state())
        self.t, self.m, self.v, self.prev = st.t, st.m, st.v, st.prev
        for p, q in zip(self.params, new):
            if alive is not None:
                q = torch.where(_bcast(alive, p), q, p)
            p.copy_(q)

    def state_dict(self) -> dict:
        return {"t": self.t, "m": self.m, "v": self.v, "prev": self.prev, "lr": self.lr}

    def load_state_dict(self, sd: dict) -> None:
        self.t = sd["t"]
        for dst, src in ((self.m, sd["m"]), (self.v, sd["v"]), (self.prev, sd["prev"])):
            for a, b in zip(dst, src):
                a.copy_(b)
        self.lr = sd["lr"].to(self.lr)
