"""Classifiers that metrics train for themselves: networks sized for the data, one fitting
recipe (Adam, weight averaging, early stopping on a validation split) for one network
(``Fitter``) or for an ensemble of them trained at once (``EnsembleFitter``: the members of
a group of runs), and the cached dataset classifier.

Two users:
- the classifier two-sample estimate of JSD (``metrics/classifier_jsd.py``) trains a fresh
  real-vs-fake classifier at every evaluation;
- ``dataset_classifier`` trains a label classifier on a dataset's real labelled training
  data (the mode index for mixtures, the digit for digit images) once, and caches it on
  disk under a hash of that data and of the settings. It is the ``classifier`` feature
  extractor of FID/KID/precision/recall and the digit reader of stacked-digit mode counting.

Every random draw (initial weights, minibatches) comes from a seeded ``torch.Generator``,
never from the global RNG, so a classifier is a function of its data and its seed.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.models.layers import member_uniform
from ganbench.seeding import generator as seeded

# --- building blocks -----------------------------------------------------------------------


class Standardize(nn.Module):
    """(x - mean) / std with statistics fitted on training data: per coordinate for vectors,
    per channel for images. Without it the network's scale depends on the data's units."""

    def __init__(self, mean: Tensor, std: Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    @classmethod
    def fit(cls, x: Tensor) -> Standardize:
        x = x.double()
        dims = [0] if x.ndim == 2 else [0, *range(2, x.ndim)]
        mean = x.mean(dim=dims, keepdim=True)[0]
        std = x.std(dim=dims, keepdim=True)[0]
        # constant coordinates (std 0) must not blow up: leave them unscaled
        std = torch.where(std > 1e-12, std, torch.ones_like(std))
        return cls(mean.float(), std.float())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class FourierFeatures(nn.Module):
    """[z, sin(zW), cos(zW)] with fixed random W at several scales (Tancik et al. 2020).

    A plain MLP learns sharp low-dimensional structure (a ring of modes with std 1% of its
    radius) very slowly ("spectral bias"); these features let it resolve such structure in
    a few hundred steps. Scales are frequencies in units of the standardised input: each
    column of W has norm about ``scale`` whatever the dimension.
    """

    def __init__(self, dim: int, scales: tuple[float, ...], per_scale: int,
                 generator: torch.Generator):
        super().__init__()
        cols = [torch.randn(dim, per_scale, generator=generator) * (s / math.sqrt(dim))
                for s in scales]
        self.register_buffer("W", torch.cat(cols, dim=1))
        self.out_dim = dim + 2 * self.W.shape[1]

    def forward(self, z: Tensor) -> Tensor:
        h = z @ self.W
        return torch.cat([z, h.sin(), h.cos()], dim=1)


def init_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default init (uniform +-1/sqrt(fan_in)) drawn from ``generator``."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                bound = 1.0 / math.sqrt(m.weight[0].numel())
                m.weight.copy_(member_uniform([generator], tuple(m.weight.shape), bound)[0])
                if m.bias is not None:
                    m.bias.copy_(member_uniform([generator], tuple(m.bias.shape), bound)[0])
    return module


class Classifier(nn.Module):
    """norm -> body -> head. ``features(x)`` is the body's output (the penultimate layer),
    ``forward(x)`` the logits ([N] for one output, [N, K] otherwise)."""

    def __init__(self, norm: nn.Module, body: nn.Module, head: nn.Linear):
        super().__init__()
        self.norm, self.body, self.head = norm, body, head

    @property
    def feature_dim(self) -> int:
        return self.head.in_features

    def features(self, x: Tensor) -> Tensor:
        return self.body(self.norm(x))

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.features(x))
        return out.squeeze(-1) if out.shape[-1] == 1 else out


def mlp(x_train: Tensor, outputs: int, generator: torch.Generator, width: int = 128,
        depth: int = 2, fourier: tuple[float, ...] = (), fourier_features: int = 32) -> Classifier:
    """MLP for vectors [N, D], standardised on ``x_train``, optionally on Fourier features."""
    dim = x_train.shape[1]
    layers: list[nn.Module] = []
    if fourier:
        ff = FourierFeatures(dim, fourier, fourier_features, generator)
        layers.append(ff)
        dim = ff.out_dim
    for _ in range(depth):
        layers += [nn.Linear(dim, width), nn.SiLU()]
        dim = width
    net = Classifier(Standardize.fit(x_train), nn.Sequential(*layers), nn.Linear(dim, outputs))
    return init_parameters(net, generator)


def cnn(x_train: Tensor, outputs: int, generator: torch.Generator, width: int = 32,
        feature_dim: int = 128) -> Classifier:
    """Small CNN for images [N, C, H, W] of any size >= 4: blocks of two 3x3 convolutions and
    a 2x2 max-pool while the image is at least 8 pixels (at most three blocks), then a
    fully connected feature layer."""
    c, h, w = x_train.shape[1:]
    layers: list[nn.Module] = []
    ch = c
    for i in range(3):
        if min(h, w) < 8 and i > 0:
            break
        out = width * 2**i
        layers += [nn.Conv2d(ch, out, 3, padding=1), nn.ReLU(),
                   nn.Conv2d(out, out, 3, padding=1), nn.ReLU()]
        ch = out
        if min(h, w) >= 8:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(ch * h * w, feature_dim), nn.ReLU()]
    net = Classifier(Standardize.fit(x_train), nn.Sequential(*layers),
                     nn.Linear(feature_dim, outputs))
    return init_parameters(net, generator)


# --- fitting ---------------------------------------------------------------------------------


@dataclass
class FitResult:
    steps: int          # optimiser steps taken
    best_step: int      # step of the kept (best validation) weights
    best_val: float     # validation loss of the kept weights
    seconds: float


def per_sample_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Binary cross-entropy (float labels in {0, 1}) or cross-entropy (integer labels)."""
    if y.dtype.is_floating_point:
        return F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return F.cross_entropy(logits, y, reduction="none")


@torch.no_grad()
def predict(net: nn.Module, x: Tensor, batch: int = 8192,
            fn: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """``net(x)`` (or ``fn(x)``) in chunks, without gradients, in eval mode."""
    was = net.training
    net.eval()
    f = fn or net
    out = torch.cat([f(x[i:i + batch]) for i in range(0, x.shape[0], batch)])
    net.train(was)
    return out


class Fitter:
    """Adam on the mean per-sample loss (minibatches drawn with ``generator``; full batch
    when the training set fits in ``batch_size``), resumable: ``run(until)`` trains up to
    step ``until`` or until early stopping, so candidates can be raced.

    The weights evaluated and kept are an exponential moving average of the iterates
    (decay ``ema``; 0 = the iterates themselves): it removes most of the minibatch noise,
    so the validation curve is smooth enough for early stopping and lower at its minimum.
    It keeps the weights of the best validation loss and stops after ``patience`` steps
    without an improvement larger than ``min_delta`` (near-separable data would otherwise
    train on for ever, sharpening its logits), or once the validation loss is at most
    ``good_enough``."""

    def __init__(self, net: nn.Module, train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
                 generator: torch.Generator, lr: float = 3e-3, batch_size: int = 1024,
                 patience: int = 300, eval_every: int = 10, ema: float = 0.99,
                 min_delta: float = 1e-4, good_enough: float = 0.0):
        self.net, self.train, self.val, self.gen = net, train, val, generator
        self.batch_size, self.patience, self.eval_every = batch_size, patience, eval_every
        self.ema, self.min_delta, self.good_enough = ema, min_delta, good_enough
        self.opt = torch.optim.Adam(net.parameters(), lr=lr)
        self.avg = copy.deepcopy(net) if ema > 0 else net
        self.best, self.best_step = math.inf, 0
        self.best_state = copy.deepcopy(self.avg.state_dict())
        self.step, self.stopped, self.seconds = 0, False, 0.0

    def run(self, until: int) -> Fitter:
        t0 = time.perf_counter()
        x, y = self.train
        n = x.shape[0]
        self.net.train()
        while self.step < until and not self.stopped:
            self.step += 1
            if n <= self.batch_size:
                xb, yb = x, y
            else:
                idx = torch.randint(n, (self.batch_size,), generator=self.gen).to(x.device)
                xb, yb = x[idx], y[idx]
            loss = per_sample_loss(self.net(xb), yb).mean()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            if self.ema > 0:
                with torch.no_grad():
                    for a, p in zip(self.avg.parameters(), self.net.parameters()):
                        a.lerp_(p, 1.0 - self.ema)
            if self.step % self.eval_every == 0 or self.step == until:
                v = float(per_sample_loss(predict(self.avg, self.val[0]), self.val[1]).mean())
                if v < self.best - self.min_delta:
                    self.best, self.best_step = v, self.step
                    self.best_state = copy.deepcopy(self.avg.state_dict())
                if self.best <= self.good_enough or self.step - self.best_step >= self.patience:
                    self.stopped = True
        self.seconds += time.perf_counter() - t0
        return self

    def finish(self) -> FitResult:
        """Load the best weights into the network (eval mode); the summary of the fit."""
        self.net.load_state_dict(self.best_state)
        self.net.eval()
        return FitResult(self.step, self.best_step, self.best, self.seconds)


def fit(net: nn.Module, train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
        generator: torch.Generator, max_steps: int = 3000, **kw) -> FitResult:
    """Train ``net`` to early stopping (at most ``max_steps``); see ``Fitter``."""
    return Fitter(net, train, val, generator, **kw).run(max_steps).finish()


def _fixed_prefix(net: nn.Module) -> list[str]:
    """Names of a Classifier's leading modules without parameters (its ``norm`` and any
    parameter-free layers that open its body, e.g. Fourier features); [] for other nets."""
    if not isinstance(net, Classifier):
        return []
    out = ["norm"]
    for i, m in enumerate(net.body):
        if any(True for _ in m.parameters()) or isinstance(m, (nn.Dropout, nn.BatchNorm1d,
                                                                nn.BatchNorm2d)):
            break
        out.append(f"body.{i}")
    return out


@torch.no_grad()
def _apply(net: nn.Module, names: list[str], x: Tensor, batch: int = 8192) -> Tensor:
    if not names:
        return x
    mods = [net.get_submodule(k) for k in names]

    def f(h: Tensor) -> Tensor:
        for m in mods:
            h = m(h)
        return h
    return torch.cat([f(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


class EnsembleFitter:
    """``Fitter`` for E networks of one architecture at once: every parameter is stacked on
    a leading member axis, one vmapped forward / backward and one Adam update serve all
    members (the parameter-free input transform, standardising and Fourier features, is
    applied to each member's data once, not to every minibatch), and each
    member keeps its own data, generator (minibatches), optimiser moments, weight average,
    best weights and early stopping. A member follows its own ``Fitter`` recipe: the same
    initial weights, the same minibatch draws from the same generator, the same Adam and EMA
    arithmetic. Only rounding differs (batched kernels sum in other orders, and which kernel
    runs can depend on the number of members); training amplifies it, so a member's fit
    equals its ``Fitter``'s, or its fit in another group, to well within the estimate's
    noise, not bit for bit (tests/metrics/test_classifier_jsd_ensemble.py).

    A stopped member's weights freeze: it leaves the stacked state (its best weights are
    kept), so the members still training neither wait for it nor pay for it. Every member
    starts at step 0 and is removed when it stops, so the members still in the state have
    all taken the same number of steps and share one step count.

    ``nets``: the members' networks (each initialised from its own generator); ``trains`` /
    ``vals``: their (x, y) of equal shapes across members; ``gens``: their generators.
    ``finish()`` loads each member's best weights into its network."""

    def __init__(self, nets: list[nn.Module], trains: list[tuple[Tensor, Tensor]],
                 vals: list[tuple[Tensor, Tensor]], gens: list[torch.Generator],
                 lr: float = 3e-3, batch_size: int = 1024, patience: int = 300,
                 eval_every: int = 10, ema: float = 0.99, min_delta: float = 1e-4,
                 good_enough: float = 0.0, eval_batch: int = 8192):
        from torch.func import functional_call, vmap

        if not (len(nets) == len(trains) == len(vals) == len(gens)) or not nets:
            raise ValueError("EnsembleFitter needs one network, train set, validation set and "
                             "generator per member")
        for what, sets in (("train", trains), ("validation", vals)):
            if len({(tuple(x.shape), tuple(y.shape)) for x, y in sets}) != 1:
                raise ValueError(f"the members' {what} sets differ in shape")
        self.nets, self.gens = nets, gens
        self.lr, self.batch_size, self.patience = lr, batch_size, patience
        self.eval_every, self.ema, self.min_delta = eval_every, ema, min_delta
        self.good_enough, self.eval_batch = good_enough, eval_batch
        e = len(nets)
        # parameters of all members as one flat [E, P] tensor: Adam, the weight average and
        # the best weights are then a few whole-tensor operations; layers see views of it
        self.names = [k for k, _ in nets[0].named_parameters()]
        self.shapes = [p.shape for _, p in nets[0].named_parameters()]
        self.sizes = [p.numel() for _, p in nets[0].named_parameters()]
        for net in nets[1:]:
            if [(k, p.shape) for k, p in net.named_parameters()] != list(zip(self.names,
                                                                               self.shapes)):
                raise ValueError("EnsembleFitter members must share one architecture")
        self.flat = torch.stack([torch.cat([p.detach().reshape(-1) for p in net.parameters()])
                                 for net in nets])
        # the parameter-free input transform (standardising, Fourier features) is fixed:
        # apply it to each member's data once instead of to every minibatch
        rest = copy.deepcopy(nets[0]).to("meta")
        prefix = _fixed_prefix(rest)
        for name in prefix:
            rest.set_submodule(name, nn.Identity())
        fixed = lambda i, x: _apply(nets[i], prefix, x)  # noqa: E731
        trains = [(fixed(i, x), y) for i, (x, y) in enumerate(trains)]
        vals = [(fixed(i, x), y) for i, (x, y) in enumerate(vals)]
        self.buffers = {k: torch.stack([dict(net.named_buffers())[k] for net in nets])
                        for k, _ in rest.named_buffers()}
        self.m, self.v = torch.zeros_like(self.flat), torch.zeros_like(self.flat)
        self.avg = self.flat.clone() if ema > 0 else self.flat
        self.best_flat = self.avg.clone()
        self.x = torch.stack([t[0] for t in trains])
        self.y = torch.stack([t[1] for t in trains])
        self.vx = torch.stack([t[0] for t in vals])
        self.vy = torch.stack([t[1] for t in vals])
        self.active = list(range(e))  # members still training, in the order of the state
        self.best = [math.inf] * e
        self.best_step = [0] * e
        self.steps = [0] * e
        self.stopped = [False] * e
        self.step, self.seconds = 0, 0.0
        self._f = vmap(lambda p, b, x: functional_call(rest, (p, b), (x,)))

    def _params(self, flat: Tensor) -> dict[str, Tensor]:
        e = flat.shape[0]
        return {k: v.view(e, *s) for k, v, s in
                zip(self.names, flat.split(self.sizes, dim=1), self.shapes)}

    def _forward(self, flat: Tensor, x: Tensor) -> Tensor:
        return self._f(self._params(flat), self.buffers, x)

    def _val_losses(self) -> list[float]:
        with torch.no_grad():
            n = self.vx.shape[1]
            chunk = max(1, self.eval_batch // max(1, len(self.active)))
            losses = [per_sample_loss(self._forward(self.avg, self.vx[:, i:i + chunk]),
                                      self.vy[:, i:i + chunk]) for i in range(0, n, chunk)]
            return torch.cat(losses, dim=1).mean(1).tolist()

    def stop(self, members) -> None:
        """Stop members (indices into ``nets``) now: their weights freeze."""
        for i in members:
            self.stopped[i] = True
        self._compact()

    def _compact(self) -> None:
        keep = [j for j, i in enumerate(self.active) if not self.stopped[i]]
        if len(keep) == len(self.active):
            return
        for i in self.active:
            if self.stopped[i]:
                self.steps[i] = self.step
        ix = torch.tensor(keep, dtype=torch.long, device=self.flat.device)
        self.active = [self.active[j] for j in keep]
        shared = self.avg is self.flat
        self.flat, self.m, self.v = self.flat[ix], self.m[ix], self.v[ix]
        self.avg = self.flat if shared else self.avg[ix]
        self.buffers = {k: b[ix] for k, b in self.buffers.items()}
        self.x, self.y, self.vx, self.vy = self.x[ix], self.y[ix], self.vx[ix], self.vy[ix]

    def run(self, until: int) -> EnsembleFitter:
        """Train every member still training up to step ``until`` or its early stop."""
        t0 = time.perf_counter()
        b1, b2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults, as Fitter uses
        while self.step < until and self.active:
            self.step += 1
            e, n = self.x.shape[:2]
            if n <= self.batch_size:
                xb, yb = self.x, self.y
            else:
                idx = torch.stack([torch.randint(n, (self.batch_size,), generator=self.gens[i])
                                   for i in self.active]).to(self.x.device)
                # rows of the [E * N, ...] view: one index_select, much faster on the CPU
                # than advanced indexing with a (member, sample) pair
                flat_idx = (idx + n * torch.arange(e, device=idx.device)[:, None]).reshape(-1)
                xb = self.x.flatten(0, 1).index_select(0, flat_idx).view(e, -1, *self.x.shape[2:])
                yb = self.y.flatten(0, 1).index_select(0, flat_idx).view(e, -1)
            flat = self.flat.detach().requires_grad_(True)
            # the sum of the members' mean losses: member e's gradient is that of its own
            loss = per_sample_loss(self._forward(flat, xb), yb).mean(1).sum()
            (grad,) = torch.autograd.grad(loss, flat)
            with torch.no_grad():
                # torch.optim.Adam's arithmetic (single-tensor path), operation for operation
                self.m.lerp_(grad, 1 - b1)
                self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                step_size = self.lr / (1 - b1 ** self.step)
                denom = (self.v.sqrt() / math.sqrt(1 - b2 ** self.step)).add_(eps)
                self.flat.addcdiv_(self.m, denom, value=-step_size)
                if self.ema > 0:
                    self.avg.lerp_(self.flat, 1.0 - self.ema)
            if self.step % self.eval_every == 0 or self.step == until:
                improved = []
                for j, (i, v) in enumerate(zip(self.active, self._val_losses())):
                    if v < self.best[i] - self.min_delta:
                        self.best[i], self.best_step[i] = v, self.step
                        improved.append((j, i))
                    if self.best[i] <= self.good_enough or \
                            self.step - self.best_step[i] >= self.patience:
                        self.stopped[i] = True
                if improved:
                    src = torch.tensor([j for j, _ in improved], device=self.flat.device)
                    dst = torch.tensor([i for _, i in improved], device=self.flat.device)
                    self.best_flat[dst] = self.avg[src]
                self._compact()
        for i in self.active:
            self.steps[i] = self.step
        self.seconds += time.perf_counter() - t0
        return self

    def finish(self) -> list[FitResult]:
        """Load each member's best weights into its network (eval mode); their summaries
        (``seconds``: the ensemble's time, shared by all members)."""
        out = []
        for i, net in enumerate(self.nets):
            with torch.no_grad():
                for p, w in zip(net.parameters(), self.best_flat[i].split(self.sizes)):
                    p.copy_(w.view_as(p))
            net.eval()
            out.append(FitResult(self.steps[i], self.best_step[i], self.best[i], self.seconds))
        return out


# --- the dataset classifier --------------------------------------------------------------------

#: bump when the architecture or the training recipe changes: old cache entries then miss
VERSION = 2

# trained classifiers of this process, by cache key (a hit skips even the disk)
_MEMO: dict[str, Classifier] = {}


def default_cache_dir() -> Path:
    """$GANBENCH_CACHE, else ~/.cache/ganbench."""
    env = os.environ.get("GANBENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ganbench"


def tensor_digest(*tensors: Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def labelled_data(dataset, n_vector: int = 20000, seed: int = 0
                  ) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """(train, test) labelled real data: whole splits when the dataset has them
    (``labeled(split)``), else ``n_vector`` and ``n_vector // 4`` fresh draws."""
    if hasattr(dataset, "labeled"):
        return dataset.labeled("train"), dataset.labeled("test")
    out = []
    for split, n in (("train", n_vector), ("test", n_vector // 4)):
        x, y = dataset.sample_labeled(n, seeded(seed, f"dataset_classifier/{split}"), "cpu",
                                      split=split)
        if y is None:
            raise ValueError(f"{type(dataset).__name__} has no labels to train a classifier on")
        out.append((x.float(), y.long()))
    return out[0], out[1]


def _build(kind: str, x: Tensor, k: int, gen: torch.Generator) -> Classifier:
    if kind == "image":
        return cnn(x, k, gen)
    # mixtures: modes are sharp relative to their spread (see FourierFeatures)
    return mlp(x, k, gen, width=64, depth=2, fourier=(1.0, 4.0, 16.0, 64.0))


def _load_cached(net: Classifier, path: Path) -> bool:
    """Load a cached classifier into ``net``: tensors and plain data only (``weights_only``,
    so a planted file cannot run code). False, with a warning, when the file is not a
    classifier cache of this shape (it is trained again and overwritten)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        acc = saved["test_accuracy"]
        if not isinstance(acc, float):
            raise TypeError(f"test_accuracy is {type(acc).__name__}, expected a float")
        state, want = saved["state"], net.state_dict()
        # checked before loading: a failed load_state_dict leaves some tensors copied
        if not isinstance(state, dict) or set(state) != set(want) or any(
                not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape
                for k, v in want.items()):
            raise ValueError("its tensors do not fit this classifier")
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001  (any unreadable cache is trained again)
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        warnings.warn(f"ignoring the classifier cache {path} ({why}); training it again",
                      stacklevel=3)
        return False
    net.test_accuracy = acc
    return True


def dataset_classifier(dataset, cache_dir: Path | str | None = None,
                       device: torch.device | str = "cpu", seed: int = 0) -> Classifier:
    """A label classifier of ``dataset`` (trained on its real labelled training data), in
    eval mode on ``device``: ``net(x)`` gives logits [N, num_classes], ``net.features(x)``
    the penultimate features. ``net.test_accuracy`` is its accuracy on the test split.

    Trained once, then loaded from ``cache_dir`` (default ``default_cache_dir()``)/
    classifiers/<hash>.pt, the hash covering the training data, the settings and VERSION.
    """
    if not dataset.num_classes or dataset.num_classes < 2:
        raise ValueError(f"{type(dataset).__name__} has no classes to train a classifier on")
    (x, y), (xt, yt) = labelled_data(dataset, seed=seed)
    settings = f"v{VERSION}:{dataset.kind}:{dataset.num_classes}:seed{seed}"
    key = hashlib.sha256((settings + tensor_digest(x, y)).encode()).hexdigest()[:24]
    dev = torch.device(device)
    if key in _MEMO:
        return _MEMO[key].to(dev)
    path = Path(cache_dir or default_cache_dir()) / "classifiers" / f"{key}.pt"
    gen = seeded(seed, "dataset_classifier")
    # validation: a seeded 15% of the training split (the test split stays untouched)
    perm = torch.randperm(x.shape[0], generator=gen)
    nv = max(1, int(0.15 * x.shape[0]))
    tr, va = perm[nv:], perm[:nv]
    net = _build(dataset.kind, x[tr], dataset.num_classes, gen)
    if not (path.is_file() and _load_cached(net, path)):
        batch = 2048 if dataset.kind == "vector" else 128
        fit(net, (x[tr], y[tr]), (x[va], y[va]), gen, lr=1e-3 if dataset.kind == "image" else 3e-3,
            max_steps=4000, batch_size=batch, patience=400)
        acc = float((predict(net, xt).argmax(-1) == yt).double().mean())
        net.test_accuracy = acc
        buf = io.BytesIO()
        torch.save({"state": net.state_dict(), "test_accuracy": acc, "settings": settings}, buf)
        from ganbench.util.atomic import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue())
    net.eval().requires_grad_(False)
    _MEMO[key] = net
    return net.to(dev)
