"""Suite files: schema, validation, expansion into runs, run ids.

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

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ganbench.registry import (
    PluginImportError,
    RegistryError,
    add_plugins_to_env,
    import_plugin,
    registry,
    unknown_message,
)
from ganbench.suite import reference as published
from ganbench.util import strict_yaml

PLUGIN_KEYS = {  # run-config key -> registry kind
    "dataset": "datasets",
    "objective": "objectives",
    "regularizer": "regularizers",
    "scheme": "schemes",
    "model": "models",
}
RUN_KEYS = [*PLUGIN_KEYS, "optimizer", "training", "evaluation", "seed"]

# Upper bounds: generous for any GAN experiment, low enough that a typo (an extra zero, a
# unit slip) is caught when the suite is read rather than by hours of training, an
# out-of-memory crash, or a grid too large to list.
MAX_ITERATIONS = 10**7  # 20x stacked MNIST's 500k
MAX_BATCH = 65536
MAX_SAMPLES = 10**6  # evaluation samples: 20x FID's customary 50k
MAX_LR = 10.0
MAX_SEED = 2**32 - 1  # numpy's seed range
MAX_RUNS = 10_000  # runs one suite expands into
# plug-in parameters: named sizes, and a ceiling for any other number (1e300 is a typo)
MAX_PARAM = {"latent_dim": 65536, "width": 65536, "critic_width": 65536, "depth": 1000}
MAX_NUMBER = 1e9
show = strict_yaml.show  # how a value is echoed in a message: cut to ~80 characters


class SuiteError(Exception):
    """Invalid suite: a list of (key path, message), reported against one file."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        # bounded, whatever the file held: a key path or message is cut short
        self.problems = [(_cut(p, 200), _cut(m, 2000)) for p, m in problems]
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.source}: {p}: {m}" if p else f"{self.source}: {m}"
                 for p, m in self.problems]
        return _listing(lines)


MAX_LISTED = 40  # problems printed; a grid can repeat one mistake in every run


def _listing(lines: list[str]) -> str:
    more = len(lines) - MAX_LISTED
    lines = lines[:MAX_LISTED] + ([f"... and {more} more"] if more > 0 else [])
    return "invalid suite\n" + "\n".join("  " + line for line in lines)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


# --- fixed sections ------------------------------------------------------------------


class _Strict(BaseModel):
    # strict: "100" or true is not a number; a number must be finite
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class OptimizerCfg(_Strict):
    name: Literal["adam", "sgd", "rmsprop"] = "adam"  # rmsprop: beta2 is its decay (alpha)
    lr_g: float = Field(1e-4, gt=0, le=MAX_LR)
    lr_d: float = Field(1e-4, gt=0, le=MAX_LR)
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    momentum: float = Field(0.0, ge=0, lt=1)


class TrainingCfg(_Strict):
    iterations: int = Field(2000, ge=1, le=MAX_ITERATIONS)
    batch_size: int = Field(256, ge=2, le=MAX_BATCH)
    ema: float = Field(0.0, ge=0, lt=1, description="EMA decay of generator weights; 0 = off")
    # how often (seconds) to checkpoint at evaluations; None: the trainer's default. Not
    # part of run ids (NOT_IN_RUN_ID): it changes no result
    checkpoint_every_s: float | None = Field(None, ge=0, le=86400)


class EvaluationCfg(_Strict):
    every: int = Field(500, ge=1, le=MAX_ITERATIONS)
    samples: int = Field(2500, ge=10, le=MAX_SAMPLES)
    metrics: list[str | dict[str, Any]] | None = None


class TableCfg(_Strict):
    rows: list[str] = ["objective", "scheme"]
    columns: list[str] = ["dataset"]
    metrics: list[str] | None = None
    title: str | None = None


class SuiteFile(_Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    base: dict[str, Any] = {}
    grid: dict[str, list[Any]] = {}
    cases: list[dict[str, Any]] = []
    table: TableCfg = TableCfg()
    check: dict[str, dict[str, float]] = {}  # metric -> {abs: .., rel: ..} band overrides
    # published values of the table(s) the suite reproduces (ganbench.suite.reference)
    reference: published.Reference | None = None
    references: list[published.Reference] = []
    # importable modules that register plug-ins, imported before the runs are validated
    plugins: list[str] = []


SECTION_MODELS = {"optimizer": OptimizerCfg, "training": TrainingCfg, "evaluation": EvaluationCfg}

DEFAULT_BASE: dict[str, Any] = {
    "dataset": "ring",
    "objective": "nonsaturating",
    "regularizer": None,
    "scheme": "alternating",
    "model": "mlp",
    "optimizer": {},
    "training": {},
    "evaluation": {},
    "seed": 0,
}


# --- runs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginRef:
    """A plug-in reference, parsed once: the registered name and its parameters.

    Suite files spell it "name", {name: ..., param: value, ...} or {name: ..., params:
    {...}}; a resolved run config stores it as {name: ..., params: {...}} (the form run ids
    hash), from which ``RunSpec.plugin`` gives it back typed."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):  # its own copy: changing it never changes a run config
        object.__setattr__(self, "params", copy.deepcopy(dict(self.params)))

    def __hash__(self) -> int:
        return hash((self.name, canonical(self.params)))

    @classmethod
    def parse(cls, value: Any) -> PluginRef | None:
        """The reference ``value`` spells (any of the three forms), None if it spells none."""
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            rest = {k: v for k, v in value.items() if k != "name"}
            if set(rest) == {"params"} and isinstance(rest["params"], dict):
                rest = rest["params"]
            return cls(value["name"], rest)
        return None

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "params": copy.deepcopy(self.params)}

    def create(self, kind: str) -> Any:
        """An instance from the registry of ``kind`` (e.g. "objectives")."""
        return registry(kind).create(self.name, **self.params)

    def label(self, keys: set[str] | None = None) -> str:
        """'unrolled(k=5)'; only the parameters in ``keys`` when given."""
        shown = {k: v for k, v in self.params.items() if keys is None or k in keys}
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in shown.items())})"


@dataclass(frozen=True)
class RunSpec:
    """One fully resolved point of the grid. ``config`` is the plain dict its id hashes;
    ``plugin`` and ``metrics`` read its plug-in references typed."""

    suite: str
    config: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    #: the suite's plug-in modules (not part of the id: they name code, not settings)
    plugins: tuple[str, ...] = ()

    def plugin(self, key: str) -> PluginRef | None:
        """The plug-in a run key names (dataset, objective, regularizer, scheme, model);
        None for no regularizer."""
        if key not in PLUGIN_KEYS:
            raise KeyError(unknown_message("plug-in key", key, list(PLUGIN_KEYS)))
        value = self.config.get(key)
        return None if value is None else PluginRef.parse(value)

    def create(self, key: str) -> Any:
        """A fresh instance of the plug-in a run key names (None for no regularizer)."""
        ref = self.plugin(key)
        return None if ref is None else ref.create(PLUGIN_KEYS[key])

    def metrics(self) -> list[PluginRef]:
        """The metrics evaluated, in order."""
        return [PluginRef.parse(m) for m in self.config["evaluation"]["metrics"]]

    @property
    def run_id(self) -> str:
        return run_id(self.config)

    @property
    def seed(self) -> int:
        return int(self.config["seed"])

    def group_key(self, drop: tuple[str, ...] = ("seed",)) -> str:
        """Hash of the config without the given (dotted) keys: runs that differ only there."""
        cfg = copy.deepcopy(self.config)
        for key in drop:
            _pop_path(cfg, key)
        return run_id(cfg)

    def to_dict(self) -> dict[str, Any]:
        out = {"suite": self.suite, "run_id": self.run_id, "labels": self.labels,
               "config": self.config}
        if self.plugins:  # what re-running it alone must import
            out["plugins"] = list(self.plugins)
        return out


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


# config keys that change how a run is carried out, never its results: left out of run ids
NOT_IN_RUN_ID = (("training", "checkpoint_every_s"),)


def run_id(config: dict[str, Any]) -> str:
    if any(isinstance(config.get(sec), dict) and key in config[sec] for sec, key in NOT_IN_RUN_ID):
        config = {**config}
        for sec, key in NOT_IN_RUN_ID:
            if isinstance(config.get(sec), dict):
                config[sec] = {k: v for k, v in config[sec].items() if k != key}
    return hashlib.sha256(canonical(config).encode()).hexdigest()[:12]


@dataclass
class Suite:
    name: str
    source: str
    spec: SuiteFile
    runs: list[RunSpec]
    overrides: tuple[str, ...] = ()  # the --set options applied to the file

    @property
    def table(self) -> TableCfg:
        return self.spec.table


# --- plug-in references ----------------------------------------------------------------


def split_ref(value: Any, path: str, problems: list) -> PluginRef | None:
    """PluginRef.parse, reporting a value that spells no reference."""
    ref = PluginRef.parse(value)
    if ref is None:
        problems.append((path, f"expected a name or a mapping with 'name', got {show(value)}"))
    return ref


def number_problem(name: str, value: Any) -> str | None:
    """What is wrong with the numbers in a plug-in parameter's value (lists and mappings
    included): each must be finite and within MAX_PARAM[name], else MAX_NUMBER."""
    limit = MAX_PARAM.get(name, MAX_NUMBER)
    if isinstance(value, (list, tuple)):
        return next((p for v in value[:10_000] if (p := number_problem(name, v))), None)
    if isinstance(value, dict):
        return next((p for k, v in value.items() if (p := number_problem(str(k), v))), None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {show(value)}"
    if abs(value) > limit:
        return f"expected a number of magnitude at most {limit:g}, got {show(value)}"
    return None


def check_param(name: str, value: Any, default: Any, path: str, problems: list) -> Any:
    """Coerce ``value`` to the type of the parameter's default (int -> float is allowed);
    numbers must be finite and bounded (``number_problem``)."""
    bad = number_problem(name, value)
    if bad:
        problems.append((f"{path}.{name}", bad))
        return value
    if default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        want = "a boolean"
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        want = "an integer"
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        want = "a number"
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
        want = "a string"
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return list(value)
        want = "a list"
    else:
        return value
    problems.append((f"{path}.{name}", f"expected {want}, got {show(value)}"))
    return value


def resolve_plugin(kind: str, value: Any, path: str, problems: list) -> PluginRef | None:
    """The reference with every parameter checked and its defaults filled in."""
    ref = split_ref(value, path, problems)
    if ref is None:
        return None
    name, given = ref.name, ref.params
    reg = registry(kind)
    if name not in reg:  # (a name echoed in full could be a megabyte)
        shown = name if len(name) <= strict_yaml.SHOW_CHARS else name[:40] + "..."
        problems.append((path, unknown_message(kind.rstrip("s"), shown, reg.names())))
        return None
    entry = reg.entry(name)
    defaults = entry.params()
    n_before = len(problems)
    params = {}
    for key, default in defaults.items():
        if key in given:
            params[key] = check_param(key, given[key], default, path, problems)
        elif default is None and key in _required(entry):
            problems.append((f"{path}.{key}", f"required parameter of {kind} {name!r}"))
        else:
            params[key] = _plain(default)
    for key in given:
        if key not in defaults:
            valid = ", ".join(defaults) or "(none)"
            problems.append((f"{path}.{key}", f"unknown parameter of {name!r}; valid: {valid}"))
    if len(problems) == n_before:
        try:  # the plug-in's own checks (ranges etc.), before anything runs
            entry.create(**params)
        except (ValueError, TypeError, RegistryError) as exc:
            problems.append((path, f"{name}: {exc}"))
    return PluginRef(name, params)


def _required(entry) -> set[str]:
    import inspect

    sig = inspect.signature(entry.obj)
    return {p.name for p in sig.parameters.values()
            if p.default is inspect.Parameter.empty and p.name != "self"
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


# --- loading and expansion ---------------------------------------------------------------


def _set_path(cfg: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            # a plug-in given as a bare name becomes {name: ...} so a param can be set
            node[k] = {"name": node[k]} if isinstance(node.get(k), str) else {}
        node = node[k]
    node[keys[-1]] = value


def _pop_path(cfg: dict, dotted: str) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node.get(k) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(keys[-1], None)
        node.get("params", {}).pop(keys[-1], None) if isinstance(node.get("params"), dict) else None


def _get_path(cfg: dict, dotted: str) -> Any:
    node: Any = cfg
    for k in dotted.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def label(value: Any) -> str:
    """Short text for a grid value: 'unrolled(k=5)', 'ring', '0.0001'."""
    if value is None:
        return "none"
    ref = PluginRef.parse(value) if isinstance(value, dict) else None
    if ref is not None:
        return ref.label()
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def resolve_run(raw: dict[str, Any], path: str, problems: list) -> dict[str, Any]:
    """Validate one merged run config and fill every default."""
    out: dict[str, Any] = {}
    refs: dict[str, PluginRef | None] = {}  # typed while validating; the config stores dicts
    for key in raw:
        if key not in RUN_KEYS:
            problems.append((f"{path}.{key}" if path else key,
                             unknown_message("run key", key, RUN_KEYS)))
    for key, kind in PLUGIN_KEYS.items():
        value = raw.get(key)
        at = f"{path}.{key}" if path else key
        refs[key] = None
        if key == "regularizer" and value == "none":
            continue  # explicitly none: no preset regularizer either
        if key == "objective" and value == "none":
            continue  # a model without a critic (VAE); the model's run_problems decide
        if value is None:
            if key != "regularizer":
                problems.append((at, f"a {key} is required"))
            continue
        refs[key] = resolve_plugin(kind, value, at, problems)
    # objective presets name their regularizer (e.g. wgan_gp = wgan + gp)
    obj = refs["objective"]
    if obj and raw.get("regularizer") is None:  # not given (or null): the preset's
        preset = registry("objectives").entry(obj.name).meta.get("regularizer")
        if preset:
            refs["regularizer"] = resolve_plugin("regularizers", preset, f"{path}.objective", problems)
    for key, ref in refs.items():
        out[key] = None if ref is None else ref.to_config()
    _check_packing(refs, path, problems)
    for key, model in SECTION_MODELS.items():
        at = f"{path}.{key}" if path else key
        value = raw.get(key) or {}
        try:
            out[key] = model.model_validate(value).model_dump()
        except ValidationError as exc:
            problems += pydantic_problems(exc, model, at)
            out[key] = None
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        problems.append((f"{path}.seed" if path else "seed",
                         f"expected an integer >= 0 (at most {MAX_SEED}), got {show(seed)}"))
    out["seed"] = seed
    if out.get("evaluation") is not None and refs["dataset"] is not None:
        at = f"{path}.evaluation.metrics" if path else "evaluation.metrics"
        metrics = resolve_metrics(refs["dataset"], out["evaluation"]["metrics"], at, problems,
                                  out["evaluation"]["samples"])
        out["evaluation"]["metrics"] = [m.to_config() for m in metrics]
        from ganbench.metrics.registry import run_metric_problems

        model = refs.get("model")  # its packing decides which codes the run can supply
        packing = getattr(registry("models").get(model.name), "packing", None) if model else None
        problems += [(f"{at}[{i}]", msg) for i, msg in
                     run_metric_problems(out["evaluation"]["metrics"], packing)]
        _check_model_fit(refs, out["evaluation"]["metrics"], path, problems)
    tr, ev = out.get("training"), out.get("evaluation")
    if tr and ev and ev["every"] > tr["iterations"]:
        ev["every"] = tr["iterations"]
    if tr and refs.get("model") is not None:  # a PacGAN critic scores whole packs
        try:
            m = refs["model"].create("models")
        except Exception:  # already reported by resolve_plugin
            m = None
        per = getattr(m, "samples_per_score", 1) or 1
        if per > 1 and tr["batch_size"] % per:
            at = f"{path}.training.batch_size" if path else "training.batch_size"
            problems.append((at, f"expected a multiple of the model's pack size {per} "
                                 f"(the critic scores packs of {per} samples), got "
                                 f"{tr['batch_size']}"))
    return out


def _check_model_fit(refs: dict[str, PluginRef | None], metrics: list[dict[str, Any]],
                     path: str, problems: list) -> None:
    """The model's own rules (``Model.run_problems``: a VAE has no critic, so no objective)
    and metrics that read a critic on samples, which some models lack."""
    ref = refs.get("model")
    try:
        model = ref.create("models") if ref else None
    except Exception:  # already reported by resolve_plugin
        return
    if model is None:
        return
    for key, msg in model.run_problems(refs.get("objective"), refs.get("regularizer"),
                                       refs.get("scheme")):
        problems.append((f"{path}.{key}" if path else key, f"model {ref.name!r}: {msg}"))
    if model.critic_on_samples:
        return
    at = f"{path}.evaluation.metrics" if path else "evaluation.metrics"
    metric_reg = registry("metrics")
    for i, m in enumerate(metrics):
        if "critic" in getattr(metric_reg.get(m["name"]), "needs", ()):
            problems.append((f"{at}[{i}]", f"metric {m['name']!r} reads the training critic on "
                                           f"samples; model {ref.name!r} has none"))


def _check_packing(refs: dict[str, PluginRef | None], path: str, problems: list) -> None:
    """Objectives that read packed codes (InfoGAN) need a model that packs them."""
    obj, model = refs.get("objective"), refs.get("model")
    if not obj or not model:
        return
    needs = registry("objectives").entry(obj.name).meta.get("requires_packing")
    has = getattr(registry("models").get(model.name), "packing", None)
    if needs != has and (needs or has == "code"):
        at = f"{path}.model" if path else "model"
        problems.append((at, f"objective {obj.name!r} and model {model.name!r} do not fit: "
                             f"the objective needs packing {needs!r}, the model has {has!r}"))


def resolve_metrics(dataset: PluginRef, given: list[Any] | None, path: str,
                    problems: list, samples: int | None = None) -> list[PluginRef]:
    """The metrics to evaluate (the dataset's defaults when ``given`` is None), checked
    against the dataset and the number of evaluation ``samples``: a metric that cannot
    measure this run is an error now, not an empty value after training."""
    reg = registry("metrics")
    try:
        ds = dataset.create("datasets")
    except Exception:  # already reported by resolve_plugin
        return []
    if given is None:  # defaults that apply to this dataset
        given = [e.name for e in reg.entries()
                 if getattr(e.obj, "default", False) and e.create().applies(ds) is None
                 and (samples is None or samples >= getattr(e.obj, "min_samples", 0))]
    out = []
    for i, m in enumerate(given):
        n_before = len(problems)
        r = resolve_plugin("metrics", m, f"{path}[{i}]", problems)
        if r is None:
            continue
        if len(problems) > n_before:  # its parameters are wrong: it cannot be built
            out.append(r)
            continue
        metric = r.create("metrics")
        why = metric.applies(ds)
        least = getattr(metric, "min_samples", 0)
        if not why and samples is not None and samples < least:
            why = f"needs at least {least} samples per side; evaluation.samples is {samples}"
        if why:
            problems.append((f"{path}[{i}]", f"metric {r.name!r} {why}"))
        out.append(r)
    return out


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    # whole sections first, then dotted keys into them (shallowest first): a dotted key is
    # never undone by its section written after it
    for k, v in sorted(over.items(), key=lambda kv: kv[0].count(".")):
        if "." in k:
            _set_path(out, k, copy.deepcopy(v))
        else:
            out[k] = copy.deepcopy(v)
    return out


def expand(spec: SuiteFile, name: str, source: str) -> list[RunSpec]:
    problems: list[tuple[str, str]] = []
    base = _merge(DEFAULT_BASE, spec.base)
    for axis, values in spec.grid.items():
        if axis.split(".")[0] not in RUN_KEYS:
            problems.append((f"grid.{axis}", unknown_message("run key", axis.split('.')[0], RUN_KEYS)))
        if not values:
            problems.append((f"grid.{axis}", "expected a non-empty list of values"))
    problems += _conflicts(spec.grid, "grid", axes=True)
    problems += _conflicts(spec.base, "base")
    for ci, case in enumerate(spec.cases):
        problems += _conflicts(case, f"cases[{ci}]")
    if problems:
        raise SuiteError(source, problems)
    _check_run_count(spec, source)

    label_axes = list(dict.fromkeys([*spec.grid, *spec.table.rows, *spec.table.columns]))
    points: list[tuple[str, dict]] = []  # (where, overrides)
    axes = list(spec.grid)
    for combo in itertools.product(*(range(len(spec.grid[a])) for a in axes)):
        over = {a: spec.grid[a][i] for a, i in zip(axes, combo)}
        where = ", ".join(f"grid.{a}[{i}]" for a, i in zip(axes, combo))
        points.append((where, over))
    for ci, case in enumerate(spec.cases):
        open_axes = _open_axes(axes, case)
        for combo in itertools.product(*(range(len(spec.grid[a])) for a in open_axes)):
            over = {a: spec.grid[a][i] for a, i in zip(open_axes, combo)}
            over.update(case)
            points.append((f"cases[{ci}]", over))

    runs: list[RunSpec] = []
    seen: dict[str, str] = {}
    for where, over in points:
        merged = _merge(base, over)
        n_before = len(problems)
        cfg = resolve_run(merged, "", problems)
        if len(problems) > n_before:
            # report the path inside the suite file: the axis or case the value came from
            problems[n_before:] = [(_where_path(p, where, over), m) for p, m in problems[n_before:]]
            continue
        spec_ = RunSpec(name, cfg, {a: _get_path(merged, a) for a in label_axes},
                        tuple(spec.plugins))
        if spec_.run_id in seen:
            continue  # the same run reached twice (e.g. a case equal to a grid point)
        seen[spec_.run_id] = where
        runs.append(spec_)
    if problems:
        raise SuiteError(source, _dedupe(problems))
    runs = [RunSpec(r.suite, r.config, labels, r.plugins)
            for r, labels in zip(runs, _short_labels(runs))]
    if not runs:
        raise SuiteError(source, [("grid", "the suite expands into no runs")])
    _check_table(spec, label_axes, runs, source)
    _check_references(spec, runs, source)
    return runs


def _open_axes(axes: list[str], case: dict[str, Any]) -> list[str]:
    """The grid axes a case leaves open (it is crossed with them)."""
    return [a for a in axes if a not in case and a.split(".")[0] not in case]


def _check_run_count(spec: SuiteFile, source: str) -> None:
    """At most MAX_RUNS runs, counted before anything is expanded (a typo in a seed list
    must not allocate millions of configs first)."""
    sizes = {a: len(v) for a, v in spec.grid.items()}
    n_grid = math.prod(sizes.values())
    n = n_grid + sum(math.prod(sizes[a] for a in _open_axes(list(sizes), c)) for c in spec.cases)
    if n > MAX_RUNS:
        where = "grid" if n_grid > MAX_RUNS else "cases"
        raise SuiteError(source, [(where, f"the suite expands into {n} runs; at most "
                                          f"{MAX_RUNS} per suite (split it into several)")])


def _sets(value: Any, parts: list[str]) -> bool:
    """Whether ``value`` (a section or plug-in mapping) gives the field at ``parts``."""
    node = value
    for k in parts:
        if not isinstance(node, dict):
            return False
        params = node.get("params")
        if k in node:
            node = node[k]
        elif isinstance(params, dict) and k in params:
            node = params[k]
        else:
            return False
    return True


def _conflicts(mapping: dict[str, Any], where: str, axes: bool = False) -> list[tuple[str, str]]:
    """A key and a dotted key inside it that both set one field (``optimizer: {lr_g: ..}``
    and ``optimizer.lr_g``): which one wins would depend on their order. For grid axes the
    values are lists, and any of them setting the field is a conflict."""
    out = []
    for key in mapping:
        parts = key.split(".")
        for cut in range(1, len(parts)):
            parent = ".".join(parts[:cut])
            if parent not in mapping:
                continue
            values = mapping[parent] if axes and isinstance(mapping[parent], list) else [mapping[parent]]
            if any(_sets(v, parts[cut:]) for v in values):
                what = "grid axis" if axes else "key"
                out.append((f"{where}.{key}", f"sets the same field as the {what} {parent!r}, "
                                              f"which already gives {'.'.join(parts[cut:])!r}; "
                                              "give it in one place"))
    return out


def _short_labels(runs: list[RunSpec]) -> list[dict[str, str]]:
    """Label each axis value by its name plus only the parameters that tell apart runs
    sharing that name ('unrolled(k=5)' but plain 'mlp_infogan')."""
    varying: dict[tuple[str, str], set[str]] = {}
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in runs:
        for axis, raw in r.labels.items():
            ref = PluginRef.parse(raw)
            if ref is None:
                continue
            first = seen.setdefault((axis, ref.name), ref.params)
            keys = varying.setdefault((axis, ref.name), set())
            keys.update(k for k in set(first) | set(ref.params)
                        if first.get(k) != ref.params.get(k))
    out = []
    for r in runs:
        labels = {}
        for axis, raw in r.labels.items():
            ref = PluginRef.parse(raw)
            if ref is None:
                labels[axis] = label(raw)
                continue
            always = _always_labelled(axis, ref.name)
            if always:  # shown with their resolved values (defaults included)
                resolved = PluginRef.parse(r.config.get(axis)) or ref
                ref = PluginRef(ref.name, {**ref.params, **{
                    k: resolved.params[k] for k in always if k in resolved.params}})
            labels[axis] = ref.label(varying[(axis, ref.name)] | always)
        out.append(labels)
    return out


def _always_labelled(axis: str, name: str) -> set[str]:
    """Parameters a plug-in names in every label (its registry entry's ``label_params``:
    what a reader must know of a row, e.g. whether a VAE's samples are means or draws)."""
    kind = PLUGIN_KEYS.get(axis)
    if kind is None or name not in registry(kind):
        return set()
    return set(registry(kind).entry(name).meta.get("label_params", ()))


def _where_path(path: str, where: str, over: dict) -> str:
    top = path.split(".")[0].split("[")[0]
    for key in over:
        if key == top or key.split(".")[0] == top:
            if where.startswith("cases"):
                return f"{where}.{path}"
            for part in where.split(", "):
                if part.startswith(f"grid.{key}["):
                    rest = path[len(key):] if path.startswith(key) else ""
                    return part + rest
    return f"base.{path}"


def _dedupe(problems: list) -> list:
    return list(dict.fromkeys(problems))


def _check_table(spec: SuiteFile, axes: list[str], runs: list[RunSpec], source: str) -> None:
    problems = []
    for part in ("rows", "columns"):
        for i, a in enumerate(getattr(spec.table, part)):
            if a.split(".")[0] not in RUN_KEYS:
                problems.append((f"table.{part}[{i}]", unknown_message("table axis", a, RUN_KEYS)))
    if spec.table.metrics:
        reported = reported_entries(runs)
        for i, m in enumerate(spec.table.metrics):
            if m not in reported:
                problems.append((f"table.metrics[{i}]",
                                 unknown_message("evaluated metric", m, reported)))
    evaluated = list(dict.fromkeys(m.name for r in runs for m in r.metrics()))
    for metric in spec.check:
        if metric not in registry("metrics"):
            problems.append((f"check.{metric}", unknown_message("metric", metric, registry("metrics").names())))
        elif metric not in evaluated:  # a band nothing uses is a typo or a stale entry
            problems.append((f"check.{metric}", unknown_message("evaluated metric", metric, evaluated)))
        for key, value in spec.check[metric].items():
            if key not in ("abs", "rel"):  # the band of the regression check (baseline.py)
                problems.append((f"check.{metric}.{key}", unknown_message("key", key, ["abs", "rel"])))
            elif value < 0:  # (pydantic made it a finite number)
                problems.append((f"check.{metric}.{key}", f"expected a band >= 0, got {show(value)}"))
    if problems:
        raise SuiteError(source, problems)


def reported_entries(runs: list[RunSpec]) -> list[str]:
    """Every entry the runs' evaluated metrics declare, in order."""
    from ganbench.metrics.registry import entries_of

    names = dict.fromkeys(m.name for r in runs for m in r.metrics())
    return list(dict.fromkeys(e.name for n in names for e in entries_of(n)))


def _check_references(spec: SuiteFile, runs: list[RunSpec], source: str) -> None:
    """Published values must name one row, one column and a metric of the suite's table."""
    if spec.reference is not None and spec.references:
        raise SuiteError(source, [("references", "give one published table as reference: or "
                                   "several as references:, not both")])
    refs = published.blocks(spec.reference, spec.references)
    if not refs:
        return
    metrics = spec.table.metrics or reported_entries(runs)
    problems = published.check(refs, spec.table.rows, spec.table.columns,
                               [r.labels for r in runs], metrics)
    if problems:
        raise SuiteError(source, problems)


def pydantic_problems(exc: ValidationError, model: type[BaseModel], prefix: str = ""
                      ) -> list[tuple[str, str]]:
    """(key path, message) of a validation error; an unknown key lists the valid ones."""
    out = []
    for err in exc.errors():
        loc = err["loc"]
        path = prefix
        for x in loc:
            path += f"[{x}]" if isinstance(x, int) else (f".{x}" if path else str(x))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, loc[:-1])
            if fields is not None:
                msg = unknown_message("key", str(loc[-1]), fields)
        elif err["type"] != "missing" and "input" in err:
            msg += f", got {show(err['input'])}"  # what was given, cut short
        out.append((path, msg))
    return out


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str] | None:
    """Keys of the (nested) section that ``loc`` leads to from ``model``."""
    import typing

    for x in loc:
        if isinstance(x, int):
            continue  # an index into a list of sections
        field_ = model.model_fields.get(str(x))
        if field_ is None:
            return None
        args = [field_.annotation, *typing.get_args(field_.annotation)]
        nested = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        nested += [b for a in args for b in typing.get_args(a)
                   if isinstance(b, type) and issubclass(b, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return list(model.model_fields)


def load_suite(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Suite:
    """A suite file, validated; ``overrides`` are ``--set KEY=VALUE`` options applied to
    it first (``apply_overrides``), and the problems they cause name them as their source."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise SuiteError(source, [("", "no such suite file")])
    try:  # strict and bounded: duplicate keys, alias bombs, non-UTF-8 bytes are errors
        with path.open("rb") as f:
            raw = strict_yaml.load(f.read(strict_yaml.MAX_BYTES + 1))
    except OSError as exc:
        raise SuiteError(source, [("", f"cannot read it ({exc.strerror or exc})")]) from None
    except strict_yaml.YAMLProblem as exc:
        raise SuiteError(source, [(exc.path, exc.message)]) from None
    if not overrides or not isinstance(raw, dict):
        return parse_suite(raw, source, default_name=path.stem, folder=path.parent)
    raw, targets, problems = apply_overrides(raw, overrides)
    try:
        suite = parse_suite(raw, source, default_name=path.stem, folder=path.parent)
    except SuiteError as exc:  # each problem from an option names it, the rest the file
        problems += [(next((src for t, src in targets.items()
                            if _related(p, t)), exc.source), p, m)
                     for p, m in exc.problems]
    if problems:
        raise SourcedSuiteError([s for s, _, _ in problems], [(p, m) for _, p, m in problems])
    suite.overrides = tuple(overrides)
    return suite


def _related(a: str, b: str) -> bool:
    """One key path is the other or lies inside it."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


class SourcedSuiteError(SuiteError):
    """A SuiteError whose problems each name their source: the file or a --set option."""

    def __init__(self, sources: list[str], problems: list[tuple[str, str]]):
        self.sources = sources
        super().__init__(sources[0], problems)

    def __str__(self) -> str:
        lines = [f"{s}: {p}: {m}" if p else f"{s}: {m}"
                 for s, (p, m) in zip(self.sources, self.problems)]
        return _listing(lines)


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]
                    ) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str, str]]]:
    """``KEY=VALUE`` options applied to a copy of a suite's mapping. KEY is a dotted path
    into a top-level section (``grid.seed``, ``table.title``, ``cases.0.scheme``) or else
    into ``base`` (``training.iterations``); VALUE is YAML. Returns the new mapping, {key
    path in the suite: option} and the problems as (option, key path, message)."""
    raw = copy.deepcopy(raw)
    targets: dict[str, str] = {}
    problems: list[tuple[str, str, str]] = []
    grid = raw.get("grid") if isinstance(raw.get("grid"), dict) else {}
    for opt in overrides:
        key, sep, text = opt.partition("=")
        key = key.strip()
        src = f"--set {key or opt}"
        parts = key.split(".")
        if not sep or not all(parts):
            problems.append((src, "", "expected KEY=VALUE, e.g. training.iterations=500"))
            continue
        try:
            value = strict_yaml.load(text)
        except strict_yaml.YAMLProblem as exc:
            problems.append((src, "", f"the value: {exc}"))
            continue
        if parts[0] not in SuiteFile.model_fields:
            parts = ["base", *parts]
        if parts[0] == "grid" and len(parts) > 2:
            parts = ["grid", ".".join(parts[1:])]  # a grid axis is itself a dotted path
        path = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", ".".join(parts))
        shadow = next((a for a in grid if parts[0] == "base" and len(parts) > 1
                       and ".".join(parts[1:] + [""]).startswith(a + ".")), None)
        error = (f"the grid axis {shadow!r} sets this in every run; change the axis "
                 f"instead: --set grid.{shadow}=[...]") if shadow else _set_in(raw, parts, value)
        if error:
            problems.append((src, path, error))
        else:
            targets[path] = src
    return raw, targets, problems


def _set_in(node: Any, parts: list[str], value: Any) -> str | None:
    """Set a dotted path (list items by index), creating sections on the way; a plug-in
    given by name becomes {name: ...} when one of its parameters is set. Returns what
    went wrong, or None."""
    for i, k in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                return f"{'.'.join(parts[:i]) or 'this'} is a list of {len(node)}; no item {k!r}"
            k = int(k)
        elif not isinstance(node, dict):
            return f"{'.'.join(parts[:i])} is a value ({show(node)}), not a section"
        if last:
            node[k] = value
            return None
        child = node[k] if isinstance(node, list) else node.get(k)
        if child is None and parts[i + 1].isdigit():
            return f"{'.'.join(parts[:i + 1])} is not there: no item {parts[i + 1]} to set"
        if child is None:
            child = node[k] = {}
        elif isinstance(child, str) and k in PLUGIN_KEYS:
            child = node[k] = {"name": child}
        node = child
    return None


def import_plugins(modules: list[str], source: str, folder: Path | None = None) -> None:
    """Import a suite's ``plugins:`` (they register plug-ins), searching the suite file's
    folder after the Python path; a module that fails is an error at ``plugins[i]``.
    They are recorded in $GANBENCH_PLUGINS so that worker processes import them too."""
    if not modules:
        return
    if folder is not None and str(folder.resolve()) not in sys.path:
        sys.path.append(str(folder.resolve()))
    problems = []
    for i, module in enumerate(modules):
        try:
            import_plugin(module)
        except PluginImportError as exc:
            problems.append((f"plugins[{i}]", str(exc)))
    if problems:
        raise SuiteError(source, problems)
    add_plugins_to_env(modules)


def parse_suite(raw: Any, source: str = "<suite>", default_name: str = "suite",
                folder: Path | None = None) -> Suite:
    if not isinstance(raw, dict):
        raise SuiteError(source, [("", f"expected a mapping at the top level, got {type(raw).__name__}")])
    try:
        spec = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(source, pydantic_problems(exc, SuiteFile)) from None
    import_plugins(spec.plugins, source, folder)  # before any plug-in name is looked up
    name = spec.name or default_name
    from ganbench.util.containment import name_problem, shown  # the name becomes a folder

    why = name_problem(name)
    if why:
        raise SuiteError(source, [("name", f"{shown(name)} {why}")] if spec.name else [
            ("", f"the file's name gives the suite name {shown(name)}, which {why}; "
                 "set name: in the file")])
    return Suite(name, source, spec, expand(spec, name, source))
