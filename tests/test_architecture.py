"""The package's shape (docs/architecture.md): no import cycles, imports only downward
between floors, no private names taken from another module. Read from the source with
``ast`` (imports inside functions included), so nothing is imported to check it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "ganbench"

# floor of each top-level part of the package: a module imports only from its own floor
# or below (docs/architecture.md draws the same table)
FLOORS = {
    "registry": 0, "seeding": 0, "util": 0,
    "game": 1, "objectives": 1, "data": 1, "models": 1, "schemes": 1, "metrics": 1,
    "features": 1,
    "suite": 2,
    "results": 3,
    "train": 4,
    "execute": 5,
    "report": 6,
    "ci": 7,
    "cli": 8,
    "": 9, "__main__": 9,  # ganbench/__init__.py: the curated API
}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["ganbench", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = modules()


def _resolve(name: str) -> str | None:
    """The module a dotted name lives in (a name inside a module: that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _target(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, the name taken from it or None, line) of every ganbench import."""
    out = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(t, None, node.lineno) for a in node.names
                    if a.name.startswith("ganbench") and (t := _resolve(a.name))]
        elif isinstance(node, ast.ImportFrom):
            source = _target(module, path, node)
            if source != "ganbench" and not source.startswith("ganbench."):
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                if sub in MODULES:
                    out.append((sub, None, node.lineno))
                elif (t := _resolve(source)):
                    out.append((t, a.name, node.lineno))
    return out


def graph() -> dict[str, set[str]]:
    """module -> the modules importing it runs: each imported module and, from outside a
    package, that package's ``__init__`` (Python runs it first)."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, path in MODULES.items():
        for target, _, _ in imports(m, path):
            parts = target.split(".")
            for i in range(2, len(parts) + 1):
                parent = ".".join(parts[:i])
                if parent in MODULES and not (m + ".").startswith(parent + "."):
                    edges[m].add(parent)
            edges[m].discard(m)
    return edges


def floor(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    assert part in FLOORS, f"{module}: no floor in FLOORS (add it here and to docs/architecture.md)"
    return FLOORS[part]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_imports_run_downward_only():
    bad = [f"{m} (floor {floor(m)}) imports {t} (floor {floor(t)})"
           for m, targets in graph().items() for t in sorted(targets) if floor(t) > floor(m)]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_no_private_names_across_modules():
    bad = []
    for m, path in MODULES.items():
        bound = {}  # local names bound to ganbench modules, to catch module._private
        for target, name, line in imports(m, path):
            if name is not None and name.startswith("_") and not name.startswith("__") \
                    and target != m:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (_target(m, path, node) or "").startswith("ganbench"):
                for a in node.names:
                    if f"{_target(m, path, node)}.{a.name}" in MODULES:
                        bound[a.asname or a.name] = f"{_target(m, path, node)}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in MODULES:
                        bound[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                           f"{bound[node.value.id]}.{node.attr}")
    assert not bad, "private names across modules:\n" + "\n".join(bad)


def test_the_graph_is_read():
    # the checks above pass on an empty graph too: make sure they see real imports
    edges = graph()
    assert "ganbench.suite" in edges["ganbench.train"] or any(
        t.startswith("ganbench.suite") for t in edges["ganbench.train.build"])
    assert all(any(m.startswith(f"ganbench.{p}") for m in MODULES) for p in FLOORS if p)
