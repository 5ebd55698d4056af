"""One training step of every scheme (the registry's defaults) on the ring, for an
ensemble of 4 runs with the headline suite's model."""

import pytest

from benchmarks.conftest import built_game, sync
from ganbench.schemes import REGISTRY as SCHEMES

MEMBERS = 4


@pytest.mark.parametrize("name", SCHEMES.names())
def test_scheme_step(benchmark, device, name):
    built = built_game(device, MEMBERS, scheme=name)

    def step():
        built.scheme.step(built.game)
        sync(device)

    step()  # first call allocates optimiser state and warms kernels
    benchmark.group = "scheme step"
    benchmark.extra_info.update(members=MEMBERS, device=str(device),
                                batch=built.game.batch_size)
    benchmark(step)
