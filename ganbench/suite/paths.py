"""Dotted key paths into nested configs (``optimizer.lr_d``, ``model.width``): get, pop
and set."""

from __future__ import annotations

from typing import Any

from ganbench.suite.schema import PLUGIN_KEYS
from ganbench.util.strict_yaml import show


def set_path(node: Any, parts: list[str], value: Any, strict: bool = False) -> str | None:
    """Set the field at the key path ``parts``, creating sections on the way; a plug-in
    given by name becomes {name: ...} when one of its parameters is set. Returns what went
    wrong, or None.

    ``strict`` (``--set`` options): list items are addressed by index, only a plug-in key
    turns a name into {name: ...}, and a path through a value or past a list's end is
    refused. Otherwise (merging a suite's own dotted keys) whatever is not a section on
    the way is replaced by one (a bare name by {name: ...}); nothing is refused."""
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
        if not strict:
            if not isinstance(child, dict):
                child = node[k] = {"name": child} if isinstance(child, str) else {}
        elif child is None and parts[i + 1].isdigit():
            return f"{'.'.join(parts[:i + 1])} is not there: no item {parts[i + 1]} to set"
        elif child is None:
            child = node[k] = {}
        elif isinstance(child, str) and k in PLUGIN_KEYS:
            child = node[k] = {"name": child}
        node = child
    return None


def pop_path(cfg: dict, dotted: str) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        node = node.get(k) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(keys[-1], None)
        node.get("params", {}).pop(keys[-1], None) if isinstance(node.get("params"), dict) else None


def get_path(cfg: dict, dotted: str) -> Any:
    node: Any = cfg
    for k in dotted.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node
