"""Executors: live progress from worker processes, and stopping on a real signal."""

import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganbench.execute import Interrupted, Stopped, inprocess, run_suite
from ganbench.execute import run as execute_run
from ganbench.execute.inprocess import reporter as _reporter
from ganbench.execute.progress import Progress
from ganbench.results import RunDir
from ganbench.suite import load_suite, parse_suite
from ganbench.train import setup

ROOT = Path(__file__).parents[1]


def test_workers_publish_steps_while_a_group_trains(tmp_path, tiny_suite_dict, monkeypatch):
    seen = []

    class Recording(Progress):
        def steps(self, key, done):
            seen.append((key, done))
            super().steps(key, done)

    monkeypatch.setattr(execute_run, "Progress", Recording)
    d = copy.deepcopy(tiny_suite_dict)
    # long enough (seconds) for several REPORT_EVERY_S publications inside the workers
    d["base"]["training"] = {"iterations": 1500, "batch_size": 32}
    d["base"]["evaluation"] = {"every": 1500, "samples": 100, "metrics": ["modes"]}
    d["grid"]["seed"] = [0]
    out = run_suite(parse_suite(d), tmp_path, device="cpu", executor="processes", jobs=2,
                    vectorize="off", progress="off")
    assert out["done"] == 2
    # counts from inside the workers (every 0.5 s), before their groups ended
    assert any(0 < done < 1500 for _, done in seen), seen


def test_reporter_publishes_at_most_every_interval_and_stops_at_a_boundary(monkeypatch):
    published = []
    report = _reporter(published.append)
    for step in range(1000):
        report(step)
    assert published == [0]  # a thousand fast steps: one publication
    monkeypatch.setattr(inprocess.STOP, "signum", signal.SIGINT)
    with pytest.raises(Stopped) as stop:
        report(1000)
    assert stop.value.clean


SUITE = {
    "name": "stop",
    "device": "cpu",
    "base": {"model": {"name": "mlp", "latent_dim": 4, "width": 16, "depth": 1},
             "optimizer": {"lr_g": 1e-3, "lr_d": 1e-3},
             "training": {"batch_size": 32},
             "evaluation": {"every": 20, "samples": 200, "metrics": ["modes"]}},
    # one short run that finishes, one long one that is stopped
    "grid": {"training.iterations": [40, 200000]},
}


@pytest.fixture
def start(tmp_path):
    """Start the suite above in a subprocess (its own process group, as a shell's job)."""
    procs = []

    def go(*args, overrides=()):
        path = tmp_path / "stop.yaml"
        path.write_text(yaml.safe_dump(SUITE))
        res = tmp_path / "res"
        cmd = [sys.executable, "-m", "ganbench", "run", str(path), "--results", str(res),
               "--no-progress", *args, *(x for o in overrides for x in ("--set", o))]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, start_new_session=True, env=env))
        runs = {r.config["training"]["iterations"]: r for r in load_suite(path, overrides).runs}
        return procs[-1], res, runs

    yield go
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()


def wait_for(proc, *files, timeout=120):
    t0 = time.monotonic()
    while not all(f.is_file() for f in files):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, "the suite did not start training"
        time.sleep(0.05)


@pytest.mark.parametrize("executor, sig", [("processes", signal.SIGINT),
                                           ("local", signal.SIGTERM)])
def test_a_signal_stops_the_suite_keeps_finished_runs_and_checkpoints(start, executor, sig):
    proc, res, runs = start("--executor", executor, "--jobs", "2", "--vectorize", "off")
    short, long = RunDir(res, "stop", runs[40].run_id), RunDir(res, "stop", runs[200000].run_id)
    # the long run has evaluated twice (it trains), and the short one finished
    wait_for(proc, short.summary_path, long.path / "metrics.jsonl")
    while len(long.read_metrics()) < 2:
        time.sleep(0.05)
    t0 = time.monotonic()
    os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C, to the parent and its workers
    out, err = proc.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 128 + sig, err
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert f"interrupted by {signal.Signals(sig).name}: 1 of 2 runs finished and kept" in err
    assert "resume with: ganbench run" in err and "Traceback" not in err
    assert short.read_summary()["status"] == "done" and not long.summary_path.exists()
    # the stopped run was checkpointed where it stopped, and resumes from there
    assert long.checkpoint_path.is_file()
    session = setup([runs[200000]], res, torch.device("cpu"))
    assert session.start >= 40


def test_a_second_signal_exits_at_once(monkeypatch):
    killed, exits = [], []
    monkeypatch.setattr(inprocess, "STOP", inprocess.StopState())
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    monkeypatch.setattr(os, "_exit", exits.append)
    inprocess.STOP.children = [4242]
    inprocess.on_stop_signal(signal.SIGINT, None, second_exits=False)  # a worker's
    inprocess.on_stop_signal(signal.SIGINT, None, second_exits=False)
    assert inprocess.STOP.signum == signal.SIGINT and not exits  # its parent kills it
    inprocess.on_stop_signal(signal.SIGINT, None, second_exits=True)  # the parent's
    assert exits == [130] and killed == [(4242, signal.SIGKILL)]


def test_interrupted_run_suite_raises_with_counts(tmp_path, tiny_suite_dict, monkeypatch):
    # a stop asked for before training: nothing trains, the counts say so
    s = parse_suite(tiny_suite_dict)

    def stop_at_once(*a, **k):
        inprocess.STOP.signum = signal.SIGTERM
        raise Stopped(clean=False)

    monkeypatch.setattr(inprocess, "setup", stop_at_once)
    with pytest.raises(Interrupted) as exc:
        run_suite(s, tmp_path, device="cpu", progress="off")
    assert exc.value.exit_code == 143
    assert exc.value.outcome["unfinished"] == 4 and exc.value.outcome["checkpointed"] == 0
    assert "none has a checkpoint" in exc.value.explain("ganbench run x")
