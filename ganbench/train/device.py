"""Device and environment probing: where a run trains, what that machine is, and how
much memory training took."""

from __future__ import annotations

import platform
import sys
from pathlib import Path
from typing import Any

import torch

from ganbench.util import EnvironmentRefused


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise EnvironmentRefused("device 'cuda' was asked for but CUDA is not available here: "
                                 "run on a machine with a GPU, or pass --device cpu")
    return dev


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_memory(device: torch.device) -> tuple[str, int | None]:
    """('cuda', peak allocated bytes) on a GPU, else ('cpu_rss', peak resident set size)."""
    if device.type == "cuda":
        return "cuda", torch.cuda.max_memory_allocated(device)
    try:
        import resource

        return "cpu_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB
    except (ImportError, OSError):
        return "cpu_rss", None


def environment(device: torch.device) -> dict[str, Any]:
    import numpy

    from ganbench.util.version import version

    return {"python": sys.version.split()[0], "ganbench": version(),
            "torch": torch.__version__, "numpy": numpy.__version__,
            "torch_fidelity": _installed("torch-fidelity"),
            "torchvision": _installed("torchvision"), "platform": platform.platform(),
            "device": str(device), "device_name": device_name(device)}


def _installed(dist: str) -> str | None:
    """A distribution's installed version (None when absent), read from its metadata
    without importing it (torchvision's import alone costs seconds)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
