"""Plug-in parameters: a reference's parameters checked against the plug-in's signature
(types, bounds, required ones) and its own checks, defaults filled in."""

from __future__ import annotations

import math
from typing import Any

from ganbench.registry import RegistryError, registry, unknown_message
from ganbench.suite.run import PluginRef
from ganbench.suite.schema import MAX_NUMBER, MAX_PARAM
from ganbench.util import strict_yaml
from ganbench.util.strict_yaml import show


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


def resolve_plugin(kind: str, value: Any, path: str, problems: list,
                   built: dict | None = None) -> PluginRef | None:
    """The reference with every parameter checked and its defaults filled in. The instance
    built to run the plug-in's own checks is kept in ``built`` (``instance`` reads it), so
    that the rest of a run point's validation builds nothing again."""
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
    defaults, required = entry.params(), entry.required()
    n_before = len(problems)
    params = {}
    for key, default in defaults.items():
        if key in given:
            params[key] = check_param(key, given[key], default, path, problems)
        elif default is None and key in required:
            problems.append((f"{path}.{key}", f"required parameter of {kind} {name!r}"))
        else:
            params[key] = _plain(default)
    for key in given:
        if key not in defaults:
            valid = ", ".join(defaults) or "(none)"
            problems.append((f"{path}.{key}", f"unknown parameter of {name!r}; valid: {valid}"))
    # parameters added after runs were recorded (the plug-in's ``id_neutral`` meta) are left
    # out at their default, so that the runs recorded before them keep their ids
    for key in entry.meta.get("id_neutral", ()):
        if key in params and key in defaults and params[key] == _plain(defaults[key]):
            del params[key]
    ref = PluginRef(name, params)
    if len(problems) == n_before:
        try:  # the plug-in's own checks (ranges etc.), before anything runs
            obj = entry.create(**params)
        except (ValueError, TypeError, RegistryError) as exc:
            problems.append((path, f"{name}: {exc}"))
        else:
            if built is not None:
                built[(kind, ref)] = obj
    elif built is not None:
        built[(kind, ref)] = None  # parameters refused: never built (a size may be huge)
    return ref


def instance(kind: str, ref: PluginRef | None, built: dict) -> Any:
    """The plug-in ``ref`` names, as ``resolve_plugin`` built it, else built now; None when
    it cannot be built (resolve_plugin has reported why)."""
    if ref is None:
        return None
    if (kind, ref) not in built:
        try:
            built[(kind, ref)] = ref.create(kind)
        except Exception:  # already reported by resolve_plugin
            built[(kind, ref)] = None
    return built[(kind, ref)]


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
