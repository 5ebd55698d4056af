"""Building a group: dataset, model, scheme, stacked networks, per-member objectives,
regularizers and optimisers, and the metrics, all from the runs' resolved configs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ganbench.game import Game, MemberOptimizer, pack_code, partition
from ganbench.seeding import MemberRandom, generator
from ganbench.suite import RunSpec, canonical
from ganbench.train.precision import autocast, compile_backend


@dataclass
class Built:
    game: Game
    scheme: Any
    dataset: Any
    metrics: dict[str, Any]
    model: Any
    training: dict[str, Any] = field(default_factory=dict)  # the first run's training section

    def eval_latents(self, specs: list[RunSpec], n: int) -> tuple[Tensor, Tensor | None]:
        """Fixed evaluation latents per member (and their balanced codes when packed)."""
        game = self.game
        z = torch.stack([torch.randn(n, game.latent_dim, generator=generator(s.seed, "eval_noise"))
                         for s in specs])
        if game.packing is None:
            return z, None
        codes = (torch.arange(n) % game.num_codes).expand(len(specs), n)
        return pack_code(z, codes, game.num_codes), codes

    @property
    def precision(self) -> str:
        """The group's ``training.precision`` (one per group: it is in the ensemble key)."""
        return self.training.get("precision", "fp32")

    @property
    def compile_backend(self) -> str | None:
        """The torch.compile backend of ``training.compile`` (None: not compiled)."""
        return compile_backend(self.training.get("compile", False))

    def step(self) -> dict[str, Tensor]:
        """One training iteration of every member, in the group's precision (autocast of
        the players' passes; weights, optimiser state and losses returned in fp32)."""
        with autocast(self.precision, self.game.alive.device):
            losses = self.game.train_step(self.scheme)
        return {k: v.float() for k, v in losses.items()}

    def samples(self, fake: Tensor) -> Tensor:
        """Generator outputs -> samples for metrics (labels unpacked away)."""
        return fake if self.game.packing is None else self.model.unpack(fake)[0]


def build(specs: list[RunSpec], device: torch.device) -> Built:
    """Everything one group trains with (models stacked over the members; each member's
    objective, regularizer and optimiser hyper-parameters its own)."""
    cfg = specs[0].config
    seeds = [s.seed for s in specs]
    dataset = specs[0].create("dataset")
    model = specs[0].create("model")
    scheme = specs[0].create("scheme")
    model.bind(dataset)
    init = [generator(s, "init") for s in seeds]
    G = model.generator(dataset.shape, init).to(device)
    # the members' critics have one architecture (the grouping compares them as built)
    D = model.build_critic(dataset.shape, init,
                           tuple(r.name for r in specs[0].regularizers())).to(device)
    opts = [s.config["optimizer"] for s in specs]
    common = dict(kind=cfg["optimizer"]["name"], **getattr(scheme, "optimizer_options", {}),
                  **{k: [o[k] for o in opts] for k in ("beta1", "beta2", "momentum")})
    opt_g = MemberOptimizer(list(G.parameters()), [o["lr_g"] for o in opts], **common)
    d_params = list(D.parameters())  # none for a model without a critic (the VAE)
    opt_d = MemberOptimizer(d_params, [o["lr_d"] for o in opts], **common) if d_params else None
    keyed = [canonical(s.config["objective"]) for s in specs]
    objectives = _instances(specs, "objective", keyed)
    game = model.game_class(G=G, D=D, objectives=partition(objectives, keyed, device),
                regularizers=regularizer_parts(specs, device),
                opt_g=opt_g, opt_d=opt_d,
                dataset=dataset, data_rng=MemberRandom(seeds, "data", device),
                noise_rng=MemberRandom(seeds, "noise", device),
                reg_rng=MemberRandom(seeds, "regularizer", device),
                latent_dim=model.latent_dim, batch_size=cfg["training"]["batch_size"],
                alive=torch.ones(len(specs), dtype=torch.bool, device=device),
                packing=model.packing, num_codes=model.num_codes)
    game.project_critic("on_critic_init")  # WGAN clips the initial weights too
    backend = compile_backend(cfg["training"].get("compile", False))
    if backend is not None:  # in place: parameter names, checkpoints and slicing unchanged
        G.compile(backend=backend)
        D.compile(backend=backend)
    metrics = {m.name: m.create("metrics") for m in specs[0].metrics()}
    return Built(game, scheme, dataset, metrics, model, dict(cfg["training"]))


def regularizer_parts(specs: list[RunSpec], device: torch.device) -> list:
    """The members' regularizer terms as game parts: one per distinct (position in the
    member's list, term), ordered by position, so that each member's terms act, and draw
    from its random stream, in its own order, as when it trains alone."""
    terms = [s.regularizers() for s in specs]
    made: dict[str, Any] = {}
    parts = []
    for pos in range(max((len(t) for t in terms), default=0)):
        keys = [f"{pos}:{canonical(t[pos].to_config())}" if pos < len(t) else "" for t in terms]
        for k, t in zip(keys, terms):
            if pos < len(t) and k not in made:
                made[k] = t[pos].create("regularizers")
        plugins = [made.get(k) for k in keys]
        for part in partition(plugins, keys, device):
            part.name = terms[part.members[0]][pos].name
            parts.append(part)
    return parts


def _instances(specs: list[RunSpec], run_key: str, keys: list[str]) -> list[Any]:
    """One plug-in instance per distinct config, shared by the members that use it."""
    made: dict[str, Any] = {}
    out = []
    for spec, key in zip(specs, keys):
        if spec.config[run_key] is not None and key not in made:
            made[key] = spec.create(run_key)
        out.append(None if spec.config[run_key] is None else made[key])
    return out
