"""The agent carries no `inspect` (with ast, dis and tokenize: about 0.8 MiB resident) that
it never calls: agent/procguard/lazy_stdlib.py hands `dataclasses` a stand-in, and every
dataclass of ours has a docstring, so `dataclasses` never needs the real module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from helpers.agent import child_env

PACKAGE = Path(__file__).resolve().parents[2] / "agent" / "procguard"
HEAVY = ("inspect", "ast", "dis", "tokenize")


def is_dataclass_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass")


def test_every_dataclass_has_a_docstring():
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.ClassDef) and any(map(is_dataclass_decorator, node.decorator_list))
                    and ast.get_docstring(node) is None):
                missing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}")
    assert not missing, "a dataclass without a docstring makes dataclasses load inspect: " + ", ".join(missing)


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_agent_command_imports_no_inspect():
    """Everything `procguard agent` imports before it runs (every command module, the
    composition root and all it builds from) leaves the heavy modules out."""
    loaded = run_python("import sys, procguard.cli.main, procguard.assemble; "
                        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == ""


def test_a_dataclass_without_docstring_still_gets_one_and_inspect_stays_whole():
    """The stand-in is transparent: whoever needs inspect gets the real module."""
    out = run_python("import procguard.cli, dataclasses, sys\n"
                     "@dataclasses.dataclass\nclass Point:\n    x: int\n"
                     "import inspect\n"
                     "print(Point.__doc__, inspect.signature(Point), type(sys.modules['inspect']).__name__, "
                     "hasattr(inspect, 'getsource'))")
    assert out == "Point(x: int) (x: int) -> None module True"
