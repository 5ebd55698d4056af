"""The shipped smoke suite at a test's budget: the same file with 60 iterations evaluated
at 30 and 60, written as ``smoke.yaml`` so that its suite is still named ``smoke``. Tests
check the pipeline on it, not what a first run learns (the README's first run does)."""

from pathlib import Path

import yaml

SHIPPED = Path(__file__).parents[1] / "suites" / "smoke.yaml"


def quick_smoke(folder: Path) -> Path:
    suite = yaml.safe_load(SHIPPED.read_text())
    suite["base"]["training"]["iterations"] = 60
    suite["base"]["evaluation"]["every"] = 30
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "smoke.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path
