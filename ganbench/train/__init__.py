"""The trainer: one loop for every objective, scheme and group size.

A group of compatible runs (``ganbench.execute.grouping``: same shapes, batch, dataset and scheme;
any seeds, optimiser hyper-parameters, EMA decays and, where the critic allows it,
objectives and regularizers) trains as one ensemble whose parameters are stacked along a
member axis; a single run is a group of one. Each member's initial weights, data, noise
and penalties come from generators seeded by its own seed, so a member reproduces the same
run trained alone. The step loop never synchronises with the host: divergence is tracked
on the device and read at evaluation.

``train_group`` is four steps: ``setup`` (build or resume), ``train`` (the step loop, with
evaluations on the schedule and checkpoints), ``evaluate`` and ``finish`` (write results).
"""

from __future__ import annotations

import io
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbench.data import REGISTRY as DATASETS
from ganbench.game import Game, pack_code, partition
from ganbench.game.optim import MemberOptimizer
from ganbench.metrics import REGISTRY as METRICS
from ganbench.metrics.base import EvalContext
from ganbench.models import REGISTRY as MODELS
from ganbench.objectives import REGISTRY as OBJECTIVES
from ganbench.objectives.regularizers import REGISTRY as REGULARIZERS
from ganbench.results import RunDir
from ganbench.schemes import REGISTRY as SCHEMES
from ganbench.seeding import MemberRandom, generator
from ganbench.suite import RunSpec, canonical

CHECKPOINT_EVERY_S = 60.0


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
    """Everything one group trains with (models stacked over the members; each member's
    objective, regularizer and optimiser hyper-parameters its own)."""
    cfg = specs[0].config
    seeds = [s.seed for s in specs]
    dataset = _create(DATASETS, cfg["dataset"])
    model = _create(MODELS, cfg["model"])
    scheme = _create(SCHEMES, cfg["scheme"])
    model.regularizer = None if cfg["regularizer"] is None else cfg["regularizer"]["name"]
    model.bind(dataset)
    init = [generator(s, "init") for s in seeds]
    G = model.generator(dataset.shape, init).to(device)
    D = model.critic(dataset.shape, init).to(device)
    opts = [s.config["optimizer"] for s in specs]
    common = dict(kind=cfg["optimizer"]["name"], **getattr(scheme, "optimizer_options", {}),
                  **{k: [o[k] for o in opts] for k in ("beta1", "beta2", "momentum")})
    opt_g = MemberOptimizer(list(G.parameters()), [o["lr_g"] for o in opts], **common)
    d_params = list(D.parameters())  # none for a model without a critic (the VAE)
    opt_d = MemberOptimizer(d_params, [o["lr_d"] for o in opts], **common) if d_params else None
    keyed = {k: [canonical(s.config[k]) for s in specs] for k in ("objective", "regularizer")}
    objectives = _instances(OBJECTIVES, [s.config["objective"] for s in specs], keyed["objective"])
    regularizers = _instances(REGULARIZERS, [s.config["regularizer"] for s in specs],
                              keyed["regularizer"])
    game = model.game_class(G=G, D=D, objectives=partition(objectives, keyed["objective"], device),
                regularizers=partition(regularizers, keyed["regularizer"], device),
                opt_g=opt_g, opt_d=opt_d,
                dataset=dataset, data_rng=MemberRandom(seeds, "data", device),
                noise_rng=MemberRandom(seeds, "noise", device),
                reg_rng=MemberRandom(seeds, "regularizer", device),
                latent_dim=model.latent_dim, batch_size=cfg["training"]["batch_size"],
                alive=torch.ones(len(specs), dtype=torch.bool, device=device),
                packing=model.packing, num_codes=model.num_codes)
    game.project_critic("on_critic_init")  # WGAN clips the initial weights too
    metrics = {m["name"]: METRICS.create(m["name"], **m["params"])
               for m in cfg["evaluation"]["metrics"]}
    return Built(game, scheme, dataset, metrics, model)


def _instances(reg, refs: list[dict | None], keys: list[str]) -> list[Any]:
    """One plug-in instance per distinct config, shared by the members that use it."""
    made: dict[str, Any] = {}
    out = []
    for ref, key in zip(refs, keys):
        if ref is not None and key not in made:
            made[key] = _create(reg, ref)
        out.append(None if ref is None else made[key])
    return out


class EMA:
    """Exponential moving average of the generator's parameters, one decay per member; a
    member with decay 0 is evaluated at its raw parameters."""

    def __init__(self, params: list[Tensor], decays: list[float]):
        dev = params[0].device
        self.on = torch.tensor([d > 0 for d in decays], device=dev)
        self.weight = torch.tensor([1 - d for d in decays], dtype=params[0].dtype, device=dev)
        self.shadow = [p.detach().clone() for p in params]

    @staticmethod
    def create(params: list[Tensor], decays: list[float]) -> EMA | None:
        return EMA(params, decays) if any(d > 0 for d in decays) else None

    @torch.no_grad()
    def update(self, params: list[Tensor]) -> None:
        for s, p in zip(self.shadow, params):
            s.lerp_(p, self.weight.view(-1, *([1] * (p.ndim - 1))))

    def params(self, module: torch.nn.Module) -> dict[str, Tensor]:
        """The parameters to evaluate: the average where a member keeps one, else raw."""
        out = {}
        for (name, p), s in zip(module.named_parameters(), self.shadow):
            out[name] = torch.where(self.on.view(-1, *([1] * (p.ndim - 1))), s, p.detach())
        return out

    def member_state(self, i: int) -> list[Tensor]:
        return [s[i].cpu().clone() for s in self.shadow]

    @torch.no_grad()
    def load_member_states(self, states: list[list[Tensor]]) -> None:
        for j, sh in enumerate(self.shadow):
            sh.copy_(torch.stack([s[j] for s in states]).to(sh))


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


@dataclass
class Session:
    """One group's training: what was built, where it writes, and its running record."""

    specs: list[RunSpec]
    dirs: list[RunDir]
    built: Built
    ema: EMA | None
    device: torch.device
    z_eval: Tensor
    codes: Tensor | None
    real_eval: list[Tensor]
    diverged_at: Tensor
    rows: list[list[dict]]
    final: list[dict[str, float]]
    errors: list[dict[str, str]]
    timings: list[dict[str, float]]
    start: int = 0
    step: int = 0
    train_s: float = 0.0

    @property
    def game(self) -> Game:
        return self.built.game

    @property
    def training(self) -> dict[str, Any]:
        return self.specs[0].config["training"]

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.specs[0].config["evaluation"]


def train_group(specs: list[RunSpec], root: Path, device: torch.device,
                report: Callable[[int], None] | None = None, keep_checkpoint: bool = False,
                checkpoint_every_s: float | None = None) -> list[dict[str, Any]]:
    """Train a group of compatible runs as one ensemble; write each run's results."""
    session = setup(specs, root, device)
    train(session, report, checkpoint_every_s)
    return finish(session, keep_checkpoint)


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
        print(f"warning: checkpoint of {specs[0].suite}/{why}; training "
              f"{'it' if E == 1 else f'its group of {E}'} from the start",
              file=sys.stderr, flush=True)
        for d in dirs:
            d.checkpoint_path.unlink(missing_ok=True)
        return setup(specs, root, device, allow_resume=False)
    return session


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
    game, scheme, ema = session.game, session.built.scheme, session.ema
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
        losses = game.train_step(scheme)
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
                                **{k: loss_now[k][i] for k in loss_now}, **values[i]})
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
    """A metric on several members: one batched call where the metric offers one
    (``evaluate_many``: e.g. one ensemble of fresh classifiers), else one call each. A
    metric failing is recorded as its error message; the suite goes on."""
    many = getattr(metric, "evaluate_many", None)
    if many is not None and len(members) > 1:
        try:
            return dict(zip(members, many(fakes, ctxs)))
        except Exception:  # fall back to the per-member path, which records each error
            pass
    out: dict[int, dict[str, float] | str] = {}
    for i, f, c in zip(members, fakes, ctxs):
        try:
            out[i] = metric(f, c)
        except Exception as exc:  # a metric failing is recorded, the suite goes on
            out[i] = f"{type(exc).__name__}: {exc}"
    return out


def finish(session: Session, keep_checkpoint: bool = False) -> list[dict[str, Any]]:
    """Write each member's samples and summary (the summary last: it marks a run finished)."""
    specs, device = session.specs, session.device
    _, fake_t = generated(session)
    fake = fake_t.numpy()
    div = session.diverged_at.cpu().tolist()
    peak_kind, peak = peak_memory(device)
    env = environment(device)
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
        if status == "done":
            extra = {} if session.codes is None else {"labels": session.codes[i].numpy()}
            d.write_samples(fake=fake[i], z=session.z_eval[i].cpu().numpy(), **extra)
        d.write_summary(summary)
        if not keep_checkpoint:
            d.checkpoint_path.unlink(missing_ok=True)
        summaries.append(summary)
    return summaries


# --- checkpoints: one file per run, so a run resumes in any group --------------------------


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
