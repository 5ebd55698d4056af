"""ganbench: a benchmark suite for GAN objectives, training schemes and metrics.

For notebooks (loaded on first use, so that ``import ganbench`` stays light):

* ``ganbench.load_results(path)``: finished runs' final metrics, one row per run and metric
  entry (``ganbench.results.tidy_results``);
* ``ganbench.load_history(path)``: every evaluation of every run, one row per step and entry;
* ``ganbench.evaluate(real, fake, dataset=None, metrics=None)``: score two sample sets;
* ``ganbench.compare(path, "objective=mine", "objective=nonsaturating")``: is one row
  better than another, per column and metric, and how sure (a tidy DataFrame).
"""

from __future__ import annotations

from ganbench.util.version import version as _version

__version__ = _version()

__all__ = ["__version__", "compare", "evaluate", "load_history", "load_results"]


def load_results(results_dir):
    """Finished runs' final metrics, tidy: one row per run and metric entry
    (``ganbench.results.tidy_results``)."""
    from ganbench.results import tidy_results

    return tidy_results(results_dir)


def load_history(results_dir):
    """Every evaluation of every run, tidy: one row per run, step and entry
    (``ganbench.results.load_history``)."""
    from ganbench.results import load_history as history

    return history(results_dir)


def evaluate(real, fake, dataset=None, metrics=None, seed: int = 0, device: str = "cpu",
             cache_dir=None, progress: bool = True) -> dict[str, float]:
    """Score the sample set ``fake`` against ``real``: ``{entry: value}``.

    Parameters
    ----------
    real, fake : array, tensor or path
        ``(n, ...)`` samples: NumPy arrays, torch tensors, or files (``.npy``, ``.npz``,
        a folder of images).
    dataset : str, dict, dataset object or None
        The data set the samples come from, by name (``"ring"``), as a reference
        (``{"name": "grid", "std": 0.1}``) or as an object; metrics that need modes or
        classifiers need it.
    metrics : str, list of str or None
        Registered metric names (``ganbench list metrics``). None: the default metrics
        that apply to ``dataset``. Only the entries of these metrics are returned, with
        their helpers (``jsd_classifier_ci_low``, ``jsd_classifier_n``, ...). A named
        metric that cannot run is an error; a default one is skipped with a note.
    seed : int
        Seeds what the metrics draw (classifier initialisation, bootstrap).
    device : str
        ``"cpu"`` or ``"cuda"``.
    cache_dir : path or None
        Where trained classifiers are cached (default: ganbench's cache).
    progress : bool
        Show a bar on stderr once a metric has run for a couple of seconds.

    Example
    -------
    >>> ganbench.evaluate(real, fake, dataset="ring", metrics=["modes", "hq_fraction"])
    {'modes': 8.0, 'hq_fraction': 0.97}
    """
    from ganbench.metrics.evaluate import evaluate as score
    from ganbench.metrics.samples import as_samples
    from ganbench.suite import PluginRef

    if isinstance(dataset, (str, dict)):  # a reference, built as a suite builds it
        dataset = PluginRef.parse(dataset).create("datasets")
    names = [metrics] if isinstance(metrics, str) else metrics
    return score(as_samples(real, "real"), as_samples(fake, "fake"), dataset, names, seed=seed,
                 device=device, cache_dir=cache_dir, progress=progress)


def compare(results_dir, a, b, metrics=None, columns=None, alpha: float = 0.05,
            correction: str = "holm", pool=()):
    """Selection ``a`` against ``b`` (``"key=value,..."`` or a dict of row labels) in a
    suite's results, per column and metric: the difference of the means over seeds with
    its Welch interval, the p-value corrected over the comparisons, Hedges' g and the
    finding (``ganbench.report.compare``). Each side must pick one configuration, except
    in the ``pool`` keys it may mix on purpose."""
    from ganbench.report.compare import compare_results

    return compare_results(results_dir, a, b, metrics=metrics, columns=columns, alpha=alpha,
                           correction=correction, pool=pool)
