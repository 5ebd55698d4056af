"""The ray executor on a real Ray cluster of this machine (127.0.0.1): the same results as
the local executor, a worker killed mid-task, and Ctrl-C through the command line."""

import copy
import ctypes
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray
import yaml
from ray._raylet import Config as ray_config

from ganbench.execute import run as execute_run
from ganbench.execute import run_suite
from ganbench.execute.progress import Progress
from ganbench.execute.ray import (
    BOARD_PREFIX,
    Board,
    Cluster,
    ClusterError,
    gpu_share,
    run_ray,
    train_task,
)
from ganbench.results import RunDir
from ganbench.suite import parse_suite

# one cluster for the module: keep its tests on one pytest-xdist worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Head:
    """`ray start --head --block` on 127.0.0.1 with two CPUs, in its own session: ready
    once it says so; stopped with every process of its group."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="gbray", dir="/tmp")  # Ray's socket paths: short
        port = _free_port()
        self.address = f"127.0.0.1:{port}"
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
             f"--port={port}", "--num-cpus=2", "--num-gpus=0", "--node-ip-address=127.0.0.1",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={self.tmp}",
             f"--object-store-memory={100 * 2**20}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):  # drains its output, so that it never blocks on a full pipe
        for line in self.proc.stdout:
            self.lines.append(line)
            if "Ray runtime started" in line:
                self.ready.set()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def stop(self):
        self.proc.terminate()  # `ray start --block` stops the processes it started
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of its group
        except ProcessLookupError:
            pass
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def address():
    """A Ray head (as on a cluster's head node) joined by this process; stopped at the end.
    On a busy machine a head can fail to start (its raylet gives up waiting for its
    agent): a second one is tried then."""
    # Ray's token authentication, as on a real cluster: the head, this process and the
    # command-line runs below share a token of this module's own (none is read from ~/.ray)
    env = pytest.MonkeyPatch()
    env.setenv("RAY_AUTH_MODE", "token")
    env.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    ray_config.initialize("")  # this process read RAY_AUTH_MODE when it imported ray: again
    heads = [Head()]
    try:
        if not heads[-1].wait(60):
            heads[-1].stop()
            heads.append(Head())
            assert heads[-1].wait(60), "".join(heads[0].lines + heads[-1].lines)[-3000:]
        ray.init(address=heads[-1].address, logging_level="WARNING")
        yield heads[-1].address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        heads[-1].stop()
        env.undo()
        ray_config.initialize("")


class SummaryWrites:
    """Counts every summary.json put in place in some run folders, as the kernel reports
    it (inotify: events queue until read, so none is missed): an atomic write ends with a
    rename to the name (IN_MOVED_TO), a plain one creates it (IN_CREATE)."""

    EVENTS = 0x80 | 0x100  # IN_MOVED_TO | IN_CREATE

    def __init__(self, folders: list[Path]):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        self.names: dict[int, str] = {}
        for folder in folders:
            folder.mkdir(parents=True)  # an empty run folder: a run not started
            wd = self.libc.inotify_add_watch(self.fd, str(folder).encode(), self.EVENTS)
            assert wd >= 0, os.strerror(ctypes.get_errno())
            self.names[wd] = folder.name

    def count(self) -> dict[str, int]:
        counts = dict.fromkeys(self.names.values(), 0)
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            i = 0
            while i < len(data):
                wd, _, _, size = struct.unpack_from("iIII", data, i)
                name = data[i + 16:i + 16 + size].rstrip(b"\0")
                if name == b"summary.json":
                    counts[self.names[wd]] += 1
                i += 16 + size
        os.close(self.fd)
        return counts


def suite_dict(tiny, **training):
    d = copy.deepcopy(tiny)
    d["name"] = "ray"
    d["device"] = "cpu"
    d["base"]["training"].update(training)
    return d


def runs_of(root: Path, suite) -> dict[str, RunDir]:
    return {r.run_id: RunDir(root, r.suite, r.run_id) for r in suite.runs}


def board_of_running_suite(suite: str):
    """The board of the suite this process runs (a named actor), once it exists."""
    names = [n for n in ray.util.list_named_actors()
             if n.startswith(f"{BOARD_PREFIX}{suite}:")]
    return ray.get_actor(names[0]) if names else None


def test_same_results_as_the_local_executor(address, tmp_path, tiny_suite_dict):
    d = suite_dict(tiny_suite_dict, iterations=250)
    d["base"]["evaluation"]["every"] = 125
    d["grid"]["training.batch_size"] = [16, 32]  # two groups of four: two tasks at once
    suite = parse_suite(d)
    local = run_suite(suite, tmp_path / "local", executor="local", progress="off")
    out = run_suite(suite, tmp_path / "ray", executor="ray", progress="off")
    assert out["done"] == local["done"] == 8 and out["groups"] == 2
    here, there = runs_of(tmp_path / "local", suite), runs_of(tmp_path / "ray", suite)
    for run_id, a in here.items():
        b = there[run_id]
        sa, sb = a.read_summary(), b.read_summary()
        for key in ("status", "metrics", "last_metrics", "iterations", "group"):
            assert sa[key] == sb[key], (run_id, key)
        # every evaluation alike, but for its wall time
        assert [{k: v for k, v in r.items() if k != "wall_s"} for r in a.read_metrics()] == \
            [{k: v for k, v in r.items() if k != "wall_s"} for r in b.read_metrics()]
        with np.load(a.path / "samples.npz") as x, np.load(b.path / "samples.npz") as y:
            assert set(x) == set(y) and all(np.array_equal(x[k], y[k]) for k in x)
    # finished runs are skipped on the next run, as with the local executors
    again = run_suite(suite, tmp_path / "ray", executor="ray", progress="off")
    assert again["skipped"] == 8 and again["groups"] == 0


def test_a_worker_killed_mid_task_is_retried_and_resumes_with_nothing_lost_or_written_twice(
        address, tmp_path, tiny_suite_dict, monkeypatch):
    # long enough (~3 s here) for the kill to land mid-task on a faster machine too
    d = suite_dict(tiny_suite_dict, iterations=2000)
    d["name"] = "ray_kill"
    d["base"]["evaluation"]["every"] = 100
    d["grid"] = {"seed": [0, 1]}  # one group of two
    suite = parse_suite(d)
    dirs = runs_of(tmp_path, suite)
    writes = SummaryWrites([rd.path for rd in dirs.values()])
    killed: list[tuple[int, int]] = []  # (pid, step at the kill)
    done = threading.Event()
    shown = []  # what the progress display was told

    class Recording(Progress):
        def start_group(self, key, *args):
            shown.append(("start", key))
            super().start_group(key, *args)

        def steps(self, key, done):
            shown.append(("steps", done))
            super().steps(key, done)

        def drop_group(self, key):
            shown.append(("drop", key))
            super().drop_group(key)

    monkeypatch.setattr(execute_run, "Progress", Recording)

    def killer():
        while not done.is_set():
            board = None if killed else board_of_running_suite("ray_kill")
            if board is not None:
                snap = ray.get(board.snapshot.remote())
                if snap and all(rd.checkpoint_path.is_file() for rd in dirs.values()):
                    pid, _, step = snap[0]
                    if 0 < step:  # training, and checkpointed: kill its worker
                        assert not any(rd.summary_path.exists() for rd in dirs.values())
                        os.kill(pid, signal.SIGKILL)
                        killed.append((pid, step))
            time.sleep(0.02)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    try:
        out = run_suite(suite, tmp_path, executor="ray", progress="off", checkpoint_every_s=0)
    finally:
        done.set()
        watcher.join()
    assert killed, "the worker was not killed (the group finished first?)"
    assert out["done"] == 2 and out["failed"] == 0
    for rd in dirs.values():
        s = rd.read_summary()
        assert s["status"] == "done" and s["metrics"]
        # the retry resumed from the checkpoint, not from step 0 ...
        assert 0 < s["resumed_from"] < 2000
        assert s["resumed_from"] >= killed[0][1] // 100 * 100  # its last evaluation or later
        # ... and lost no evaluation nor made one twice
        assert [r["step"] for r in rd.read_metrics()] == list(range(100, 2001, 100))
        assert not rd.checkpoint_path.exists()
    assert writes.count() == {run_id: 1 for run_id in dirs}  # each summary written once
    # progress: step counts from inside the task, and its retry shown as a new start
    assert any(e == "steps" and 0 < n < 2000 for e, n in shown), shown
    starts = [i for i, e in enumerate(shown) if e == ("start", 0)]
    assert len(starts) == 2 and ("drop", 0) in shown[starts[0]:starts[1]], shown


def test_a_retried_task_trains_only_its_unfinished_runs(address, tmp_path, tiny_suite_dict):
    suite = parse_suite(suite_dict(tiny_suite_dict))
    group = [r for r in suite.runs if r.labels["objective"] == "minimax"]
    first, second = (RunDir(tmp_path, r.suite, r.run_id) for r in group)
    run_suite(parse_suite({**suite_dict(tiny_suite_dict),
                           "grid": {"objective": ["minimax"], "seed": [group[0].seed]}}),
              tmp_path, executor="local", progress="off")
    assert first.is_finished() and not second.is_finished()
    before = first.summary_path.stat()
    board = ray.remote(Board).remote()
    state, summaries = train_task(0, group, str(tmp_path), "cpu", 1, board)
    assert state == "finished" and summaries[0] == first.read_summary()
    assert summaries[1] == second.read_summary() and summaries[1]["status"] == "done"
    after = first.summary_path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    # tasks refuse a results folder they cannot see (no suite record: not shared)
    with pytest.raises(ClusterError, match="every node of the cluster sees at the same path"):
        train_task(0, group, str(tmp_path / "elsewhere"), "cpu", 1, board)
    ray.kill(board)


def test_ctrl_c_through_the_command_line_stops_with_checkpoints_and_the_resume_hint(
        address, tmp_path, tiny_suite_dict):
    d = suite_dict(tiny_suite_dict, iterations=200000, checkpoint_every_s=0)
    d["base"]["evaluation"] = {"every": 50, "samples": 100, "metrics": ["modes"]}
    d["grid"] = {"seed": [0, 1]}
    path = tmp_path / "ray.yaml"
    path.write_text(yaml.safe_dump(d))
    res = tmp_path / "res"
    suite = parse_suite(d)
    dirs = runs_of(res, suite)
    cmd = [sys.executable, "-m", "ganbench", "run", str(path), "--results", str(res),
           "--executor", "ray", "--address", address, "--no-progress"]
    # its own session, as a terminal's job: the signal reaches it, not the cluster
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        t0 = time.monotonic()
        while not all(len(rd.read_metrics()) >= 3 for rd in dirs.values()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - t0 < 60, "the suite did not start training"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT: 0 of 2 runs finished and kept; 2 unfinished (all resume " \
           "from a checkpoint)" in err
    assert f"resume with: ganbench run {path} --results {res} --executor ray --address " \
           f"{address}" in err and "Traceback" not in err
    assert not any(rd.summary_path.exists() for rd in dirs.values())
    assert all(rd.checkpoint_path.is_file() for rd in dirs.values())
    # no task trains on after the driver stopped: the checkpoints stay as they were left
    marks = {rd.checkpoint_path.stat().st_mtime_ns for rd in dirs.values()}
    time.sleep(0.5)
    assert marks == {rd.checkpoint_path.stat().st_mtime_ns for rd in dirs.values()}


def test_bad_setups_are_refused_before_anything_is_written(address, tmp_path, tiny_suite_dict):
    suite = parse_suite(suite_dict(tiny_suite_dict))
    with pytest.raises(ClusterError, match="the Ray cluster has no GPUs"):
        run_suite(suite, tmp_path, executor="ray", device="cuda", progress="off")
    with pytest.raises(ValueError, match=r"\(--address\) is for the ray executor"):
        run_suite(suite, tmp_path, executor="local", address=address, progress="off")
    assert not any(tmp_path.iterdir())
    # a results folder the workers cannot see (here: no suite record) stops the suite
    seen = []
    bar = Progress("ray", 4, 0, {0: (4, 20)}, mode="off")
    with pytest.raises(ClusterError, match="every node of the cluster sees at the same path"):
        run_ray([suite.runs], tmp_path, Cluster(ray, "cpu", owned=False), bar,
                lambda gi, s: seen.append(gi))
    assert not seen and not any(tmp_path.iterdir())


def test_gpu_share_grows_with_the_work_per_step_up_to_one_gpu(tiny_suite_dict):
    runs = parse_suite(suite_dict(tiny_suite_dict)).runs
    small = gpu_share(runs[:1])
    assert small == 1 / 8
    big = [copy.copy(runs[0]) for _ in range(4096)]
    assert gpu_share(big) == 1.0


def test_ganbench_runs_without_ray_and_says_how_to_get_it(tmp_path, tiny_suite_dict):
    path = tmp_path / "ray.yaml"
    path.write_text(yaml.safe_dump(suite_dict(tiny_suite_dict)))
    res = tmp_path / "res"
    code = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
            "from ganbench.cli import main\n"
            f"assert main(['run', {str(path)!r}, '--dry-run']) == 0\n"
            f"sys.exit(main(['run', {str(path)!r}, '--results', {str(res)!r}, "
            "'--executor', 'ray']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'the ray executor needs Ray, an optional extra: pip install "ganbench[ray]"' \
        in proc.stderr
    assert not res.exists()
