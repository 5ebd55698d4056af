"""Optimisers for ensembles: per-member hyper-parameters and a mask of live members.

Adam, RMSProp and SGD are element-wise, so stacking members along the first axis keeps
each member's update identical to training it alone. Every hyper-parameter (learning rate,
betas, momentum) is per member, so runs that differ in them share one ensemble. RMSProp's
decay (torch's ``alpha``) is ``beta2``. Dead (diverged) members are frozen by the mask with
``torch.where`` (NaN * 0 would still be NaN). ``optimistic=True`` gives
optimistic mirror descent (OAdam / optimistic SGD, Daskalakis et al. 2018):
p <- p - lr * (2 u_t - u_{t-1}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

OPTIMIZERS = ("adam", "sgd", "rmsprop")

Floats = Sequence[float] | float


def per_member(x: Floats | Tensor, like: Tensor, n: int | None = None,
               dtype: torch.dtype | None = None) -> Tensor:
    """A hyper-parameter as a [E] tensor (a scalar is repeated for the n members)."""
    t = torch.as_tensor(x, dtype=dtype or like.dtype, device=like.device)
    return t.expand(n).clone() if t.ndim == 0 and n is not None else t


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
    def __init__(self, params: list[Tensor], lr: Floats, kind: str = "adam",
                 beta1: Floats = 0.5, beta2: Floats = 0.999, eps: float = 1e-8,
                 momentum: Floats = 0.0, optimistic: bool = False):
        if kind not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {kind!r}; valid: {', '.join(OPTIMIZERS)}")
        self.params = list(params)
        self.kind = kind
        p0 = self.params[0]
        self.lr = per_member(lr, p0)
        n = self.lr.numel()
        self.beta1, self.beta2 = per_member(beta1, p0, n), per_member(beta2, p0, n)
        # bias corrections 1 - beta^t in double precision, as Python floats would be
        self._beta1_64 = per_member(beta1, p0, n, torch.float64)
        self._beta2_64 = per_member(beta2, p0, n, torch.float64)
        self._a1 = (1 - self._beta1_64).to(p0.dtype)  # 1 - beta rounded once, from double
        self._a2 = (1 - self._beta2_64).to(p0.dtype)
        self.momentum = per_member(momentum, p0, n)
        self._has_momentum = bool((self.momentum != 0).any())  # once: no sync per step
        self.eps = eps
        self.optimistic = optimistic
        self.t = 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params] if kind != "sgd" else []
        self.prev = [torch.zeros_like(p) for p in self.params] if optimistic else []

    def state(self) -> OptState:
        return OptState(self.t, self.m, self.v, self.prev)

    def update(self, params: list[Tensor], grads: list[Tensor], state: OptState
               ) -> tuple[list[Tensor], OptState]:
        """The parameters and optimiser state after one step with ``grads``, out of place
        and differentiable: ``step`` applies it, and unrolled GANs differentiate through it."""
        t = state.t + 1
        new, ms, vs, prev = [], [], [], []
        p0 = params[0]
        c1 = (1 - self._beta1_64**t).to(p0.dtype)
        c2 = (1 - self._beta2_64**t).to(p0.dtype)
        for i, (p, g) in enumerate(zip(params, grads)):
            if self.kind == "adam":
                m = torch.addcmul(state.m[i] * _bcast(self.beta1, p), _bcast(self._a1, p), g)
                v = torch.addcmul(state.v[i] * _bcast(self.beta2, p), _bcast(self._a2, p) * g, g)
                mh = m / _bcast(c1, p)
                vh = v / _bcast(c2, p)
                u = mh / (_sqrt(vh) + self.eps)
                ms.append(m)
                vs.append(v)
            elif self.kind == "rmsprop":  # Tieleman & Hinton; beta2 is the decay (alpha)
                v = torch.addcmul(state.v[i] * _bcast(self.beta2, p), _bcast(self._a2, p) * g, g)
                u = g / (_sqrt(v) + self.eps)
                ms.append(state.m[i])
                vs.append(v)
            elif self._has_momentum:
                u = state.m[i] * _bcast(self.momentum, p) + g
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

    # --- per-member state (checkpoints hold one run each) -------------------------------
    def member_state(self, i: int) -> dict:
        """Member i's optimiser state (moments and step count), on the CPU."""
        return {"t": self.t, **{k: [x[i].detach().cpu().clone() for x in getattr(self, k)]
                                for k in ("m", "v", "prev")}}

    @torch.no_grad()
    def load_member_states(self, states: list[dict]) -> None:
        """Stack the members' saved states (one per member, in member order)."""
        if len({s["t"] for s in states}) != 1:
            raise ValueError("members' optimiser states are at different steps")
        self.t = int(states[0]["t"])
        for k in ("m", "v", "prev"):
            for j, dst in enumerate(getattr(self, k)):
                dst.copy_(torch.stack([s[k][j] for s in states]))
