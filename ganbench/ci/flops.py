"""A training step's FLOPs and the machine's attainable throughput at the step's own shapes.

FLOPs are counted with torch's own formulas (``torch.utils.flop_counter.flop_registry``,
the table ``FlopCounterMode`` uses): matrix products (mm, addmm, bmm, baddbmm) and
convolutions, forward and backward, the penalties' second differentiation included;
elementwise work counts nothing. While counting, every such call is recorded with its
shapes, strides and dtypes (after autocast: a bf16 step records bf16 products).

The attainable time of a step is the sum, over its recorded calls, of the same call timed
alone on freshly allocated tensors of the same layout (best of a few repeats, in the same
process). Utilisation = attainable time / measured step time = achieved GFLOP/s /
attainable GFLOP/s: the share of the machine's own product speed the step reaches.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


def _spec(x: Any) -> Any:
    """A hashable description of an argument, from which ``_make`` rebuilds one like it."""
    if isinstance(x, torch.Tensor):
        return ("tensor", tuple(x.shape), tuple(x.stride()), x.dtype, str(x.device))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_spec(v) for v in x))
    return ("value", x)


def _make(spec: Any) -> Any:
    kind = spec[0]
    if kind == "tensor":
        _, shape, stride, dtype, device = spec
        size = 1 + sum((n - 1) * s for n, s in zip(shape, stride) if n > 0)
        base = torch.randn(size, device=device).to(dtype)
        return base.as_strided(shape, stride)
    if kind in ("list", "tuple"):
        items = [_make(v) for v in spec[1]]
        return items if kind == "list" else tuple(items)
    return spec[1]


class _Recorder(TorchDispatchMode):
    """Counts FLOPs of the calls torch has a formula for and records their layouts."""

    def __init__(self):
        super().__init__()
        self.flops = 0
        self.calls: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func.overloadpacket)
        if formula is not None:
            self.flops += int(formula(*args, **kwargs, out_val=out))
            self.calls[(func, _spec(tuple(args)), _spec(tuple(sorted(kwargs.items()))))] += 1
        return out


@dataclass
class StepCost:
    """One training step: its FLOPs, and the time its products take alone."""

    flops: int
    attainable_s: float
    calls: int        # recorded product / convolution calls
    shapes: int       # distinct layouts among them


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(key: tuple, device: torch.device, repeat: int = 5) -> float:
    """Best time of one recorded call, replayed alone on fresh tensors of its layout."""
    func, args, kwargs = key
    a, kw = _make(args), dict(_make(kwargs))
    func(*a, **kw)  # warm-up: kernel choice, allocation
    best = float("inf")
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        func(*a, **kw)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def step_cost(built, device: torch.device, repeat: int = 5) -> StepCost:
    """Count one step of a built group (it trains the group one step) and time its
    products alone."""
    rec = _Recorder()
    with rec:
        built.step()
    _sync(device)
    with torch.no_grad():
        attainable = sum(n * time_call(k, device, repeat) for k, n in rec.calls.items())
    return StepCost(rec.flops, attainable, sum(rec.calls.values()), len(rec.calls))


def profile_steps(built, steps: int, top: int = 15) -> str:
    """Where a group's steps spend their time, per op (``torch.profiler``, self CPU time;
    with CUDA time too on a GPU): the measurement behind a utilisation below the goal."""
    from torch.profiler import ProfilerActivity, profile

    dev = built.game.alive.device
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda"
                                           else [])
    built.step()  # warm-up outside the profile
    with profile(activities=activities) as prof:
        for _ in range(steps):
            built.step()
        _sync(dev)
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=top)
