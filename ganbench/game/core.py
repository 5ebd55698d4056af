"""The game a scheme plays: two ensemble players, each member's objective and regularizer,
optimisers and each member's random streams. Schemes decide the order and form of the
updates; the game knows how to compute each player's loss and gradients at any parameter
point.

A mixed ensemble holds members with different objectives or regularizers. The critic runs
once over every member; each distinct objective then computes the losses of its members
(one pass per objective, no loop over members), and each distinct regularizer draws and
penalises for its members only, from their own random streams, so that a member sees the
same draws in the same order as when it trains alone. Critic passes that only some members
need (a penalty, the relativistic generator's look at real data) run on those members'
slice of the ensemble's parameters; the grouping (``ganbench.execute.grouping``) mixes objectives
and regularizers only where the critic's forward pass has no state (no batch norm, no
spectral norm), so such a pass is exactly the members' own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from ganbench.data.base import Dataset
from ganbench.game.optim import MemberOptimizer
from ganbench.objectives.base import Objective
from ganbench.seeding import MemberRandom

Params = dict[str, Tensor]


def score_of(out: Tensor) -> Tensor:
    """Critic outputs -> scores [E, N] (extra per-sample columns, as InfoGAN's, dropped)."""
    return out[..., 0] if out.ndim == 3 else out


def pack_code(z: Tensor, code: Tensor, k: int) -> Tensor:
    """Latent [.., N, latent] and code indices [.., N] -> [z, onehot(code)]."""
    return torch.cat([z, F.one_hot(code, k).to(z)], dim=-1)


@dataclass
class Part:
    """A plug-in (objective or regularizer) and the members that use it."""

    plugin: Any
    members: list[int]
    idx: Tensor  # the members as a long tensor on the training device
    full: bool  # every member of the ensemble
    name: str = ""  # the plug-in's registered name (a regularizer's, for its history key)

    def take(self, x: Tensor) -> Tensor:
        """The part's rows of a member-first tensor."""
        return x if self.full else x.index_select(0, self.idx)

    def put(self, into: Tensor, x: Tensor) -> Tensor:
        """``into`` with the part's rows replaced by ``x`` (out of place, differentiable)."""
        return x if self.full else into.index_put((self.idx,), x)


def partition(plugins: list[Any], keys: list[str], device: torch.device | str) -> list[Part]:
    """One part per distinct key (members in order); None plug-ins belong to no part."""
    members: dict[str, list[int]] = {}
    first: dict[str, Any] = {}
    for i, (p, k) in enumerate(zip(plugins, keys)):
        if p is None:
            continue
        members.setdefault(k, []).append(i)
        first.setdefault(k, p)
    return [_part(first[k], m, len(plugins), device) for k, m in members.items()]


def _part(plugin: Any, members: list[int], n: int, device) -> Part:
    return Part(plugin, members, torch.tensor(members, dtype=torch.long, device=device),
                len(members) == n)


def _scatter(parts: list[Part], values: list[Tensor], n: int) -> Tensor:
    """Per-part [E_part] values -> one [E] tensor (0 for members in no part)."""
    if len(parts) == 1 and parts[0].full:
        return values[0]
    out = values[0].new_zeros(n)
    for part, v in zip(parts, values):
        out = out.index_put((part.idx,), v)
    return out


@dataclass
class Game:
    G: nn.Module
    D: nn.Module
    objectives: list[Part]
    regularizers: list[Part]
    opt_g: MemberOptimizer
    opt_d: MemberOptimizer | None  # None when the critic has no parameters (the VAE)
    dataset: Dataset
    data_rng: MemberRandom
    noise_rng: MemberRandom
    reg_rng: MemberRandom
    latent_dim: int
    batch_size: int
    alive: Tensor  # [E] bool: members that have not diverged
    packing: str | None = None  # see models/conditional.py
    num_codes: int = 0
    #: critic updates so far (lazy regularization's phase; kept in checkpoints)
    d_updates: int = field(default=0, init=False)
    #: the last computed unweighted penalty of each regularizer, by name: [E], NaN for the
    #: members without it (recorded in the history as ``penalty_<name>``)
    penalties: dict[str, Tensor] = field(default_factory=dict, init=False)
    _real_g: Part | None = field(default=None, init=False)
    _reg_real_g: list[Part] = field(default_factory=list, init=False)
    _pos_real_g: dict[int, Tensor] = field(default_factory=dict, init=False)

    def __post_init__(self):
        need = [i for p in self.objectives if getattr(p.plugin, "uses_real_in_g", False)
                for i in p.members]
        if need:
            self._real_g = _part(None, sorted(need), self.members, self.alive.device)
        # derived once, not per step: the regularizer parts restricted to the members that
        # read real data in the generator's loss, and where each objective's members sit
        # among those
        self._reg_real_g = self.regularizers if self._real_g is None or self._real_g.full else [
            _part(p.plugin, [i for i in p.members if i in self._real_g.members], self.members,
                  self.alive.device)
            for p in self.regularizers if set(p.members) & set(self._real_g.members)]
        self._pos_real_g = {} if self._real_g is None else {
            id(p): torch.tensor([self._real_g.members.index(i) for i in p.members],
                                device=self.alive.device)
            for p in self.objectives if getattr(p.plugin, "uses_real_in_g", False)}

    @property
    def members(self) -> int:
        return int(self.alive.shape[0])

    @property
    def g_params(self) -> list[Tensor]:
        return list(self.G.parameters())

    @property
    def d_params(self) -> list[Tensor]:
        return list(self.D.parameters())

    def objective_of(self, i: int) -> Objective:
        return next((p.plugin for p in self.objectives if i in p.members), None)

    # --- sampling ---------------------------------------------------------------
    def _draw_real(self, gens: list[torch.Generator]) -> Tensor:
        b, dev = self.batch_size, self.data_rng.device
        if self.packing is None:
            return torch.stack([self.dataset.sample(b, g, dev) for g in gens])
        xs, ys = zip(*(self.dataset.sample_labeled(b, g, dev) for g in gens))
        x, y = torch.stack(xs).flatten(2), torch.stack(ys)
        c = F.one_hot(y, self.num_codes).to(x) if self.packing == "label" else \
            x.new_zeros(*x.shape[:2], self.num_codes)  # InfoGAN: the critic never sees a code
        return torch.cat([x, c], dim=-1)

    def real(self) -> Tensor:
        return self._draw_real(self.data_rng.gens)

    def real_for_g(self) -> Tensor | None:
        """A real batch for the generator's loss, drawn only by the members whose objective
        reads one (relativistic); the others' rows are zeros and never read."""
        part = self._real_g
        if part is None:
            return None
        drawn = self._draw_real([self.data_rng.gens[i] for i in part.members])
        if part.full:
            return drawn
        return drawn.new_zeros(self.members, *drawn.shape[1:]).index_put((part.idx,), drawn)

    def noise(self) -> Tensor:
        z = self.noise_rng.randn(self.batch_size, self.latent_dim)
        if self.packing is None:
            return z
        c = self.noise_rng.randint(self.num_codes, self.batch_size)
        return pack_code(z, c, self.num_codes)

    # --- the model family's hooks: one training iteration, and sampling ---------------
    def train_step(self, scheme) -> dict[str, Tensor]:
        """One iteration for every member; per-member losses. A GAN's scheme decides the
        updates; a family without a critic (``ganbench.models.vae``) overrides this."""
        return scheme.step(self)

    def sample(self, z: Tensor, g_params: Params | None = None) -> Tensor:
        """Samples at latents z (the model contract's G(z)), for evaluation."""
        return self.G(z) if g_params is None else functional_call(self.G, g_params, (z,))

    # --- players as functions of (optional) parameters ----------------------------
    def generate(self, z: Tensor, g_params: Params | None = None) -> Tensor:
        """The generator player's move, which the critic judges: G(z) for a GAN (the
        adversarial autoencoder's encoder codes, ``ganbench.models.aae``)."""
        return self.sample(z, g_params)

    def critic(self, d_params: Params | None = None) -> Callable[[Tensor], Tensor]:
        """The critic's outputs in fp32 (under a reduced-precision autocast, its products run
        low and the objectives' losses and penalties are computed from fp32 outputs)."""
        if d_params is None:
            return lambda x: _widened(self.D(x))
        return lambda x: _widened(functional_call(self.D, d_params, (x,)))

    # --- losses (one per member, [E]) ----------------------------------------------
    def _part_critic(self, d_params: Params | None, part: Part) -> Callable[[Tensor], Tensor]:
        """The critic of a part's members only ([E_part, N, ...] -> outputs): the ensemble's
        parameters sliced to those members, so a pass only some members need costs only
        theirs. Exact because mixed parts exist only for critics without buffers."""
        if part.full:
            return self.critic(d_params)
        params = dict(self.D.named_parameters()) if d_params is None else d_params
        sliced = {k: v.index_select(0, part.idx) for k, v in params.items()}
        return lambda x: _widened(functional_call(self.D, sliced, (x,)))

    def _penalised(self, d_params: Params | None, part: Part) -> Callable[[Tensor], Tensor]:
        """The critic as a regularizer sees it: its part's members' scores only (InfoGAN's
        extra Q columns dropped)."""
        critic = self._part_critic(d_params, part)
        return lambda x: score_of(critic(x))

    def _rand(self, part: Part):
        return self.reg_rng.rand if part.full else self.reg_rng.subset(part.members).rand

    def _inputs(self, x: Tensor, parts: list[Part] | None = None) -> Tensor:
        """Critic inputs after each regularizer's ``perturb`` (instance noise), for its own
        members (``parts``: the regularizer parts to apply, default all)."""
        for part in self.regularizers if parts is None else parts:
            x = part.put(x, part.plugin.perturb(part.take(x), self._rand(part)))
        return x

    def d_loss(self, real: Tensor, fake: Tensor, d_params: Params | None = None) -> Tensor:
        critic = self.critic(d_params)
        real, fake = self._inputs(real), self._inputs(fake)
        d_real, d_fake = critic(real), critic(fake)
        loss = _scatter(self.objectives, [p.plugin.d_loss(p.take(d_real), p.take(d_fake))
                                          for p in self.objectives], self.members)
        for part in self.regularizers:
            reg = part.plugin
            every = getattr(reg, "every", 1)
            if not reg.weight or self.d_updates % every:  # lazy: every k-th update only
                continue
            pen = reg.penalty(self._penalised(d_params, part), part.take(real),
                              part.take(fake), self._rand(part))
            if pen is not None:
                loss = loss + _scatter([part], [reg.weight * every * pen], self.members)
                self._record_penalty(part, pen)
        return loss

    def _record_penalty(self, part: Part, pen: Tensor) -> None:
        name = part.name or type(part.plugin).__name__.lower()
        log = self.penalties.get(name)
        if log is None:
            log = torch.full((self.members,), float("nan"), dtype=torch.float32, device=pen.device)
        self.penalties[name] = log.index_put((part.idx,), pen.detach().float())

    def g_loss(self, z: Tensor, real: Tensor | None = None, d_params: Params | None = None,
               g_params: Params | None = None) -> Tensor:
        return self.g_loss_of(self.generate(z, g_params), real, d_params)

    def g_loss_of(self, fake: Tensor, real: Tensor | None = None,
                  d_params: Params | None = None) -> Tensor:
        """The generator's loss on its move ``fake`` (what ``g_loss`` computes after
        generating)."""
        critic = self.critic(d_params)
        d_fake = critic(self._inputs(fake))
        d_real = None
        need = self._real_g
        if real is not None and need is not None:  # only the members whose objective reads it
            d_real = self._part_critic(d_params, need)(
                need.take(self._inputs(real, self._reg_real_g)))
        values = []
        for p in self.objectives:
            reads = d_real is not None and getattr(p.plugin, "uses_real_in_g", False)
            values.append(p.plugin.g_loss(p.take(d_fake), self._real_rows(p, d_real) if reads
                                          else None))
        return _scatter(self.objectives, values, self.members)

    def _real_rows(self, part: Part, d_real: Tensor) -> Tensor:
        """An objective part's rows of the critic's outputs on the generator step's real
        batch (computed for the members that read it only)."""
        if self._real_g.full:
            return part.take(d_real)
        return d_real.index_select(0, self._pos_real_g[id(part)])

    def needs_real_for_g(self) -> bool:
        return self._real_g is not None

    # --- gradients -------------------------------------------------------------------
    def d_step_grads(self, create_graph: bool = False) -> tuple[Tensor, list[Tensor]]:
        """Critic loss and gradients on a fresh batch, generator held fixed."""
        real = self.real()
        with torch.no_grad():
            fake = self.generate(self.noise())
        loss = self.d_loss(real, fake)
        grads = torch.autograd.grad(loss.sum(), self.d_params, create_graph=create_graph)
        return loss.detach(), list(grads)

    def g_step_grads(self) -> tuple[Tensor, list[Tensor]]:
        z = self.noise()
        real = self.real_for_g()
        loss = self.g_loss(z, real)
        grads = torch.autograd.grad(loss.sum(), self.g_params)
        return loss.detach(), list(grads)

    def step_d(self, grads: list[Tensor]) -> None:
        self.opt_d.step(grads, self.alive)
        self.project_critic("after_critic_step")
        self.d_updates += 1

    def step_g(self, grads: list[Tensor]) -> None:
        self.opt_g.step(grads, self.alive)

    @torch.no_grad()
    def project_critic(self, hook: str) -> None:
        """Apply a regularizer's in-place hook on the critic's parameters (weight clipping)
        to its own members' slices only."""
        params = self.d_params
        for part in self.regularizers:
            fn = getattr(part.plugin, hook, None)
            if fn is None:
                continue
            if part.full:
                fn(params)
                continue
            sub = [p.index_select(0, part.idx) for p in params]
            fn(sub)
            for p, s in zip(params, sub):
                p.index_copy_(0, part.idx, s)

    # --- per-member state (checkpoints hold one run each) ---------------------------
    def member_state(self, i: int) -> dict[str, Any]:
        return {"G": _module_slice(self.G, i), "D": _module_slice(self.D, i),
                "opt_g": self.opt_g.member_state(i),
                "opt_d": None if self.opt_d is None else self.opt_d.member_state(i),
                "rng": {name: getattr(self, f"{name}_rng").gens[i].get_state()
                        for name in RNG_STREAMS},
                "d_updates": self.d_updates}

    def load_member_states(self, states: list[dict[str, Any]]) -> None:
        _load_stacked(self.G, [s["G"] for s in states])
        _load_stacked(self.D, [s["D"] for s in states])
        self.opt_g.load_member_states([s["opt_g"] for s in states])
        if self.opt_d is not None:  # None: a model without a critic (the VAE)
            self.opt_d.load_member_states([s["opt_d"] for s in states])
        for name in RNG_STREAMS:
            getattr(self, f"{name}_rng").set_state([s["rng"][name] for s in states])
        # checkpoints from before lazy regularization have none (their runs had every = 1)
        self.d_updates = int(states[0].get("d_updates", 0))


RNG_STREAMS = ("data", "noise", "reg")


def _widened(x: Tensor) -> Tensor:
    """A critic output in at least fp32: reduced-precision outputs widen, float64 stays
    (the finite-difference checks train in float64)."""
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


def _module_slice(module: nn.Module, i: int) -> dict[str, Tensor]:
    return {k: v[i].detach().cpu().clone() for k, v in module.state_dict().items()}


def _load_stacked(module: nn.Module, states: list[dict[str, Tensor]]) -> None:
    module.load_state_dict({k: torch.stack([s[k] for s in states]) for k in states[0]})
