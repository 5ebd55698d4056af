"""The build step pyproject.toml cannot say: copy the shipped suites (suites/) and
baselines (results/baselines/), which stay at the top of the repository, into the package
(ganbench/_shipped/) so that a wheel carries them. A source checkout reads the top-level
folders directly (ganbench.suite.shipped), so editable installs need no copy."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"suites": ("suites", "*.yaml"), "baselines": ("results/baselines", "*.json")}


class BuildWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own folders are read in place
        for name, (src, pattern) in SHIPPED.items():
            for f in sorted((ROOT / src).rglob(pattern)):
                dst = Path(self.build_lib) / "ganbench" / "_shipped" / name / f.relative_to(
                    ROOT / src)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dst)


setup(cmdclass={"build_py": BuildWithShipped})
