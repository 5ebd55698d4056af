"""YAML read strictly and within bounds, for files a user hands to ganbench (suites, --set
values).

PyYAML's ``safe_load`` builds no objects, but it still accepts what a careful reader
should not: a key given twice silently keeps the last (a second ``base:`` replaces the
first), and aliases share one object, so ten lines of nested aliases (the "billion
laughs") stand for 10^9 values that explode the moment anything walks or prints them.
Here the composed node graph is checked before any Python value is built:

- the text is UTF-8 and at most ``MAX_BYTES``;
- no mapping repeats a key;
- the document, with every alias expanded, has at most ``MAX_NODES`` nodes and is nested at
  most ``MAX_DEPTH`` deep; an alias may not contain itself;
- merge keys (``<<``) may not set one key from two merged mappings (YAML keeps the first,
  silently); an explicit key beside ``<<`` still overrides a merged one, as YAML intends;
- an integer has at most ``MAX_INT_DIGITS`` digits (Python's own limit, 4300, would give a
  message with no key), and every scalar with a tag (``!!int abc``, ``!!timestamp x``) is
  built here, so that one that cannot be is an error at its key path and line.

Problems are ``YAMLProblem(key path, message)``; ``show`` is the one way a value is echoed in a
message (bounded, whatever the value).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import yaml

# Bounds, generous for a hand-written file: the largest shipped suite is ~10 KB with a few
# hundred nodes, so these only stop files that would exhaust memory or time.
MAX_BYTES = 1 << 20  # 1 MiB
MAX_NODES = 100_000  # nodes after expanding aliases
MAX_DEPTH = 64
MAX_INT_DIGITS = 64  # a seed has at most 20
SHOW_CHARS = 80  # longest echo of a value in a message

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOW_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8
_repr.maxlevel = 3


def show(value: Any, limit: int = SHOW_CHARS) -> str:
    """repr of ``value`` cut to about ``limit`` characters, in time and memory bounded
    whatever its size (reprlib never walks more than a few items per level)."""
    text = _repr.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a number, as YAML 1.2 and every other
    language do (YAML 1.1 wants ``1.0e-4`` and makes ``1e-4`` a string, which strict
    validation would then reject in a learning rate)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


class YAMLProblem(ValueError):
    """What is wrong, and where: ``path`` is the key path ("" for the whole document)."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}" if path else message)


def _at(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Walk:
    """One pass over the node graph: sizes with aliases expanded (memoised per node, so a
    bomb is measured without being expanded), duplicate keys, self-containing aliases."""

    def __init__(self, loader: yaml.SafeLoader | None = None):
        self.size: dict[int, int] = {}
        self.active: set[int] = set()
        self.loader = loader

    def visit(self, node: yaml.Node, path: str, depth: int) -> int:
        key = id(node)
        if key in self.size:
            return self.size[key]
        if key in self.active:
            raise YAMLProblem(path, f"an alias contains itself (line {_line(node)})")
        if depth > MAX_DEPTH:
            raise YAMLProblem(path, f"nested more than {MAX_DEPTH} levels deep")
        self.active.add(key)
        n = 1
        if isinstance(node, yaml.ScalarNode):
            self.scalar(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                n += self.visit(child, _at(path, i), depth + 1)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[tuple, int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else None
                if name is not None:
                    if (k.tag, name) in seen:
                        first, now = seen[(k.tag, name)], _line(k)
                        where = f"lines {first} and {now}" if first != now else f"line {now}"
                        raise YAMLProblem(_at(path, name), (
                            f"duplicate key {show(name)} ({where}); YAML would silently keep "
                            "only the last: give it once"))
                    seen[(k.tag, name)] = _line(k)
                n += self.visit(k, path, depth + 1)
                n += self.visit(v, _at(path, name if name is not None else "?"), depth + 1)
            self.merges(node, path)
        self.active.discard(key)
        self.size[key] = n
        if n > MAX_NODES:
            raise YAMLProblem(path, f"expands to more than {MAX_NODES} values once its "
                                    "aliases are expanded; that is not a hand-written file")
        return n


    def scalar(self, node: yaml.ScalarNode, path: str) -> None:
        """An integer's digits bounded; a scalar built (at its key path) where its tag asks
        for more than a string."""
        if node.tag == _INT:
            digits = re.sub(r"^[-+]?(0[xob])?|[_:]", "", node.value.lower())
            if len(digits) > MAX_INT_DIGITS:
                raise YAMLProblem(path, f"an integer of {len(digits)} digits (line "
                                        f"{_line(node)}); at most {MAX_INT_DIGITS}")
        if self.loader is None or node.tag in (_STR, _MERGE):
            return
        try:
            self.loader.construct_object(node)
        except Exception as exc:  # a tag whose constructor refuses the text
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            why = "" if isinstance(exc, yaml.YAMLError) else f" ({type(exc).__name__})"
            raise YAMLProblem(path, f"{show(node.value)} is not a valid {show(tag)} (line "
                                    f"{_line(node)}){why}") from None

    def merges(self, node: yaml.MappingNode, path: str) -> None:
        """Refuse a key that two mappings merged into ``node`` (``<<``) both set."""
        merged = [v for k, v in node.value if k.tag == _MERGE]
        sources = [m for v in merged
                   for m in (v.value if isinstance(v, yaml.SequenceNode) else [v])]
        owner: dict[str, int] = {}
        for m in sources:
            for name in _keys_of(m):
                if name in owner:
                    raise YAMLProblem(_at(path, name), (
                        f"set by two mappings merged with << (lines {owner[name]} and "
                        f"{_line(m)}); YAML would silently keep the first: set it once"))
                owner[name] = _line(m)


_INT, _STR = "tag:yaml.org,2002:int", "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


def _keys_of(node: yaml.Node, depth: int = 0) -> set[str]:
    """The keys a mapping node sets, its own merges included."""
    if not isinstance(node, yaml.MappingNode) or depth > MAX_DEPTH:
        return set()
    out: set[str] = set()
    for k, v in node.value:
        if k.tag == _MERGE:
            for m in (v.value if isinstance(v, yaml.SequenceNode) else [v]):
                out |= _keys_of(m, depth + 1)
        elif isinstance(k, yaml.ScalarNode):
            out.add(k.value)
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line, col = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        where = _bad_text_path(data.decode("utf-8", errors="replace"))
        raise YAMLProblem(where, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line "
                                 f"{line}, column {col}") from None


def _bad_text_path(text: str) -> str:
    """Key path of the first value holding an undecodable byte (""  when not found)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return ""

    def find(n: Any, path: str) -> str | None:
        if isinstance(n, yaml.ScalarNode):
            return path if "\ufffd" in n.value else None
        if isinstance(n, yaml.SequenceNode):
            return next((p for i, c in enumerate(n.value)
                         if (p := find(c, _at(path, i))) is not None), None)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else "?"
                if "\ufffd" in str(name):
                    return _at(path, name.replace("\ufffd", "?"))
                p = find(v, _at(path, name))
                if p is not None:
                    return p
        return None

    return (find(node, "") or "") if node is not None else ""


def load(data: str | bytes) -> Any:
    """One YAML document, checked as the module docstring says; raises YAMLProblem."""
    if len(data) > MAX_BYTES:
        raise YAMLProblem("", f"larger than {MAX_BYTES} bytes, the most that is read "
                              "(a suite is a short hand-written file)")
    text = _decode(data) if isinstance(data, bytes) else data
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Walk(loader).visit(node, "", 0)
        return loader.construct_document(node)
    except YAMLProblem:
        raise
    except RecursionError:
        raise YAMLProblem("", f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem("", f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
