"""pytest-benchmark benchmarks (not part of the tests): ``tox -e bench``, or
``pytest benchmarks --benchmark-only [--benchmark-autosave] [--benchmark-compare]``.
They run on the default device (CUDA when present) and synchronise it inside the timed call."""

import pytest
import torch

from ganbench.ci.bench import bench_runs
from ganbench.train import build, resolve_device


@pytest.fixture(scope="session")
def device() -> torch.device:
    return resolve_device("auto")


@pytest.fixture(scope="session")
def sync(device):
    """Wait for the device: call at the end of every timed function."""
    def wait() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return wait


@pytest.fixture(scope="session")
def built_game(device):
    """Factory: a ring game of ``members`` runs with the headline suite's model (see
    ganbench.ci.bench); keyword arguments name other plug-ins."""
    def make(members: int = 4, **setup):
        return build(bench_runs(members=members, **setup), device)
    return make
