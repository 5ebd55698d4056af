"""The run model: a plug-in reference (``PluginRef``), one resolved run (``RunSpec``) and
its id (a hash of its resolved config), and the expanded ``Suite``."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ganbench.registry import registry, unknown_message
from ganbench.suite.paths import pop_path
from ganbench.suite.schema import PLUGIN_KEYS, SuiteFile, TableCfg


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
        if isinstance(value, list):
            raise ValueError(f"run key {key!r} holds {len(value)} terms: read them with "
                             f"RunSpec.regularizers()")
        return None if value is None else PluginRef.parse(value)

    def regularizers(self) -> list[PluginRef]:
        """The run's regularizer terms, in order (none, one, or the list it names)."""
        value = self.config.get("regularizer")
        if value is None:
            return []
        return [PluginRef.parse(v) for v in (value if isinstance(value, list) else [value])]

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
            pop_path(cfg, key)
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
# keys added after run ids were fixed: left out of the id at the value every earlier run had,
# so that those ids stay as they were (a run with another value gets a new id)
ID_DEFAULTS = {("training", "precision"): "fp32", ("training", "compile"): False}


def _hashed(sec: str, key: str, value: Any) -> bool:
    if (sec, key) in NOT_IN_RUN_ID:
        return False
    return (sec, key) not in ID_DEFAULTS or ID_DEFAULTS[(sec, key)] != value


def run_id(config: dict[str, Any]) -> str:
    if any(isinstance(config.get(sec), dict) and key in config[sec]
           for sec, key in (*NOT_IN_RUN_ID, *ID_DEFAULTS)):
        config = {**config}
        for sec in {sec for sec, _ in (*NOT_IN_RUN_ID, *ID_DEFAULTS)}:
            if isinstance(config.get(sec), dict):
                config[sec] = {k: v for k, v in config[sec].items() if _hashed(sec, k, v)}
    return hashlib.sha256(canonical(config).encode()).hexdigest()[:12]


@dataclass
class Suite:
    name: str
    source: str
    spec: SuiteFile
    runs: list[RunSpec]
    overrides: tuple[str, ...] = ()  # the --set options applied to the file
    # adaptive seeds: every run the suite may grow to (runs holds the first look's)
    pool: list[RunSpec] = field(default_factory=list)
    adaptive: dict[str, Any] | None = None  # the rounds of adaptive seeds, for the record

    @property
    def table(self) -> TableCfg:
        return self.spec.table


def label(value: Any) -> str:
    """Short text for a grid value: 'unrolled(k=5)', 'ring', '0.0001'."""
    if value is None:
        return "none"
    if isinstance(value, list) and value:  # regularizer terms: 'r1(weight=1)+r2(weight=1)'
        return "+".join(label(v) for v in value)
    ref = PluginRef.parse(value) if isinstance(value, dict) else None
    if ref is not None:
        return ref.label()
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)
