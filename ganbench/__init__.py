"""ganbench: a benchmark suite for GAN objectives, training schemes and metrics.

For notebooks (loaded on first use, so that ``import ganbench`` stays light):

* ``ganbench.load_results(path)``: finished runs' final metrics, one row per run and metric
  entry (``ganbench.results.tidy_results``);
* ``ganbench.load_history(path)``: every evaluation of every run, one row per step and entry;
* ``ganbench.evaluate(real, fake, dataset=None, metrics=None)``: score two sample sets.
"""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ganbench")
except metadata.PackageNotFoundError:  # run from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__", "evaluate", "load_history", "load_results"]


def __getattr__(name: str):
    if name == "load_results":
        from ganbench.results import tidy_results

        return tidy_results
    if name == "load_history":
        from ganbench.results import load_history

        return load_history
    if name == "evaluate":
        # the module ganbench.evaluate, callable as ganbench.evaluate(real, fake, ...)
        import importlib

        return importlib.import_module("ganbench.evaluate")
    raise AttributeError(f"module 'ganbench' has no attribute {name!r}")
