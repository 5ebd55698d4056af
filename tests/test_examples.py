"""examples/minimal_gan.py runs top to bottom and learns: after a short training it covers
several of the ring's modes (an untrained generator's samples sit near the origin, far
from every mode)."""

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "minimal_gan.py"


def test_minimal_gan_trains_and_covers_modes():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(EXAMPLE), "300"], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "step   300" in out.stdout
    modes = float(re.search(r"^modes (\S+)$", out.stdout, re.M).group(1))
    assert 2 <= modes <= 8, out.stdout
