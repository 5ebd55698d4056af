"""One registry mechanism for every kind of plug-in.

A plug-in is a class (or factory) registered under a short snake_case name with a one-line
description and a reference. Its keyword parameters (with defaults) are read from the
signature, so suite files can be validated against them before anything runs.

Each registry has a base: a class plug-in must subclass it and leave no abstract method
(``@abstractmethod`` in its ancestry, or a method the registry names as ``required``)
unimplemented; this is checked when it registers, so a broken plug-in fails at import, not
mid-run. A function that builds an instance is registered with ``factory=True``; what it
returns is checked against the base when it is created. A registry of plain functions
(figures) has a ``Functions`` base naming the leading parameters each must take.

Plug-ins from outside the package register the same way, from a module named in a suite's
``plugins:`` list or from an installed distribution's ``ganbench.plugins`` entry point
(loaded by ``load_plugins``, which ``registry()`` calls once).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

#: entry-point group whose modules are imported (they register plug-ins) when registries load
ENTRY_POINT_GROUP = "ganbench.plugins"

# kind -> module whose import registers every plug-in of that kind
KINDS: dict[str, str] = {
    "objectives": "ganbench.objectives",
    "regularizers": "ganbench.objectives.regularizers",
    "schemes": "ganbench.schemes",
    "datasets": "ganbench.data",
    "models": "ganbench.models",
    "metrics": "ganbench.metrics",
    "features": "ganbench.features",
    "plots": "ganbench.report.plots",
}


class RegistryError(ValueError):
    """A plug-in name or parameter is wrong (the message says what was expected)."""


class UnknownNameError(RegistryError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass(frozen=True)
class Functions:
    """Base of a registry of plain functions: the leading parameters each must accept."""

    leading: tuple[str, ...]

    def __str__(self) -> str:
        return f"a function fn({', '.join(self.leading)}, **options)"


Base = type | Functions


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    obj: Callable[..., Any]
    description: str
    reference: str
    meta: dict[str, Any] = field(default_factory=dict)
    base: Base | None = None
    factory: bool = False

    def params(self) -> dict[str, Any]:
        """Keyword parameters the plug-in accepts, with their defaults (for a function
        plug-in, its options: not the leading parameters its base names)."""
        params = plugin_params(self.obj)
        if isinstance(self.base, Functions):
            params = {k: v for k, v in params.items() if k not in self.base.leading}
        return params

    def required(self) -> set[str]:
        """Keyword parameters without a default (``params`` shows them as None)."""
        return {k for k, d in _keyword_params(self.obj).items() if d is inspect.Parameter.empty}

    def create(self, **params: Any) -> Any:
        out = self.obj(**params)
        if self.factory and isinstance(self.base, type) and not isinstance(out, self.base):
            raise RegistryError(
                f"{self.kind} plug-in {self.name!r}: its factory returned a "
                f"{type(out).__name__}, expected an instance of {_qualname(self.base)}")
        return out


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def abstract_left(cls: type, required: tuple[str, ...] = (), base: type | None = None) -> list[str]:
    """Methods ``cls`` leaves abstract: marked ``@abstractmethod`` where it finds them (with
    or without ABCMeta), or named in ``required`` and still the base's own."""
    left = {name for name in dir(cls)
            if getattr(getattr(cls, name, None), "__isabstractmethod__", False)}
    if base is not None:
        left |= {name for name in required
                 if inspect.getattr_static(cls, name, None) is inspect.getattr_static(base, name, None)}
    return sorted(left)


def _keyword_params(obj: Callable[..., Any]) -> dict[str, Any]:
    """The one reading of a plug-in's signature: name -> default (``Parameter.empty`` when
    required) of each parameter a suite can set by keyword."""
    out: dict[str, Any] = {}
    for p in inspect.signature(obj).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY) or p.name == "self":
            continue
        out[p.name] = p.default
    return out


def plugin_params(obj: Callable[..., Any]) -> dict[str, Any]:
    """Keyword parameters with their defaults (None for a required one)."""
    return {k: None if d is inspect.Parameter.empty else d
            for k, d in _keyword_params(obj).items()}


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
    """Name -> plug-in. ``@REG.register("name", description=..., reference=...)``.

    ``base``: the class every plug-in subclasses (or a ``Functions`` spec for a registry of
    functions); ``required``: methods of the base that a plug-in must override although
    the base does not mark them ``@abstractmethod``; ``validate(name, obj)``: the kind's
    own checks of a class plug-in's declarations (a list of problems, empty when none)."""

    def __init__(self, kind: str, base: Base | None = None, required: tuple[str, ...] = (),
                 validate: Callable[[str, Any], list[str]] | None = None):
        if required and not isinstance(base, type):
            raise RegistryError(f"{kind}: required methods need a base class")
        self.kind = kind
        self.base = base
        self.required = tuple(required)
        self.validate = validate
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, *, description: str, reference: str = "", factory: bool = False,
        **meta: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if not _NAME.fullmatch(name):
            raise RegistryError(f"{self.kind}: name {name!r} is not short snake_case")
        if not description or "\n" in description.strip():
            raise RegistryError(f"{self.kind} {name!r}: needs a one-line description")

        def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries:
                raise RegistryError(f"{self.kind}: {name!r} is already registered")
            self.check(name, obj, factory)
            self._entries[name] = Entry(self.kind, name, obj, description.strip(), reference,
                                        meta, self.base, factory)
            return obj

        return deco

    def check(self, name: str, obj: Any, factory: bool = False) -> None:
        """Raise RegistryError unless ``obj`` fits this registry's base."""
        what = f"{self.kind} plug-in {name!r} ({getattr(obj, '__qualname__', repr(obj))})"
        base = self.base
        if base is None:
            return
        if isinstance(base, Functions):
            if inspect.isclass(obj) or not callable(obj):
                raise RegistryError(f"{what}: expected {base}")
            params = [p for p in inspect.signature(obj).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            if [p.name for p in params[:len(base.leading)]] != list(base.leading):
                raise RegistryError(f"{what}: expected {base}")
            return
        if factory:
            if inspect.isclass(obj) or not callable(obj):
                raise RegistryError(f"{what}: factory=True needs a function returning an "
                                    f"instance of {_qualname(base)}")
            return
        if not inspect.isclass(obj):
            raise RegistryError(f"{what}: expected a subclass of {_qualname(base)} (a function "
                                f"that builds one registers with factory=True)")
        if not issubclass(obj, base):
            raise RegistryError(f"{what}: expected a subclass of {_qualname(base)}")
        left = abstract_left(obj, self.required, base)
        if left:
            raise RegistryError(f"{what}: subclass of {_qualname(base)} leaves abstract "
                                f"method(s) unimplemented: {', '.join(left)}")
        problems = self.validate(name, obj) if self.validate else []
        if problems:
            raise RegistryError(f"{what}: {'; '.join(problems)}")

    def add(self, name: str, obj: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
        return self.register(name, **kw)(obj)

    def entry(self, name: str) -> Entry:
        if name not in self:
            raise UnknownNameError(unknown_message(self.kind.rstrip("s"), name, self.names()))
        return self._entries[name]

    def get(self, name: str) -> Callable[..., Any]:
        return self.entry(name).obj

    def create(self, name: str, **params: Any) -> Any:
        return self.entry(name).create(**params)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry]:
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        try:
            if name in self._entries:
                return True
        except TypeError:  # unhashable: no plug-in's name
            return False
        # code that imports a registry module directly (the trainer, a worker process)
        # bypasses registry(): installed and $GANBENCH_PLUGINS plug-ins load on a miss
        load_plugins()
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def registry(kind: str) -> Registry:
    """The registry of a kind, with all built-in plug-ins of that kind registered, and the
    installed ones (``load_plugins``)."""
    if kind not in KINDS:
        raise UnknownNameError(unknown_message("plug-in kind", kind, list(KINDS)))
    mod = importlib.import_module(KINDS[kind])
    load_plugins()
    return mod.REGISTRY


#: environment variable: comma-separated modules imported with the entry points. A suite's
#: ``plugins:`` are added to it, so worker processes (which start afresh) import them too.
PLUGINS_ENV = "GANBENCH_PLUGINS"

_loaded: set[str] = set()  # plug-in sources already imported in this process
_entry_points: list[tuple[str, Any]] | None = None


class PluginImportError(RegistryError):
    """A plug-in module could not be imported (the message names it and why)."""


def import_plugin(module: str) -> None:
    """Import a module that registers plug-ins (each module once per process)."""
    if not isinstance(module, str) or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module):
        raise PluginImportError(f"expected an importable module name, got {module!r}")
    try:
        importlib.import_module(module)
    except RegistryError as exc:
        raise PluginImportError(f"plug-in module {module!r}: {exc}") from exc
    except (Exception, SystemExit) as exc:  # ImportError, or the module's own code: an
        # error, or sys.exit() on import, which would end ganbench with the module's status
        raise PluginImportError(f"cannot import plug-in module {module!r}: "
                                f"{type(exc).__name__}: {exc}") from exc


def load_plugins() -> None:
    """Import, once per process, the modules of the ``ganbench.plugins`` entry-point group
    and those listed in $GANBENCH_PLUGINS."""
    global _entry_points
    if _entry_points is None:  # scanning installed distributions once is enough
        from importlib.metadata import entry_points

        _entry_points = [(f"entry point {ep.name} = {ep.value} (group {ENTRY_POINT_GROUP})", ep)
                         for ep in entry_points(group=ENTRY_POINT_GROUP)]
    todo: list[tuple[str, Any]] = list(_entry_points)
    todo += [(f"${PLUGINS_ENV} module {m.strip()}", m.strip())
             for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for source, what in todo:
        if source in _loaded:
            continue
        _loaded.add(source)  # first, so a plug-in that calls registry() does not recurse
        try:
            if isinstance(what, str):
                import_plugin(what)
            else:
                what.load()
        except (Exception, SystemExit) as exc:  # SystemExit: sys.exit() on import
            _loaded.discard(source)
            why = str(exc) if isinstance(exc, PluginImportError) else f"{type(exc).__name__}: {exc}"
            raise PluginImportError(f"{source}: {why}") from exc


def add_plugins_to_env(modules: list[str]) -> None:
    """Record modules in $GANBENCH_PLUGINS (worker processes inherit the environment)."""
    have = [m for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    os.environ[PLUGINS_ENV] = ",".join(dict.fromkeys([*have, *modules]))
