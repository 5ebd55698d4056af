"""Executors: plan the runs of a suite into groups (``plan``) and train them, in this
process (``local``), in worker processes (``processes``) or as Ray tasks on a cluster
(``ray``), each group through one in-process layer (``inprocess``), with live progress and
a clean stop (``run``).

Compatible runs (``ganbench.execute.grouping``) form one vectorised ensemble when
``vectorize="auto"``; ``"off"`` trains every run alone. Finished runs are skipped;
interrupted groups resume from their checkpoints.

Progress: whichever process trains a group publishes its step count at most every
REPORT_EVERY_S (workers through shared memory the parent polls); ``ganbench.execute.progress``
shows it.

Stopping: the first SIGINT (Ctrl-C) or SIGTERM asks every training process to stop. A
group stops before its next step, where its state is whole, and is checkpointed there; one
busy in a long evaluation is abandoned after STOP_GRACE_S and keeps its last checkpoint.
Workers still running after STOP_DEADLINE_S are killed. Finished runs are kept, and
``run_suite`` raises Interrupted. A second signal exits at once.
"""

from ganbench.execute.inprocess import Stopped
from ganbench.execute.plan import (
    EXECUTORS,
    Plan,
    choose_executor,
    cost_estimate,
    default_jobs,
    group_label,
    plan,
    run_title,
    with_checkpoint_every,
)
from ganbench.execute.run import Interrupted, run_suite

__all__ = ["EXECUTORS", "Interrupted", "Plan", "Stopped", "choose_executor", "cost_estimate",
           "default_jobs", "group_label", "plan", "run_suite", "run_title",
           "with_checkpoint_every"]
