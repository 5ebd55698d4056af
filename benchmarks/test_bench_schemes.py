"""One training step of every scheme (the registry's defaults) on the ring, for an
ensemble of 4 runs with the headline suite's model."""

import pytest

from ganbench.schemes import REGISTRY as SCHEMES

MEMBERS = 4


@pytest.mark.parametrize("name", SCHEMES.names())
def test_scheme_step(benchmark, device, sync, built_game, name):
    built = built_game(MEMBERS, scheme=name)

    def step():
        built.scheme.step(built.game)
        sync()

    step()  # first call allocates optimiser state and warms kernels
    benchmark.group = "scheme step"
    benchmark.extra_info.update(members=MEMBERS, device=str(device),
                                batch=built.game.batch_size)
    benchmark(step)
