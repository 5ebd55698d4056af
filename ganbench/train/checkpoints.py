"""Checkpoints: one file per run (so a run resumes in any group), loaded with
``weights_only`` and checked against the run before anything is restored."""

from __future__ import annotations

import io
from typing import Any

import torch

from ganbench.train.state import Session


def checkpoint(session: Session) -> None:
    game, ema = session.game, session.ema
    for i, d in enumerate(session.dirs):
        state = {"step": session.step, "run_id": session.specs[i].run_id,
                 **game.member_state(i),
                 "ema": None if ema is None else ema.member_state(i),
                 "rows": session.rows[i], "diverged_at": int(session.diverged_at[i])}
        buf = io.BytesIO()
        torch.save(state, buf)
        d.write_checkpoint(buf.getvalue())


def resume(session: Session) -> tuple[str, str]:
    """Resume when every member left a readable checkpoint of its own run at the same step.
    Returns ('fresh', ''): nothing to resume; ('resumed', ''); or ('damaged', '<run id>:
    why'): a checkpoint that does not fit its run (unreadable, keys missing, another run's,
    a step outside the run); the session may be half-loaded and must be rebuilt.
    Checkpoints hold tensors and plain data only, loaded with ``weights_only``."""
    paths = [d.checkpoint_path for d in session.dirs]
    if not all(p.is_file() for p in paths):
        return "fresh", ""  # e.g. grouped otherwise than when it checkpointed: start over
    iterations = session.training["iterations"]
    states = []
    for spec, p in zip(session.specs, paths):
        try:
            state = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # unreadable, or holds more than tensors and plain data
            return "damaged", f"{spec.run_id}: unreadable ({type(exc).__name__})"
        why = _checkpoint_problem(state, spec.run_id, iterations, session.ema is not None)
        if why:
            return "damaged", f"{spec.run_id}: {why}"
        states.append(state)
    steps = {int(s["step"]) for s in states}
    if len(steps) != 1:
        return "damaged", (f"{session.specs[0].run_id}: its group's checkpoints are of "
                           f"different steps ({', '.join(map(str, sorted(steps)))})")
    try:
        session.game.load_member_states(states)
        if session.ema is not None:
            session.ema.load_member_states([s["ema"] for s in states])
        rows = [list(s["rows"]) for s in states]
        diverged = torch.tensor([int(s["diverged_at"]) for s in states], device=session.device)
    except Exception as exc:  # tensors of other shapes, or missing parameters
        return "damaged", (f"{session.specs[0].run_id}: its state does not fit the run's "
                           f"networks ({type(exc).__name__})")
    session.start = session.step = steps.pop()
    session.rows = rows
    session.diverged_at = diverged
    session.game.alive.copy_(diverged < 0)
    return "resumed", ""


CHECKPOINT_KEYS = ("step", "run_id", "G", "D", "opt_g", "opt_d", "rng", "ema", "rows", "diverged_at")


def _checkpoint_problem(state: Any, run_id: str, iterations: int, has_ema: bool) -> str:
    """Why a loaded checkpoint cannot be this run's ('' when it can)."""
    if not isinstance(state, dict):
        return f"expected a mapping, got {type(state).__name__}"
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    if missing:
        return f"keys missing: {', '.join(missing)}"
    if state["run_id"] != run_id:
        return f"it is of another run ({str(state['run_id'])[:20]})"
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or not 0 < step < iterations:
        return f"step {str(step)[:20]} is not inside the run's {iterations} iterations"
    if (state["ema"] is None) == has_ema:
        return "its EMA state does not fit the run's EMA setting"
    if not isinstance(state["rows"], list) or not isinstance(state["diverged_at"], int):
        return "'rows' or 'diverged_at' of the wrong type"
    return ""
