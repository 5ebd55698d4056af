"""Loading: a suite file read strictly (bounded YAML), its ``--set`` overrides applied, its
plug-in modules imported, then validated and expanded into a ``Suite``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ganbench.registry import PluginImportError, add_plugins_to_env, import_plugin
from ganbench.suite.errors import SourcedSuiteError, SuiteError
from ganbench.suite.expand import expand, expand_adaptive
from ganbench.suite.overrides import apply_overrides, variant_suffix
from ganbench.suite.run import Suite
from ganbench.suite.schema import SuiteFile, pydantic_problems
from ganbench.suite.shipped import suite_path
from ganbench.util import strict_yaml


def load_suite(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
               until_resolved: bool = False, max_seeds: int | None = None) -> Suite:
    """A suite file (or a shipped suite's bare name), validated; ``overrides`` are ``--set
    KEY=VALUE`` options applied to it first (``apply_overrides``), and the problems they
    cause name them as their source.
    ``until_resolved`` turns a ``grid.seed`` axis of 0..k-1 into adaptive seeds from k up
    to ``max_seeds`` (default 10); ``max_seeds`` alone sets an adaptive suite's maximum."""
    path = suite_path(path)  # a bare name ('mode_collapse') is a shipped suite
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
    if (until_resolved or max_seeds is not None) and isinstance(raw, dict):
        raw = adaptive_seeds(raw, source, until_resolved, max_seeds)
    if not overrides or not isinstance(raw, dict):
        return parse_suite(raw, source, default_name=path.stem, folder=path.parent)
    raw, targets, problems = apply_overrides(raw, overrides)
    try:  # its own experiment: results under <suite>+<hash of the options>
        suite = parse_suite(raw, source, default_name=path.stem, folder=path.parent,
                            variant=variant_suffix(overrides))
    except SuiteError as exc:  # each problem from an option names it, the rest the file
        problems += [(next((src for t, src in targets.items()
                            if _related(p, t)), exc.source), p, m)
                     for p, m in exc.problems]
    if problems:
        raise SourcedSuiteError([s for s, _, _ in problems], [(p, m) for _, p, m in problems])
    suite.overrides = tuple(overrides)
    return suite


def adaptive_seeds(raw: dict[str, Any], source: str, until_resolved: bool,
                   max_seeds: int | None) -> dict[str, Any]:
    """The raw suite with adaptive seeds (``--until-resolved``, ``--max-seeds``)."""
    raw = dict(raw)
    if max_seeds is not None and (isinstance(max_seeds, bool) or not isinstance(max_seeds, int)
                                  or not 2 <= max_seeds <= 100):
        raise SuiteError(source, [("--max-seeds", f"expected an integer from 2 to 100, got "
                                                  f"{max_seeds!r}")])
    seeds = raw.get("seeds")
    if isinstance(seeds, dict):
        if max_seeds is not None:
            raw["seeds"] = {**seeds, "max": max_seeds}
        return raw
    if seeds is not None:
        return raw  # not a mapping: the schema says what is wrong
    grid = raw.get("grid")
    axis = grid.get("seed") if isinstance(grid, dict) else None
    if axis is None:
        raise SuiteError(source, [("grid.seed", "--until-resolved / --max-seeds need a "
                                                "grid.seed axis or a seeds: section")])
    if (not isinstance(axis, list) or len(axis) < 2
            or axis != list(range(len(axis)))):
        raise SuiteError(source, [("grid.seed", f"--until-resolved continues seeds 0, 1, "
                                                f"2, ...: expected [0, 1, ..., k-1] with k "
                                                f">= 2, got {strict_yaml.show(axis)}")])
    raw["grid"] = {k: v for k, v in grid.items() if k != "seed"}
    raw["seeds"] = {"min": len(axis), "max": max(max_seeds or 10, len(axis))}
    return raw


def _related(a: str, b: str) -> bool:
    """One key path is the other or lies inside it."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))




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


def use_weights(given: str, source: str, folder: Path | None = None) -> None:
    """The suite's ``weights:`` folder as $GANBENCH_WEIGHTS (worker processes inherit the
    environment), unless the variable is already set: a machine's own copy wins."""
    from ganbench.features.base import WEIGHTS_ENV

    if os.environ.get(WEIGHTS_ENV):
        return
    path = Path(given).expanduser()
    if not path.is_absolute() and folder is not None:
        path = folder / path
    if not path.is_dir():
        raise SuiteError(source, [("weights", f"{given!r} is not a folder ({path}): name the "
                                  f"folder holding the extractors' weight files, or set "
                                  f"{WEIGHTS_ENV}")])
    os.environ[WEIGHTS_ENV] = str(path.resolve())


def parse_suite(raw: Any, source: str = "<suite>", default_name: str = "suite",
                folder: Path | None = None, variant: str = "") -> Suite:
    """``variant``: a suffix of the suite's name (``--set`` options: '+<hash>')."""
    if not isinstance(raw, dict):
        raise SuiteError(source, [("", f"expected a mapping at the top level, got {type(raw).__name__}")])
    try:
        spec = SuiteFile.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(source, pydantic_problems(exc, SuiteFile)) from None
    import_plugins(spec.plugins, source, folder)  # before any plug-in name is looked up
    if spec.weights is not None:  # before validation asks the extractors for their weights
        use_weights(spec.weights, source, folder)
    name = spec.name or default_name
    from ganbench.util.containment import name_problem, shown  # the name becomes a folder

    why = name_problem(name)
    if why:
        raise SuiteError(source, [("name", f"{shown(name)} {why}")] if spec.name else [
            ("", f"the file's name gives the suite name {shown(name)}, which {why}; "
                 "set name: in the file")])
    name += variant
    if spec.seeds is not None:
        runs, pool = expand_adaptive(spec, name, source)
        return Suite(name, source, spec, runs, pool=pool)
    return Suite(name, source, spec, expand(spec, name, source))
