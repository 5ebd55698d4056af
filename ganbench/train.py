"""The trainer: one loop for every objective, scheme and group size.

A group of compatible runs (same config up to the seed and learning rates) trains as one
ensemble whose parameters are stacked along a member axis; a single run is a group of one.
Each member's initial weights, data, noise and penalties come from generators seeded by
its own seed, so a member reproduces the same run trained alone. The step loop never
synchronises with the host: divergence is tracked on the device and read at evaluation.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbench.data import REGISTRY as DATASETS
from ganbench.game import Game, pack_code
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext
from ganbench.models import REGISTRY as MODELS
from ganbench.objectives import REGISTRY as OBJECTIVES
from ganbench.objectives.regularizers import REGISTRY as REGULARIZERS
from ganbench.optim import MemberOptimizer
from ganbench.results import RunDir
from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.seeding import MemberRandom, generator
from ganbench.suite import RunSpec

CHECKPOINT_EVERY_S = 60.0

# config keys that may differ inside one ensemble (per-member hyper-parameters)
MEMBER_KEYS = ("seed", "optimizer.lr_g", "optimizer.lr_d")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available here")
    return dev


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_memory(device: torch.device) -> tuple[str, int | None]:
    """('cuda', peak allocated bytes) on a GPU, else ('cpu_rss', peak resident set size)."""
    if device.type == "cuda":
        return "cuda", torch.cuda.max_memory_allocated(device)
    try:
        import resource

        return "cpu_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB
    except (ImportError, OSError):
        return "cpu_rss", None


def environment(device: torch.device) -> dict[str, Any]:
    import numpy

    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "numpy": numpy.__version__, "platform": platform.platform(),
            "device": str(device), "device_name": device_name(device)}


def _create(reg, ref: dict[str, Any] | None):
    return None if ref is None else reg.create(ref["name"], **ref["params"])


@dataclass
class Built:
    game: Game
    scheme: Any
    dataset: Any
    metrics: dict[str, Any]
    model: Any

    def eval_latents(self, specs: list[RunSpec], n: int) -> tuple[Tensor, Tensor | None]:
        """Fixed evaluation latents per member (and their balanced codes when packed)."""
        game = self.game
        z = torch.stack([torch.randn(n, game.latent_dim, generator=generator(s.seed, "eval_noise"))
                         for s in specs])
        if game.packing is None:
            return z, None
        codes = (torch.arange(n) % game.num_codes).expand(len(specs), n)
        return pack_code(z, codes, game.num_codes), codes

    def samples(self, fake: Tensor) -> Tensor:
        """Generator outputs -> samples for metrics (labels unpacked away)."""
        return fake if self.game.packing is None else self.model.unpack(fake)[0]


def build(specs: list[RunSpec], device: torch.device) -> Built:
    """Everything one group trains with (models stacked over the members)."""
    cfg = specs[0].config
    seeds = [s.seed for s in specs]
    dataset = _create(DATASETS, cfg["dataset"])
    model = _create(MODELS, cfg["model"])
    objective = _create(OBJECTIVES, cfg["objective"])
    regularizer = _create(REGULARIZERS, cfg["regularizer"])
    scheme = _create(SCHEMES, cfg["scheme"])
    model.regularizer = None if cfg["regularizer"] is None else cfg["regularizer"]["name"]
    model.bind(dataset)
    init = [generator(s, "init") for s in seeds]
    G = model.generator(dataset.shape, init).to(device)
    D = model.critic(dataset.shape, init).to(device)
    opt = cfg["optimizer"]
    common = dict(kind=opt["name"], beta1=opt["beta1"], beta2=opt["beta2"],
                  momentum=opt["momentum"], **getattr(scheme, "optimizer_options", {}))
    opt_g = MemberOptimizer(list(G.parameters()), [s.config["optimizer"]["lr_g"] for s in specs], **common)
    opt_d = MemberOptimizer(list(D.parameters()), [s.config["optimizer"]["lr_d"] for s in specs], **common)
    game = Game(G=G, D=D, objective=objective, regularizer=regularizer, opt_g=opt_g, opt_d=opt_d,
                dataset=dataset, data_rng=MemberRandom(seeds, "data", device),
                noise_rng=MemberRandom(seeds, "noise", device),
                reg_rng=MemberRandom(seeds, "regularizer", device),
                latent_dim=model.latent_dim, batch_size=cfg["training"]["batch_size"],
                alive=torch.ones(len(specs), dtype=torch.bool, device=device),
                packing=model.packing, num_codes=model.num_codes)
    metrics = {m["name"]: METRICS.create(m["name"], **m["params"])
               for m in cfg["evaluation"]["metrics"]}
    return Built(game, scheme, dataset, metrics, model)


class EMA:
    """Exponential moving average of the generator's parameters (evaluated when on)."""

    def __init__(self, params: list[Tensor], decay: float):
        self.decay = decay
        self.shadow = [p.detach().clone() for p in params]

    @torch.no_grad()
    def update(self, params: list[Tensor]) -> None:
        for s, p in zip(self.shadow, params):
            s.lerp_(p, 1 - self.decay)


def evaluate_member(built: Built, i: int, fake: Tensor, real: Tensor, seed: int,
                    device: torch.device, timings: dict[str, float],
                    extras: dict[str, Any]) -> tuple[dict, dict]:
    ctx = EvalContext(real=real, dataset=built.dataset, device=device, seed=seed,
                      extras={"critic": member_critic(built.game, i),
                              "objective": built.game.objective, **extras})
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, metric in built.metrics.items():
        t0 = time.perf_counter()
        try:
            values.update(metric(fake, ctx))
        except Exception as exc:  # a metric failing is recorded, the suite goes on
            values[name] = float("nan")
            errors[name] = f"{type(exc).__name__}: {exc}"
        timings[f"eval_{name}_s"] = timings.get(f"eval_{name}_s", 0.0) + time.perf_counter() - t0
    return values, errors


def member_critic(game: Game, i: int):
    """The training critic of member i as a function [N, ...] -> [N] raw outputs."""

    @torch.no_grad()
    def critic(x: Tensor) -> Tensor:
        dev = game.alive.device
        xs = x.to(dev).unsqueeze(0).expand(game.members, *x.shape)
        was_training = game.D.training
        game.D.eval()  # evaluation must not advance training state (spectral-norm vectors, BN)
        try:
            return game.D(xs)[i].cpu()
        finally:
            game.D.train(was_training)

    return critic


def member_state(module: torch.nn.Module, i: int) -> dict[str, Tensor]:
    return {k: v[i].detach().cpu().clone() for k, v in module.state_dict().items()}


def load_member_states(module: torch.nn.Module, states: list[dict[str, Tensor]]) -> None:
    stacked = {k: torch.stack([s[k] for s in states]) for k in states[0]}
    module.load_state_dict(stacked)


def train_group(specs: list[RunSpec], root: Path, device: torch.device,
                progress: bool = False, keep_checkpoint: bool = False,
                checkpoint_every_s: float = CHECKPOINT_EVERY_S) -> list[dict[str, Any]]:
    """Train a group of compatible runs as one ensemble; write each run's results."""
    torch.manual_seed(0)  # nothing should draw from the global generator; make sure of it
    cfg = specs[0].config
    E = len(specs)
    dirs = [RunDir(root, s.suite, s.run_id) for s in specs]
    for d, s in zip(dirs, specs):
        d.write_spec(s.to_dict())
    built = build(specs, device)
    game = built.game
    tr, ev = cfg["training"], cfg["evaluation"]
    iterations, every, n_eval = tr["iterations"], ev["every"], ev["samples"]
    ema = EMA(game.g_params, tr["ema"]) if tr["ema"] > 0 else None

    split = "test" if built.dataset.kind == "image" else "train"
    z_eval, codes = built.eval_latents(specs, n_eval)
    z_eval = z_eval.to(device)
    real_eval = [built.dataset.sample(n_eval, generator(s.seed, "eval_real"), "cpu", split=split)
                 for s in specs]

    diverged_at = torch.full((E,), -1, dtype=torch.long, device=device)
    rows: list[list[dict]] = [[] for _ in specs]
    final: list[dict[str, float]] = [{} for _ in specs]
    errors: list[dict[str, str]] = [{} for _ in specs]
    timings: list[dict[str, float]] = [{} for _ in specs]
    start = 0
    resumed = _try_resume(dirs, game, ema)
    if resumed is not None:
        start, rows, diverged_at = resumed["step"], resumed["rows"], resumed["diverged_at"].to(device)
        game.alive.copy_(diverged_at < 0)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train_s = 0.0
    losses: dict[str, Tensor] = {}
    bar = _bar(iterations, start, progress, specs)
    t_start = last_ckpt = time.perf_counter()
    for it in range(start, iterations):
        losses = built.scheme.step(game)
        if ema is not None:
            ema.update(game.g_params)
        finite = torch.ones(E, dtype=torch.bool, device=device)
        for v in losses.values():
            finite &= torch.isfinite(v)
        newly = game.alive & ~finite
        diverged_at = torch.where(newly, torch.full_like(diverged_at, it + 1), diverged_at)
        game.alive &= finite
        if bar is not None:
            bar.update(1)
        step = it + 1
        if step % every == 0 or step == iterations:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            train_s += time.perf_counter() - t_start
            alive = game.alive.cpu().tolist()
            with torch.no_grad():
                params = None if ema is None else dict(zip(
                    [n for n, _ in game.G.named_parameters()], ema.shadow))
                packed = game.generate(z_eval, params).float().cpu()
                fake = built.samples(packed)
            loss_now = {k: v.detach().float().cpu().tolist() for k, v in losses.items()}
            for i, s in enumerate(specs):
                if not alive[i]:
                    continue
                extras = {} if codes is None else {"labels": codes[i], "packed": packed[i]}
                vals, errs = evaluate_member(built, i, fake[i], real_eval[i], s.seed, device,
                                             timings[i], extras)
                errors[i].update(errs)
                final[i] = vals
                rows[i].append({"step": step, "wall_s": round(train_s, 4),
                                **{k: loss_now[k][i] for k in loss_now}, **vals})
                dirs[i].write_metrics(rows[i])
            # checkpoints cost more than short runs gain from them: at most one a minute
            if step < iterations and time.perf_counter() - last_ckpt >= checkpoint_every_s:
                _checkpoint(dirs, game, ema, step, rows, diverged_at)
                last_ckpt = time.perf_counter()
            if not any(alive):
                break
            t_start = time.perf_counter()
    if bar is not None:
        bar.close()

    with torch.no_grad():
        params = None if ema is None else dict(zip([n for n, _ in game.G.named_parameters()], ema.shadow))
        fake = built.samples(game.generate(z_eval, params).float().cpu()).numpy()
    div = diverged_at.cpu().tolist()
    peak_kind, peak = peak_memory(device)
    env = environment(device)
    group = specs[0].group_key(MEMBER_KEYS)
    summaries = []
    steps_done = iterations - start
    for i, d in enumerate(dirs):
        status = "done" if div[i] < 0 else "diverged"
        t = dict(timings[i])
        t.update(train_s=round(train_s, 4), group_size=E,
                 steps_per_s=steps_done / train_s if train_s > 0 else None,
                 samples_per_s=steps_done * tr["batch_size"] / train_s if train_s > 0 else None,
                 peak_memory_bytes=peak, peak_memory_kind=peak_kind,
                 evaluations=len(rows[i]))
        summary = {"status": status, "diverged_step": div[i] if div[i] >= 0 else None,
                   "iterations": iterations, "metrics": final[i] if status == "done" else {},
                   "last_metrics": final[i], "metric_errors": errors[i], "timings": t,
                   "environment": env, "group": group, "resumed_from": start or None}
        if status == "done":
            extra = {} if codes is None else {"labels": codes[i].numpy()}
            d.write_samples(fake=fake[i], z=z_eval[i].cpu().numpy(), **extra)
        d.write_summary(summary)
        if not keep_checkpoint:
            d.checkpoint_path.unlink(missing_ok=True)
        summaries.append(summary)
    return summaries


def _bar(total: int, start: int, progress: bool, specs: list[RunSpec]):
    if not progress:
        return None
    from tqdm.auto import tqdm

    desc = ", ".join(f"{k}={v}" for k, v in specs[0].labels.items() if k != "seed")
    return tqdm(total=total, initial=start, desc=f"  {desc} x{len(specs)}", leave=False,
                unit="it", dynamic_ncols=True)


def _checkpoint(dirs, game: Game, ema: EMA | None, step: int, rows, diverged_at: Tensor) -> None:
    import io

    from ganbench.results import atomic_write_bytes

    for i, d in enumerate(dirs):
        state = {
            "step": step,
            "G": member_state(game.G, i), "D": member_state(game.D, i),
            "opt_g": _opt_slice(game.opt_g, i), "opt_d": _opt_slice(game.opt_d, i),
            "rng": {name: rng.gens[i].get_state() for name, rng in
                    (("data", game.data_rng), ("noise", game.noise_rng), ("reg", game.reg_rng))},
            "ema": None if ema is None else [p[i].cpu().clone() for p in ema.shadow],
            "rows": rows[i], "diverged_at": int(diverged_at[i]),
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(d.checkpoint_path, buf.getvalue())


def _opt_slice(opt: MemberOptimizer, i: int) -> dict:
    sd = opt.state_dict()
    return {"t": sd["t"], "m": [x[i].cpu() for x in sd["m"]], "v": [x[i].cpu() for x in sd["v"]],
            "prev": [x[i].cpu() for x in sd["prev"]], "lr": sd["lr"][i].cpu()}


def _try_resume(dirs, game: Game, ema: EMA | None) -> dict | None:
    """Resume when every member left a checkpoint at the same step; else start afresh."""
    paths = [d.checkpoint_path for d in dirs]
    if not all(p.is_file() for p in paths):
        return None
    try:
        states = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    except Exception:
        return None
    if len({s["step"] for s in states}) != 1:
        return None
    dev = game.alive.device
    load_member_states(game.G, [s["G"] for s in states])
    load_member_states(game.D, [s["D"] for s in states])
    for opt, key in ((game.opt_g, "opt_g"), (game.opt_d, "opt_d")):
        parts = [s[key] for s in states]
        opt.load_state_dict({
            "t": parts[0]["t"],
            "m": [torch.stack(x).to(dev) for x in zip(*[p["m"] for p in parts])],
            "v": [torch.stack(x).to(dev) for x in zip(*[p["v"] for p in parts])],
            "prev": [torch.stack(x).to(dev) for x in zip(*[p["prev"] for p in parts])],
            "lr": torch.stack([p["lr"] for p in parts]).to(dev)})
    for name, rng in (("data", game.data_rng), ("noise", game.noise_rng), ("reg", game.reg_rng)):
        rng.set_state([s["rng"][name] for s in states])
    if ema is not None:
        if any(s["ema"] is None for s in states):
            return None
        for j, sh in enumerate(ema.shadow):
            sh.copy_(torch.stack([s["ema"][j] for s in states]).to(sh))
    return {"step": states[0]["step"], "rows": [s["rows"] for s in states],
            "diverged_at": torch.tensor([s["diverged_at"] for s in states])}
