"""Setting a session up: results folders, the built ensemble, fixed evaluation sets, and
a resume from checkpoints when every member left one."""

from __future__ import annotations

from pathlib import Path

import torch

from ganbench.results import RunDir
from ganbench.seeding import generator
from ganbench.suite import RunSpec
from ganbench.train.build import build
from ganbench.train.checkpoints import resume
from ganbench.train.ema import EMA
from ganbench.train.state import Session
from ganbench.util import warn


def setup(specs: list[RunSpec], root: Path, device: torch.device,
          allow_resume: bool = True) -> Session:
    """Build the ensemble, its fixed evaluation sets, and resume from checkpoints if every
    member left one at the same step."""
    torch.manual_seed(0)  # nothing should draw from the global generator; make sure of it
    dirs = [RunDir(root, s.suite, s.run_id) for s in specs]
    for d, s in zip(dirs, specs):
        d.write_spec(s.to_dict())
    built = build(specs, device)
    E = len(specs)
    ev = specs[0].config["evaluation"]
    ema = EMA.create(built.game.g_params, [s.config["training"]["ema"] for s in specs])
    split = "test" if built.dataset.kind == "image" else "train"
    z_eval, codes = built.eval_latents(specs, ev["samples"])
    real_eval = [built.dataset.sample(ev["samples"], generator(s.seed, "eval_real"), "cpu",
                                      split=split) for s in specs]
    session = Session(specs=specs, dirs=dirs, built=built, ema=ema, device=device,
                      z_eval=z_eval.to(device), codes=codes, real_eval=real_eval,
                      diverged_at=torch.full((E,), -1, dtype=torch.long, device=device),
                      rows=[[] for _ in specs], final=[{} for _ in specs],
                      errors=[{} for _ in specs], timings=[{} for _ in specs])
    state, why = resume(session) if allow_resume else ("fresh", "")
    if state == "damaged":
        # said on stderr (every process's, workers' too), not as a Python warning
        warn(f"checkpoint of {specs[0].suite}/{why}; training "
             f"{'it' if E == 1 else f'its group of {E}'} from the start")
        for d in dirs:
            d.checkpoint_path.unlink(missing_ok=True)
        return setup(specs, root, device, allow_resume=False)
    return session
