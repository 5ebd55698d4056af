"""The command line as a process: --version, python -m ganbench, a closed pipe."""

import subprocess
import sys
from pathlib import Path

import pytest

import ganbench
from ganbench.cli import main

SMOKE = Path(__file__).parents[1] / "suites" / "smoke.yaml"


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ganbench {ganbench.__version__}"
    r = subprocess.run([sys.executable, "-m", "ganbench", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"ganbench {ganbench.__version__}"


@pytest.mark.parametrize("args", [["run", str(SMOKE), "--dry-run"], ["list", "schemes", "--json"]])
def test_a_closed_pipe_ends_quietly(args):
    # the reader is gone before ganbench writes (as `| head` that has read its lines)
    p = subprocess.Popen([sys.executable, "-m", "ganbench", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141, err
    assert err == ""
