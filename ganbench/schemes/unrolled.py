"""Unrolled GANs (Metz et al. 2017): the generator plays against the critic it would face
after k more critic updates.

The critic itself is updated as in ``alternating`` (d_steps updates on fresh batches).
Each generator update then draws one batch (latent codes and real samples) and unrolls k
look-ahead updates of the critic on it, using the critic's own optimiser rule from its
current state (Adam with its current moments and step count, or SGD/momentum, TTUR's lr_d
included): ``MemberOptimizer.update`` computes them out of place, so nothing of the real
critic or its optimiser changes. The generator's loss is taken against the look-ahead
critic D_k(theta):

- ``unrolled``: gradients flow through the k updates (D_k depends on the generator through
  the fake samples the look-ahead trained on), as in Metz et al.;
- ``unrolled_first_order``: the generator's gradient is taken at the look-ahead critic held
  fixed (no differentiation through the updates), the cheap variant they compare with.

A critic projection (weight clipping's ``after_critic_step``) is not applied inside the
look-ahead: it acts in place and is not differentiable. With k = 0 both schemes are exactly
``alternating`` (same random draws, same arithmetic).

``form: simultaneous`` is the update of Metz et al.'s demo notebook
(``sess.run([g_train_op, d_train_op])``): one batch (real samples and latent codes) is
drawn per iteration and shared; the critic's gradient and the generator's gradient against
the look-ahead critic are both taken at the current point on it, then both players step.
With k = 0 it is ``simultaneous``'s update (one critic and one generator step).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbench.game import Game, Params
from ganbench.schemes.base import Scheme, StepCost
from ganbench.schemes.registry import REGISTRY

METZ = "Metz, Poole, Pfau, Sohl-Dickstein 2017, Unrolled Generative Adversarial Networks (ICLR)"


def lookahead_critic(game: Game, z: Tensor, real: Tensor, k: int, differentiable: bool) -> Params:
    """The critic's parameters after k optimiser steps on (real, G(z)), as functions of the
    generator's parameters when ``differentiable``."""
    names = [n for n, _ in game.D.named_parameters()]
    params: list[Tensor] = list(game.d_params)
    state = game.opt_d.state()
    with torch.set_grad_enabled(differentiable):
        fake = game.generate(z)
    for _ in range(k):
        if not differentiable:
            params = [p.detach().requires_grad_(True) for p in params]
        loss = game.d_loss(real, fake, dict(zip(names, params)))
        grads = torch.autograd.grad(loss.sum(), params, create_graph=differentiable)
        params, state = game.opt_d.update(params, list(grads), state)
    if not differentiable:
        params = [p.detach() for p in params]
    return dict(zip(names, params))


FORMS = ("alternating", "simultaneous")


class _Unrolled(Scheme):
    differentiable = True

    def __init__(self, k: int = 5, d_steps: int = 1, g_steps: int = 1,
                 form: str = "alternating"):
        if k < 0:
            raise ValueError(f"k (look-ahead critic updates) must be >= 0, got {k}")
        if d_steps < 1 or g_steps < 1:
            raise ValueError("unrolled needs d_steps >= 1 and g_steps >= 1")
        if form not in FORMS:
            raise ValueError(f"form: expected one of {', '.join(FORMS)}, got {form!r}")
        if form == "simultaneous" and (d_steps, g_steps) != (1, 1):
            raise ValueError("form: simultaneous updates both players once per shared batch: "
                             f"d_steps and g_steps must be 1, got {d_steps} and {g_steps}")
        self.k, self.d_steps, self.g_steps, self.form = k, d_steps, g_steps, form

    def cost_per_step(self):
        # each generator update unrolls k critic updates; differentiating through them
        # roughly doubles their cost (the double backward)
        lookahead = self.g_steps * self.k * (2 if self.differentiable else 1)
        return StepCost(critic=self.d_steps + lookahead, generator=self.g_steps)

    def g_grads(self, game: Game) -> tuple[Tensor, list[Tensor]]:
        # draw in the order of Game.g_step_grads so that k = 0 is alternating bit for bit
        z = game.noise()
        needs_real = game.needs_real_for_g()
        # the look-ahead needs every member's real batch; otherwise only the members whose
        # objective reads one draw it (a mixed ensemble's other members must not)
        real = game.real() if self.k > 0 else game.real_for_g()
        d_params = (lookahead_critic(game, z, real, self.k, self.differentiable)
                    if self.k > 0 else None)
        loss = game.g_loss(z, real if needs_real else None, d_params=d_params)
        grads = torch.autograd.grad(loss.sum(), game.g_params)
        return loss.detach(), list(grads)

    def shared_step(self, game):
        """Metz et al.'s notebook: both gradients at the current point on one batch."""
        real, z = game.real(), game.noise()
        with torch.no_grad():
            fake = game.generate(z)
        d_loss = game.d_loss(real, fake)
        d_grads = list(torch.autograd.grad(d_loss.sum(), game.d_params))
        d_params = (lookahead_critic(game, z, real, self.k, self.differentiable)
                    if self.k > 0 else None)
        g_loss = game.g_loss(z, real if game.needs_real_for_g() else None, d_params=d_params)
        g_grads = list(torch.autograd.grad(g_loss.sum(), game.g_params))
        game.step_d(d_grads)
        game.step_g(g_grads)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def step(self, game):
        if self.form == "simultaneous":
            return self.shared_step(game)
        for _ in range(self.d_steps):
            d_loss, grads = game.d_step_grads()
            game.step_d(grads)
        for _ in range(self.g_steps):
            g_loss, grads = self.g_grads(game)
            game.step_g(grads)
        return {"d_loss": d_loss, "g_loss": g_loss}


@REGISTRY.register(
    "unrolled",
    description="generator loss against the critic after k differentiable look-ahead updates",
    reference=METZ,
    id_neutral=("form",),  # added after runs were recorded: its default stays out of ids
)
class Unrolled(_Unrolled):
    differentiable = True


@REGISTRY.register(
    "unrolled_first_order",
    description="generator gradient at the critic after k look-ahead updates, not "
                "differentiated through them",
    reference=METZ + " (the variant without the gradient through the unrolling)",
    id_neutral=("form",),
)
class UnrolledFirstOrder(_Unrolled):
    differentiable = False
