"""Dotted key paths into nested configs (``optimizer.lr_d``, ``model.width``): get, pop
and set."""

from __future__ import annotations

from typing import Any


def set_path(cfg: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = cfg
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            # a plug-in given as a bare name becomes {name: ...} so a param can be set
            node[k] = {"name": node[k]} if isinstance(node.get(k), str) else {}
        node = node[k]
    node[keys[-1]] = value


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
