"""Reduced precision of a training step (``training.precision``): fp32 | bf16 | fp16.

bf16 and fp16 run the players' forward passes under ``torch.autocast`` (matrix products in
the low precision, losses and reductions in fp32 as autocast's op lists decide); their
backward passes follow the forward's dtypes. Parameters (the master weights), their
gradients, the optimisers' state, EMA and every evaluation stay fp32: autocast casts a
weight on the fly and the gradient of an fp32 leaf is fp32.

fp16 needs loss scaling against underflowing gradients and is refused until the step has
it; bf16 has fp32's exponent range and needs none.

On a CPU without native bf16 (AVX-512 BF16 / AMX through oneDNN) bf16 is emulated and far
slower than fp32: ``check_precisions`` measures the slowdown at a GEMM of the MLP's shapes
and says it (a warning: the run is still correct, only slow).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable

import torch

PRECISIONS = ("fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(precision: str, device: torch.device):
    """The context a training step runs in: nothing for fp32, autocast otherwise."""
    if precision not in DTYPES:
        raise ValueError(f"training.precision: expected one of {', '.join(PRECISIONS)}, "
                         f"got {precision!r}")
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16":  # every path refuses it (run_suite does before writing anything)
        raise ValueError("training.precision: fp16 needs loss scaling, which the step does "
                         "not have yet; use bf16 or fp32")
    # no cast cache: a step updates the weights in place inside this context, and a cached
    # low-precision copy would let later passes of the same step read the old weights
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision], cache_enabled=False)


def native_bf16(device: torch.device) -> bool:
    """Whether the device computes bf16 matrix products natively."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def gemm_seconds(dtype: torch.dtype, device: torch.device, shape=(4, 256, 128, 128),
                 repeat: int = 5) -> float:
    """Best time of one batched product [E, N, K] @ [E, K, M] in ``dtype``."""
    E, N, K, M = shape
    x = torch.randn(E, N, K, device=device).to(dtype)
    w = torch.randn(E, K, M, device=device).to(dtype)
    torch.bmm(x, w)  # warm-up (kernel choice)
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        torch.bmm(x, w)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return best


@functools.lru_cache(maxsize=8)
def bf16_slowdown(device: str) -> float:
    """bf16 time / fp32 time of one product of the MLP's shapes, measured once per process."""
    dev = torch.device(device)
    return gemm_seconds(torch.bfloat16, dev) / gemm_seconds(torch.float32, dev)


def check_precisions(precisions: Iterable[str], device: torch.device) -> list[str]:
    """Refuse what the device cannot run (ValueError: fp16, which needs loss scaling the
    step does not have yet, and is for GPUs only); the warnings for what it runs slowly
    (bf16 without native support, with the measured slowdown)."""
    asked = set(precisions)
    unknown = asked - set(PRECISIONS)
    if unknown:
        raise ValueError(f"training.precision: expected one of {', '.join(PRECISIONS)}, got "
                         f"{', '.join(sorted(map(repr, unknown)))}")
    if "fp16" in asked:
        where = ("a CPU has no fast fp16 matrix products; use bf16 or fp32" if device.type
                 != "cuda" else "it needs loss scaling, which the step does not have yet; "
                 "use bf16 (no loss scaling needed) or fp32")
        raise ValueError(f"training.precision: fp16 cannot train on {device.type}: {where}")
    if "bf16" in asked and not native_bf16(device):
        slow = bf16_slowdown(str(device))
        return [f"training.precision bf16: this {device.type} has no native bf16 (AVX-512 "
                f"BF16 / AMX), so bf16 is emulated: a matrix product of the MLP's shapes "
                f"measured {slow:.1f}x slower than in fp32 here; the runs are correct but "
                f"slow (fp32 is the fast choice on this machine)"]
    return []


# --- compiling the players (training.compile) ---------------------------------------------------

# AOT autograd (every backend but eager) cannot differentiate a compiled graph twice
DOUBLE_BACKWARD_SCHEMES = ("unrolled",)


def compile_backend(value: bool | str) -> str | None:
    """``training.compile`` -> a torch.compile backend (True: inductor), or None."""
    if value is False or value is None:
        return None
    return "inductor" if value is True else str(value)


def _has_penalty(reg: dict | list | None) -> bool:
    """Whether a run's regularizer term(s) add a penalty (each of ganbench's penalties
    differentiates the critic with respect to its inputs: a second differentiation)."""
    from ganbench.objectives.regularizers import Regularizer
    from ganbench.registry import registry

    terms = [] if reg is None else reg if isinstance(reg, list) else [reg]
    return any(registry("regularizers").get(t["name"]).penalty is not Regularizer.penalty
               for t in terms)


def check_compile(configs: Iterable[dict], device: torch.device) -> None:
    """Refuse (ValueError) what ``training.compile`` cannot run: CUDA graphs off a GPU, and
    an AOT backend where a step differentiates twice (penalties, unrolled look-aheads)."""
    for cfg in configs:
        backend = compile_backend(cfg["training"].get("compile", False))
        if backend is None:
            continue
        if backend == "cudagraphs" and device.type != "cuda":
            raise ValueError(f"training.compile: cudagraphs needs a GPU; the device is "
                             f"{device.type}")
        if backend == "eager":
            continue
        scheme = cfg["scheme"]["name"]
        if scheme in DOUBLE_BACKWARD_SCHEMES or _has_penalty(cfg.get("regularizer")):
            what = f"scheme {scheme!r}" if scheme in DOUBLE_BACKWARD_SCHEMES else \
                "a gradient penalty"
            raise ValueError(f"training.compile: {backend} cannot train a run with {what}: "
                             "its step differentiates twice, which torch.compile's AOT "
                             "autograd does not support; use compile: false (or eager)")
