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

from ganbench.train.build import Built, build
from ganbench.train.checkpoints import CHECKPOINT_KEYS, checkpoint, resume
from ganbench.train.device import cpu_model, device_name, environment, peak_memory, resolve_device
from ganbench.train.ema import EMA
from ganbench.train.evaluation import evaluate, generated, member_critic
from ganbench.train.loop import CHECKPOINT_EVERY_S, checkpoint_interval, finish, train, train_group
from ganbench.train.session import setup
from ganbench.train.state import Session

__all__ = ["CHECKPOINT_EVERY_S", "CHECKPOINT_KEYS", "EMA", "Built", "Session", "build",
           "checkpoint", "checkpoint_interval", "cpu_model", "device_name", "environment",
           "evaluate", "finish", "generated", "member_critic", "peak_memory", "resolve_device",
           "resume", "setup", "train", "train_group"]
