"""Classifiers that metrics train for themselves: networks sized for the data, one fitting
loop (Adam, early stopping on a validation split), and the cached dataset classifier.

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
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        net.load_state_dict(saved["state"])
        net.test_accuracy = saved["test_accuracy"]
    else:
        batch = 2048 if dataset.kind == "vector" else 128
        fit(net, (x[tr], y[tr]), (x[va], y[va]), gen, lr=1e-3 if dataset.kind == "image" else 3e-3,
            max_steps=4000, batch_size=batch, patience=400)
        acc = float((predict(net, xt).argmax(-1) == yt).double().mean())
        net.test_accuracy = acc
        buf = io.BytesIO()
        torch.save({"state": net.state_dict(), "test_accuracy": acc, "settings": settings}, buf)
        from ganbench.results import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue())
    net.eval().requires_grad_(False)
    _MEMO[key] = net
    return net.to(dev)
