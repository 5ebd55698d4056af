"""The MLP's ``spectral_norm`` option (Miyato et al. 2018): every layer divided by its
largest singular value, estimated by one power iteration per training-mode forward pass."""

from __future__ import annotations

import torch

from ganbench.models import REGISTRY as MODELS
from ganbench.models import layers as layers_mod
from ganbench.models.layers import EnsembleLinear
from ganbench.seeding import generator

DIM = 2


def critic(seeds, spectral_norm=True, scale=1.0):
    gens = [generator(s, "init") for s in seeds]
    D = MODELS.create("mlp", latent_dim=2, width=32, depth=2,
                      spectral_norm=spectral_norm).critic((DIM,), gens).double()
    with torch.no_grad():  # large weights: a plain critic is then far from 1-Lipschitz
        for p in D.parameters():
            p.mul_(scale)
    return D


def layers(D):
    return [m for m in D.modules() if isinstance(m, EnsembleLinear)]


def warm_up(D, steps=100):
    D.train()
    x = torch.zeros(len(layers(D)[0].weight), 1, DIM, dtype=torch.float64)
    for _ in range(steps):
        D(x)


def lipschitz_ratio(D, seed=0) -> torch.Tensor:
    """max over random pairs of |C(x) - C(y)| / |x - y|, per member."""
    g = torch.Generator().manual_seed(seed)
    E = len(layers(D)[0].weight)
    x = 3 * torch.randn(E, 2000, DIM, generator=g, dtype=torch.float64)
    y = x + 0.3 * torch.randn(E, 2000, DIM, generator=g, dtype=torch.float64)
    with torch.no_grad():
        return ((D(x) - D(y)).abs() / (x - y).norm(dim=-1)).max(dim=1).values


def test_each_layer_has_unit_spectral_norm_and_the_critic_is_1_lipschitz():
    D = critic([0, 1], scale=10.0)
    warm_up(D)
    D.eval()
    for layer in layers(D):
        eff = layer.effective_weight(layer.weight).detach()
        torch.testing.assert_close(torch.linalg.matrix_norm(eff, ord=2),
                                   torch.ones(2, dtype=eff.dtype), atol=1e-4, rtol=0)
    assert (lipschitz_ratio(D) <= 1 + 1e-4).all()
    assert (lipschitz_ratio(critic([0, 1], spectral_norm=False, scale=10.0)) > 5).all()


def test_power_iteration_runs_in_training_mode_only():
    D = critic([0])
    u0 = [layer.u.clone() for layer in layers(D)]
    x = torch.randn(1, 4, DIM, dtype=torch.float64)
    D.eval()
    D(x)
    assert all(torch.equal(a, layer.u) for a, layer in zip(u0, layers(D)))
    D.train()
    D(x)
    hidden = [i for i, layer in enumerate(layers(D)) if layer.u.shape[-1] > 1]  # u of 1 output is +-1
    assert hidden and not any(torch.equal(u0[i], layers(D)[i].u) for i in hidden)


def test_member_in_an_ensemble_equals_the_member_alone():
    group, alone = critic([0, 1, 2]), critic([1])
    x = torch.randn(3, 5, DIM, dtype=torch.float64)
    for _ in range(3):  # forward passes also advance each member's power iteration
        out_g, out_a = group(x), alone(x[1:2])
        torch.testing.assert_close(out_g[1], out_a[0])


def test_gradient_flows_through_the_normalisation(monkeypatch):
    """At a converged estimate, d sigma / d W = v u^T (the estimate's own dependence on W is
    second order), so autograd's weight gradient matches finite differences of the output;
    with sigma treated as a constant it would not."""
    D = critic([0], scale=3.0)
    warm_up(D, 300)
    D.eval()  # u fixed: the forward pass is then a fixed function of the weights
    x = torch.randn(1, 16, DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = layers(D)[0].weight
    idx = [(0, 0, 0), (0, 1, 3), (0, 0, 17)]
    h = 1e-6
    fd = []
    for i in idx:
        with torch.no_grad():
            w[i] += h
            up = D(x).sum()
            w[i] -= 2 * h
            down = D(x).sum()
            w[i] += h
        fd.append(float((up - down) / (2 * h)))
    fd = torch.tensor(fd, dtype=torch.float64)

    def grads():
        (g,) = torch.autograd.grad(D(x).sum(), w)
        return torch.stack([g[i] for i in idx])

    torch.testing.assert_close(grads(), fd, atol=1e-6, rtol=1e-4)
    real = layers_mod.spectral_normalize

    def sigma_constant(weight, u, update):
        eff = real(weight, u, update)
        return weight * (eff / weight).detach()

    monkeypatch.setattr(layers_mod, "spectral_normalize", sigma_constant)
    assert (grads() - fd).abs().max() > 1e-2 * fd.abs().max()
