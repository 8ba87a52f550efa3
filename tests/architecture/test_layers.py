"""The house stays readable: no import circle between modules or between sub-packages.

Every import counts, also those inside functions and under TYPE_CHECKING, so a circle
cannot be hidden. The ground floor (durations, fileio, refusal, states, heap, lazy_stdlib, loopback) imports nothing of
ours. The layers are drawn in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[2] / "agent" / "procguard"
GROUND = {"procguard.durations", "procguard.fileio", "procguard.refusal", "procguard.states", "procguard.heap",
          "procguard.lazy_stdlib", "procguard.loopback"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Set[str]:
    """Every procguard module `path` imports, resolved to a module that exists."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: Set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("procguard") and target in MODULES:
                found.add(target)
    found.discard(name)
    return found


MODULES: Dict[str, Path] = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph() -> Dict[str, Set[str]]:
    # a package's __init__ is its face: importing a submodule is not importing the face
    return {name: {t for t in imports_of(path) if not (MODULES[t].name == "__init__.py" and name.startswith(t + "."))}
            for name, path in MODULES.items()}


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    found: List[List[str]] = []
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def area(module: str) -> str:
    """procguard.intake.decide -> procguard.intake; procguard.engine -> procguard.engine."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_circle_between_modules():
    assert cycles(graph()) == []


def test_no_circle_between_sub_packages():
    edges: Dict[str, Set[str]] = {}
    for module, targets in graph().items():
        edges.setdefault(area(module), set()).update(area(t) for t in targets if area(t) != area(module))
    assert cycles(edges) == []


def test_the_ground_floor_imports_nothing_of_ours():
    g = graph()
    assert {m: sorted(g[m]) for m in GROUND if g[m]} == {}


def test_the_engine_imports_only_downward():
    above = {"procguard.assemble", "procguard.cli", "procguard.control", "procguard.probes",
             "procguard.escalation", "procguard.metrics", "procguard.hooks", "procguard.canary"}
    assert sorted(t for t in graph()["procguard.engine"] if area(t) in above) == []
