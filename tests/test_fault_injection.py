"""Fault injection: `ganbench run` of a small suite is SIGKILLed at seeded random moments
(checkpoints at every evaluation, so kills land before, between and after checkpoints, and
between groups), resumed each time, and its final results are compared with an
uninterrupted run's.

Each killed run is a separate process running the command line's ``main``, forked from a
multiprocessing fork server that imported ganbench and torch once (a fresh interpreter per
trial would spend seconds importing torch before the first step); the fork server has never
run a torch operation, so no thread pool is forked.

They must be bit-identical, not merely close: a resumed run restores every member's
parameters, optimiser state and random generators exactly, and on one device with one
thread every operation is deterministic, so any difference is a bug of the resume (a lost
step, a re-drawn batch), not rounding. The comparison covers final metrics, every
evaluation row (losses included; wall time excepted) and the generated samples."""

import json
import multiprocessing as mp
import random
import time

import numpy as np
import yaml

from ganbench.cli import main
from ganbench.results import inspect_run

SUITE = {
    "name": "fi",
    "base": {
        "model": {"name": "mlp", "latent_dim": 4, "width": 32, "depth": 2},
        "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
        "training": {"iterations": 300, "batch_size": 64},
        "evaluation": {"every": 25, "samples": 200, "metrics": ["modes", "hq_fraction"]},
    },
    "grid": {"objective": ["minimax", "nonsaturating"], "seed": [0, 1]},
}
# two groups of two, trained one after the other: kills also land between groups
ARGS = ["--no-progress", "--executor", "local", "--max-group", "2", "--checkpoint-every", "0"]
KILLS = 3
BUDGET_S = 40  # the kill loop's bound, even on a loaded machine


def snapshot(suite_dir):
    """run id -> (summary metrics, evaluation rows without wall time, samples)."""
    out = {}
    for d in sorted(p for p in suite_dir.iterdir() if p.is_dir()):
        summary = json.loads((d / "summary.json").read_text())
        rows = [{k: v for k, v in json.loads(line).items() if k != "wall_s"}
                for line in (d / "metrics.jsonl").read_text().splitlines()]
        with np.load(d / "samples.npz") as z:
            fake = z["fake"].copy()
        out[d.name] = (summary["status"], summary["metrics"], rows, fake)
    return out


def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(tmp_path,
                                                                         monkeypatch):
    f = tmp_path / "fi.yaml"
    f.write_text(yaml.safe_dump(SUITE))
    # one thread, like this process (results are bit-identical per device and thread count)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["ganbench.cli", "ganbench.execute"])
    from multiprocessing import forkserver

    forkserver.ensure_running()  # imports while the reference trains
    t0 = time.monotonic()
    assert main(["run", str(f), "--results", str(tmp_path / "ref"), *ARGS]) == 0
    train_s = time.monotonic() - t0  # training and evaluation, torch already imported
    reference = snapshot(tmp_path / "ref" / "fi")
    assert len(reference) == 4

    root = tmp_path / "killed"
    lock = root / "fi" / ".lock"
    rng = random.Random(20261201)
    landed = []  # per kill: (finished runs, runs with a checkpoint) left behind
    deadline = time.monotonic() + BUDGET_S
    for _ in range(KILLS):
        p = ctx.Process(target=main, args=(["run", str(f), "--results", str(root), *ARGS],))
        p.start()
        # once it holds the lock it is about to train
        while not (lock.is_file() and f"pid {p.pid}" in lock.read_text()):
            assert p.is_alive(), p.exitcode
            assert time.monotonic() < deadline, "the kill loop ran out of time"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.02, 0.3) * train_s)
        p.kill()  # SIGKILL, unless it has already ended
        p.join()
        runs = [d for d in (root / "fi").iterdir() if d.is_dir()]
        states = [inspect_run(d).state for d in runs]
        # a kill never leaves a file the loader takes as valid but is not
        assert set(states) <= {"finished", "unfinished"}, states
        landed.append((states.count("finished"), sum((d / "checkpoint.pt").is_file()
                                                     for d in runs)))
    # the kills were not all too early or too late to test anything
    assert any(done < 4 for done, _ in landed), landed
    assert any(ckpt > 0 or 0 < done < 4 for done, ckpt in landed), landed

    assert main(["run", str(f), "--results", str(root), *ARGS]) == 0
    resumed = snapshot(root / "fi")
    assert resumed.keys() == reference.keys()
    for rid, (status, metrics, rows, fake) in reference.items():
        r_status, r_metrics, r_rows, r_fake = resumed[rid]
        assert (r_status, r_metrics) == (status, metrics), rid
        assert r_rows == rows, rid
        np.testing.assert_array_equal(r_fake, fake, err_msg=rid)
    assert not list((root / "fi").glob("**/*.tmp"))
