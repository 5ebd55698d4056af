"""One writer per suite results folder: a second `ganbench run` refuses (exit 2, naming the
holder) or waits with --wait and then trains nothing twice; the lock dies with its holder,
SIGKILL included. Holders are real processes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from ganbench.cli import main
from ganbench.util.lock import LockedError, suite_lock

HOLD = """
import sys, time
from ganbench.util.lock import suite_lock
with suite_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(folder, seconds):
    """A separate process holding the folder's lock for ``seconds`` (returns once held)."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_second_run_refuses_naming_the_holder(tmp_path, tiny_suite_dict, capsys):
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(tiny_suite_dict))
    holder = hold(tmp_path / "r" / "tiny", 30)
    try:
        assert main(["run", str(f), "--results", str(tmp_path / "r"), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"pid {holder.pid}" in err and "in use by another ganbench run" in err
        assert "--wait" in err
        # nothing of the suite written: no record, no run folder
        assert sorted(p.name for p in (tmp_path / "r" / "tiny").iterdir()) == [".lock"]
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    holder = hold(tmp_path, 60)
    with pytest.raises(LockedError):
        with suite_lock(tmp_path):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with suite_lock(tmp_path) as path:  # free at once: the kernel dropped it
        assert f"pid {os.getpid()}" in path.read_text()


def test_wait_starts_when_the_other_run_ends_and_trains_nothing_twice(tmp_path, tiny_suite_dict,
                                                                       capsys):
    """A real `ganbench run` in another process, and a second one with --wait here."""
    raw = {**tiny_suite_dict}
    raw["base"] = {**raw["base"], "training": {"iterations": 400, "batch_size": 32},
                   "evaluation": {**raw["base"]["evaluation"], "every": 200}}
    f = tmp_path / "tiny.yaml"
    f.write_text(yaml.safe_dump(raw))
    root = tmp_path / "r"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "ganbench", "run", str(f), "--results",
                              str(root), "--no-progress", "--executor", "local"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = root / "tiny" / ".lock"
    deadline = time.monotonic() + 60
    while not (lock.is_file() and f"pid {first.pid}" in lock.read_text()):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert main(["run", str(f), "--results", str(root), "--no-progress", "--wait"]) == 0
    out, err = capsys.readouterr()
    assert first.wait(60) == 0
    assert f"waiting for the other ganbench run on {root / 'tiny'} (pid {first.pid}" in err
    # the first run trained all 4 runs; the second found them finished
    first_out = first.stdout.read()
    assert "4 done" in first_out and "0 already finished" in first_out
    assert "4 already finished, 0 done" in out
    sums = [json.loads(p.read_text()) for p in root.glob("tiny/*/summary.json")]
    assert len(sums) == 4 and all(s["status"] == "done" for s in sums)
