"""The shape of the code: imports go one way (docs/architecture.md), with no circle, and
the front doors leave business rules, audit rows and job queueing to the services.

Read from the source with ``ast``: every ``import`` of a ``greffier`` module, at the top of
a file or inside a function, is an edge from the importing module to the imported one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "greffier"

# What each part may import (besides itself, errors and settings, which everyone may).
# Top to bottom: the doors, the HTTP glue they share, the services, then what they use.
ALLOWED = {
    "cli": {
        "services",
        "server",
        "models",
        "documents",
        "meetings",
        "tokens",
        "evaluation",
        "datasets",
        "store.records",
    },
    "__main__": {"cli"},
    "server": {"api", "web", "services"},
    "api": {"http", "services", "models", "store.records", "meetings", "metrics"},
    "web": {"http", "services", "models", "store.records"},
    "http": {"services", "store.records"},
    "services": {
        "store",
        "models",
        "documents",
        "meetings",
        "tokens",
        "voice",
        "metrics",
        "evaluation",
        "datasets",
    },
    "evaluation": {"documents"},
    "datasets": {"documents"},
    "meetings": {"models.backends"},
    "documents": set(),
    "voice": set(),
    "tokens": {"models"},
    "models": set(),
    "metrics": set(),  # the process's Prometheus registry: no framework, no database
    "store": {"documents.analysis"},
}
EVERYONE = {"errors", "settings", "__init__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("greffier."):
                continue
            name = name.removeprefix("greffier.")
            # "from greffier.x import y": y is a module, or a name defined in x.
            if name in known:
                found.add(name)
            elif name.rpartition(".")[0] in known and isinstance(node, ast.ImportFrom):
                found.add(name.rpartition(".")[0])
    return found


def part(module: str) -> str:
    return module.split(".")[0]


def allowed(source: str, target: str) -> bool:
    if part(source) == part(target) or part(target) in EVERYONE:
        return True
    return any(
        target == rule or target.startswith(rule + ".") for rule in ALLOWED.get(part(source), ())
    )


def test_imports_go_one_way():
    known = modules()
    wrong = sorted(
        f"{source} imports {target}"
        for source, path in known.items()
        for target in imports(path, known)
        if not allowed(source, target)
    )
    assert not wrong, wrong


def test_no_import_circle():
    known = modules()
    graph = {m: {t for t in imports(p, known) if t != m} for m, p in known.items()}
    # A package's __init__ importing its own submodules is how packages are built: a circle
    # through it is not a dependency circle.
    for m in graph:
        graph[m] = {t for t in graph[m] if not m.startswith(t + ".")}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not circles, circles


def test_front_doors_only_parse_call_and_format():
    """No audit row written, no job queued, no SQL under api/ or web/."""
    for door in ("api", "web", "http"):
        for path in (SRC / door).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\baudit\.record\(", text), path
            assert not re.search(r"\bjobs\.submit\(|\bqueue\.submit\(", text), path
            assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\s+\w", text), path
