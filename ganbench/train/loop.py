"""The step loop and a group's end: scheme steps, EMA, divergence tracked on the device,
evaluations on the schedule, checkpoints, and each run's summary written last."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbench.suite import RunSpec
from ganbench.train.checkpoints import checkpoint
from ganbench.train.device import environment, peak_memory
from ganbench.train.evaluation import evaluate, generated
from ganbench.train.session import setup
from ganbench.train.state import Session

CHECKPOINT_EVERY_S = 60.0


def train_group(specs: list[RunSpec], root: Path, device: torch.device,
                report: Callable[[int], None] | None = None, keep_checkpoint: bool = False,
                checkpoint_every_s: float | None = None) -> list[dict[str, Any]]:
    """Train a group of compatible runs as one ensemble; write each run's results."""
    session = setup(specs, root, device)
    train(session, report, checkpoint_every_s)
    return finish(session, keep_checkpoint)


def checkpoint_interval(specs: list[RunSpec]) -> float:
    """Seconds between checkpoints: the shortest ``training.checkpoint_every_s`` of the
    group's runs, else CHECKPOINT_EVERY_S (it is not part of run ids, so runs with different
    intervals may share a group)."""
    given = [s.config["training"].get("checkpoint_every_s") for s in specs]
    given = [float(v) for v in given if v is not None]
    return min(given) if given else CHECKPOINT_EVERY_S


def train(session: Session, report: Callable[[int], None] | None = None,
          checkpoint_every_s: float | None = None) -> None:
    """The step loop: scheme steps, EMA, divergence tracking on the device; evaluations on
    the schedule; checkpoints at evaluations, at most every ``checkpoint_every_s`` (default:
    ``checkpoint_interval`` of the runs).

    ``report(steps_done)`` is called before every step, where the session is whole (the
    previous step and its evaluation are complete): progress displays read it, and it may
    raise to stop there (the caller can then ``checkpoint`` the session)."""
    game, ema = session.game, session.ema
    iterations, every = session.training["iterations"], session.evaluation["every"]
    device = session.device
    if checkpoint_every_s is None:
        checkpoint_every_s = checkpoint_interval(session.specs)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t_start = last_ckpt = time.perf_counter()
    for it in range(session.start, iterations):
        if report is not None:
            report(it)
        losses = session.built.step()  # in the runs' precision (train.precision)
        if ema is not None:
            ema.update(game.g_params)
        _track_divergence(session, losses, it + 1)
        session.step = step = it + 1
        if step % every and step != iterations:
            continue
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        session.train_s += time.perf_counter() - t_start
        evaluate(session, losses)
        # checkpoints cost more than short runs gain from them: by default one a minute
        if step < iterations and time.perf_counter() - last_ckpt >= checkpoint_every_s:
            checkpoint(session)
            last_ckpt = time.perf_counter()
        if not bool(game.alive.any()):
            break
        t_start = time.perf_counter()


def _track_divergence(session: Session, losses: dict[str, Tensor], step: int) -> None:
    game = session.game
    finite = torch.ones_like(game.alive)
    for v in losses.values():
        finite &= torch.isfinite(v)
    newly = game.alive & ~finite
    session.diverged_at = torch.where(newly, torch.full_like(session.diverged_at, step),
                                      session.diverged_at)
    game.alive &= finite


def finish(session: Session, keep_checkpoint: bool = False) -> list[dict[str, Any]]:
    """Write each member's samples and summary (the summary last: it marks a run finished)."""
    specs, device = session.specs, session.device
    _, fake_t = generated(session)
    fake = fake_t.numpy()
    div = session.diverged_at.cpu().tolist()
    peak_kind, peak = peak_memory(device)
    env = environment(device)
    # the feature space (extractor and preprocessing) of each metric that computes in one
    spaces = {name: fs for name, m in session.built.metrics.items()
              if (fs := m.feature_space(session.built.dataset)) is not None}
    iterations, batch = session.training["iterations"], session.training["batch_size"]
    steps_done, train_s = iterations - session.start, session.train_s
    summaries = []
    for i, d in enumerate(session.dirs):
        status = "done" if div[i] < 0 else "diverged"
        t = dict(session.timings[i])
        t.update(train_s=round(train_s, 4), group_size=len(specs),
                 steps_per_s=steps_done / train_s if train_s > 0 else None,
                 samples_per_s=steps_done * batch / train_s if train_s > 0 else None,
                 peak_memory_bytes=peak, peak_memory_kind=peak_kind,
                 evaluations=len(session.rows[i]))
        summary = {"status": status, "diverged_step": div[i] if div[i] >= 0 else None,
                   "iterations": iterations,
                   "metrics": session.final[i] if status == "done" else {},
                   "last_metrics": session.final[i], "metric_errors": session.errors[i],
                   "timings": t, "environment": env, "group": specs[i].group_key(),
                   "resumed_from": session.start or None}
        if spaces:
            summary["features"] = spaces
        if status == "done":
            extra = {} if session.codes is None else {"labels": session.codes[i].numpy()}
            d.write_samples(fake=fake[i], z=session.z_eval[i].cpu().numpy(), **extra)
        summary = d.write_summary(summary)  # as written: sealed, as a reader sees it
        if not keep_checkpoint:
            d.checkpoint_path.unlink(missing_ok=True)
        summaries.append(summary)
    return summaries
