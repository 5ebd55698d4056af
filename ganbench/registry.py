"""One registry mechanism for every kind of plug-in.

A plug-in is a class (or factory) registered under a short snake_case name with a one-line
description and a reference. Its keyword parameters (with defaults) are read from the
signature, so suite files can be validated against them before anything runs.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# kind -> module whose import registers every plug-in of that kind
KINDS: dict[str, str] = {
    "objectives": "ganbench.objectives",
    "regularizers": "ganbench.objectives.regularizers",
    "schemes": "ganbench.schemes",
    "datasets": "ganbench.data",
    "models": "ganbench.models",
    "metrics": "ganbench.metrics",
    "plots": "ganbench.plots",
}


class RegistryError(ValueError):
    """A plug-in name or parameter is wrong (the message says what was expected)."""


class UnknownNameError(RegistryError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    obj: Callable[..., Any]
    description: str
    reference: str
    meta: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Keyword parameters the plug-in accepts, with their defaults."""
        return plugin_params(self.obj)

    def create(self, **params: Any) -> Any:
        return self.obj(**params)


def plugin_params(obj: Callable[..., Any]) -> dict[str, Any]:
    sig = inspect.signature(obj)
    out: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "self":
            continue
        if p.kind is p.POSITIONAL_ONLY:
            continue
        out[p.name] = None if p.default is inspect.Parameter.empty else p.default
    return out


def closest(name: str, options: list[str]) -> str | None:
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return match[0] if match else None


def unknown_message(what: str, name: str, options: list[str]) -> str:
    msg = f"unknown {what} {name!r}; valid: {', '.join(sorted(options)) or '(none)'}"
    near = closest(str(name), options)
    if near:
        msg += f" (did you mean {near!r}?)"
    return msg


class Registry:
    """Name -> plug-in. ``@REG.register("name", description=..., reference=...)``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, *, description: str, reference: str = "", **meta: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if not _NAME.match(name):
            raise RegistryError(f"{self.kind}: name {name!r} is not short snake_case")
        if not description or "\n" in description.strip():
            raise RegistryError(f"{self.kind} {name!r}: needs a one-line description")

        def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries:
                raise RegistryError(f"{self.kind}: {name!r} is already registered")
            self._entries[name] = Entry(self.kind, name, obj, description.strip(), reference, meta)
            return obj

        return deco

    def add(self, name: str, obj: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
        return self.register(name, **kw)(obj)

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(unknown_message(self.kind.rstrip("s"), name, self.names())) from None

    def get(self, name: str) -> Callable[..., Any]:
        return self.entry(name).obj

    def create(self, name: str, **params: Any) -> Any:
        return self.entry(name).create(**params)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def registry(kind: str) -> Registry:
    """The registry of a kind, with all built-in plug-ins of that kind registered."""
    if kind not in KINDS:
        raise UnknownNameError(unknown_message("plug-in kind", kind, list(KINDS)))
    mod = importlib.import_module(KINDS[kind])
    return mod.REGISTRY


def load_all() -> dict[str, Registry]:
    return {k: registry(k) for k in KINDS}
