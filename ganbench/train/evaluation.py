"""Evaluation during training: every metric of every live member at the fixed latents,
batched over the members where a metric offers it."""

from __future__ import annotations

import time

import torch
from torch import Tensor

from ganbench.game import Game
from ganbench.metrics.base import EvalContext
from ganbench.train.state import Session
from ganbench.util import warn


def member_critic(game: Game, i: int):
    """The training critic of member i as a function [N, ...] -> [N] raw outputs
    (``grad=True``: differentiable in x, for metrics that read its input gradient)."""

    def critic(x: Tensor, grad: bool = False) -> Tensor:
        dev = game.alive.device
        was_training = game.D.training
        game.D.eval()  # evaluation must not advance training state (spectral-norm vectors, BN)
        try:
            with torch.set_grad_enabled(grad):
                x = x.to(dev)
                xs = x.unsqueeze(0).expand(game.members, *x.shape)
                if grad:
                    # only member i's slot is differentiable: a diverged member's NaN
                    # weights would otherwise reach x's gradient as 0 * NaN
                    xs = torch.cat([xs[:i].detach(), x.unsqueeze(0), xs[i + 1:].detach()])
                return game.D(xs)[i].cpu()
        finally:
            game.D.train(was_training)

    return critic


def generated(session: Session) -> tuple[Tensor, Tensor]:
    """(packed generator outputs, samples for metrics) of every member at the fixed latents,
    on the CPU (the EMA's parameters where a member keeps one)."""
    game = session.game
    with torch.no_grad():
        params = None if session.ema is None else session.ema.params(game.G)
        packed = game.sample(session.z_eval, params).float().cpu()
    return packed, session.built.samples(packed)


def evaluate(session: Session, losses: dict[str, Tensor]) -> None:
    """Every metric of every live member at the current step; rows appended and written."""
    built, game = session.built, session.game
    alive = game.alive.cpu().tolist()
    packed, fake = generated(session)
    loss_now = {k: v.detach().float().cpu().tolist() for k, v in losses.items()}
    # each regularizer's last penalty, for the members that have it (NaN: the others)
    penalty = {f"penalty_{k}": v.cpu().tolist() for k, v in game.penalties.items()}
    live = [i for i, a in enumerate(alive) if a]
    contexts = {i: _context(session, i, packed) for i in live}
    values: dict[int, dict[str, float]] = {i: {} for i in live}
    for name, metric in built.metrics.items():
        t0 = time.perf_counter()
        for i, out in _measure(metric, name, [fake[i] for i in live],
                               [contexts[i] for i in live], live).items():
            if isinstance(out, str):
                values[i][name] = float("nan")
                session.errors[i][name] = out
            else:
                values[i].update(out)
        dt = (time.perf_counter() - t0) / max(1, len(live))
        for i in live:
            t = session.timings[i]
            t[f"eval_{name}_s"] = t.get(f"eval_{name}_s", 0.0) + dt
    for i in live:
        session.final[i] = values[i]
        session.rows[i].append({"step": session.step, "wall_s": round(session.train_s, 4),
                                **{k: loss_now[k][i] for k in loss_now},
                                **{k: v[i] for k, v in penalty.items() if v[i] == v[i]},
                                **values[i]})
        session.dirs[i].write_metrics(session.rows[i])


def _context(session: Session, i: int, packed: Tensor) -> EvalContext:
    game, codes = session.game, session.codes
    extras = {} if codes is None else {"labels": codes[i], "packed": packed[i]}
    return EvalContext(real=session.real_eval[i], dataset=session.built.dataset,
                       device=session.device, seed=session.specs[i].seed,
                       extras={"critic": member_critic(game, i),
                               "objective": game.objective_of(i), **extras})


def _measure(metric, name: str, fakes: list[Tensor], ctxs: list[EvalContext],
             members: list[int]) -> dict[int, dict[str, float] | str]:
    """A metric on several members: one batched call where the metric has its own
    ``evaluate_many`` (e.g. one ensemble of fresh classifiers), else one call each. A
    batched call that fails is said on stderr and the members are measured one by one; a
    metric failing on a member is recorded as its error message; the suite goes on."""
    if metric.batches() and len(members) > 1:
        try:
            return dict(zip(members, metric.evaluate_many(fakes, ctxs)))
        except Exception as exc:  # the per-member path records each member's own error
            warn(f"metric {name!r}: its batched evaluation failed ({type(exc).__name__}: "
                 f"{exc}); measuring each member alone")
    out: dict[int, dict[str, float] | str] = {}
    for i, f, c in zip(members, fakes, ctxs):
        try:
            out[i] = metric(f, c)
        except Exception as exc:  # a metric failing is recorded, the suite goes on
            out[i] = f"{type(exc).__name__}: {exc}"
    return out
