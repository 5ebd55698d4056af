"""Each objective's losses (both players, forward and backward) on raw critic outputs of
an ensemble: [members, batch] tensors, as the trainer hands them over."""

import pytest
import torch

from ganbench.objectives import REGISTRY as OBJECTIVES

MEMBERS, BATCH = 16, 256


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_objective_losses(benchmark, device, sync, name):
    objective = OBJECTIVES.create(name)
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(MEMBERS, BATCH, generator=gen).to(device).requires_grad_()
    fake = torch.randn(MEMBERS, BATCH, generator=gen).to(device).requires_grad_()
    uses_real = getattr(objective, "uses_real_in_g", False)

    def losses():
        d = objective.d_loss(real, fake).sum()
        g = objective.g_loss(fake, real if uses_real else None).sum()
        torch.autograd.grad(d + g, (real, fake))
        sync()

    benchmark.group = "objective losses"
    benchmark.extra_info.update(members=MEMBERS, batch=BATCH, device=str(device))
    benchmark(losses)
