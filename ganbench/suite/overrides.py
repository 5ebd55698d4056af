"""``--set KEY=VALUE`` options: YAML values set at dotted paths of a suite's mapping before
it is validated, each problem naming its option."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from ganbench.suite.paths import set_path
from ganbench.suite.schema import SuiteFile
from ganbench.util import strict_yaml


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
                 f"instead: --set grid.{shadow}=[...]") if shadow else set_path(raw, parts, value, strict=True)
        if error:
            problems.append((src, path, error))
        else:
            targets[path] = src
    return raw, targets, problems


def variant_suffix(overrides: list[str] | tuple[str, ...]) -> str:
    """'+<8 hex digits>' naming a suite run with ``--set`` options (its results folder is
    ``<suite>+<hash>``, apart from the plain suite's); '' without options. The hash is of
    the options as KEY=VALUE, order-free, so that the same options find the same folder."""
    if not overrides:
        return ""
    opts = sorted({f"{k.strip()}={v.strip()}" for k, _, v in (o.partition("=") for o in overrides)})
    return "+" + hashlib.sha256("\n".join(opts).encode()).hexdigest()[:8]
