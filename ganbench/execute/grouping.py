"""Which runs train together as one ensemble.

Runs share an ensemble when they share everything that fixes the shape of the computation:
dataset, architecture (as built, so a model that adapts its critic to the regularizer is
compared after adapting), batch size, scheme with its step counts, optimiser kind, budget
and evaluation plan. Seeds, optimiser hyper-parameters and EMA decays are per member
everywhere. Objectives and regularizers are per member where the critic's forward pass
keeps no state (no batch-norm statistics, no spectral-norm vectors): a mixed ensemble takes
extra critic passes that only some members read (``ganbench.game``), and a stateful critic
would let those passes change the other members. A run's result never depends on its
group (tested), so grouping is only a matter of speed.
"""

from __future__ import annotations

import functools
import hashlib

import torch

from ganbench.suite import PluginRef, RunSpec, canonical

# config keys that may differ inside one ensemble
MEMBER_KEYS = ("seed", "optimizer.lr_g", "optimizer.lr_d", "optimizer.beta1",
               "optimizer.beta2", "optimizer.momentum", "training.ema")
# ... and, where the critic is stateless, these too
MIXABLE_KEYS = ("objective", "regularizer")


def ensemble_key(spec: RunSpec) -> str:
    """Runs with equal keys can train as one ensemble."""
    arch, stateless = _architecture(canonical(spec.config["model"]),
                                    canonical(spec.config["dataset"]),
                                    tuple(r.name for r in spec.regularizers()))
    drop = MEMBER_KEYS + (MIXABLE_KEYS if stateless else ())
    return f"{spec.group_key(drop)}-{arch}"


@functools.lru_cache(maxsize=256)
def _architecture(model_cfg: str, dataset_cfg: str, regularizers: tuple[str, ...]
                  ) -> tuple[str, bool]:
    """(fingerprint of the built networks' tensors, whether the critic has no buffers)."""
    import json

    from ganbench.seeding import generator

    dataset = PluginRef.parse(json.loads(dataset_cfg)).create("datasets")
    model = PluginRef.parse(json.loads(model_cfg)).create("models")
    model.bind(dataset)
    with torch.random.fork_rng(devices=[]):
        G = model.generator(dataset.shape, [generator(0, "init")])
        D = model.build_critic(dataset.shape, [generator(0, "init")], regularizers)
    parts = [(prefix, k, tuple(v.shape), str(v.dtype), type(mod).__name__)
             for prefix, net in (("G", G), ("D", D))
             for mod_name, mod in net.named_modules()
             for k, v in mod.named_parameters(recurse=False)] + \
            [("B", k, tuple(v.shape)) for k, v in D.named_buffers()]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:12]
    return digest, not any(True for _ in D.buffers())


def group_runs(runs: list[RunSpec], max_group: int = 64) -> list[list[RunSpec]]:
    """Runs -> ensembles of at most ``max_group`` members (suite order inside each)."""
    if max_group < 1:
        raise ValueError("max_group must be >= 1")
    groups: dict[str, list[RunSpec]] = {}
    for r in runs:
        groups.setdefault(ensemble_key(r), []).append(r)
    return [members[i:i + max_group] for members in groups.values()
            for i in range(0, len(members), max_group)]
