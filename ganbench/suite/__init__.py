"""Suite files: schema, validation, expansion into runs, run ids (the public names of the
modules below).

A suite is a YAML mapping::

    name: mode_collapse            # optional, default: the file's stem
    base:                          # every run starts from this config
      dataset: ring                # a plug-in: "name" or {name: ..., param: value, ...}
      objective: nonsaturating
      scheme: {name: alternating, d_steps: 1}
      model: {name: mlp, width: 128}
      optimizer: {lr_g: 1.0e-4, lr_d: 1.0e-4}
      training: {iterations: 2000, batch_size: 256}
      evaluation: {every: 500, samples: 2500, metrics: [modes, hq_fraction]}
    grid:                          # axis -> values; runs are the product of the axes
      dataset: [ring, grid]
      objective: [minimax, nonsaturating]
      seed: [0, 1, 2]
    cases:                         # extra runs: overrides of base, crossed with the
      - {scheme: {name: unrolled, k: 5}, objective: minimax}   # grid axes they leave open
    table: {rows: [objective, scheme], columns: [dataset], metrics: [modes, hq_fraction]}

Axes may be dotted paths into the run config (``optimizer.lr_d``). Every error names the
file, the key path and what was expected; nothing runs until the whole suite is valid.
"""

from ganbench.suite.errors import SourcedSuiteError, SuiteError
from ganbench.suite.expand import expand
from ganbench.suite.load import import_plugins, load_suite, parse_suite
from ganbench.suite.overrides import apply_overrides
from ganbench.suite.params import check_param, number_problem, resolve_plugin
from ganbench.suite.resolve import resolve_metrics, resolve_run
from ganbench.suite.run import PluginRef, RunSpec, Suite, canonical, label, run_id
from ganbench.suite.schema import (
    DEFAULT_BASE,
    PLUGIN_KEYS,
    RUN_KEYS,
    EvaluationCfg,
    OptimizerCfg,
    SuiteFile,
    TableCfg,
    TrainingCfg,
    pydantic_problems,
)

__all__ = ["DEFAULT_BASE", "PLUGIN_KEYS", "RUN_KEYS", "EvaluationCfg", "OptimizerCfg",
           "PluginRef", "RunSpec", "SourcedSuiteError", "Suite", "SuiteError", "SuiteFile",
           "TableCfg", "TrainingCfg", "apply_overrides", "canonical", "check_param", "expand",
           "import_plugins", "label", "load_suite", "number_problem", "parse_suite",
           "pydantic_problems", "resolve_metrics", "resolve_plugin", "resolve_run", "run_id"]
