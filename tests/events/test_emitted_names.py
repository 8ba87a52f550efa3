"""Every event the code emits is in the catalog: a name missing from it fails here, not at
run time on some rare path. Emitting is by name (`emit("process_died", ...)`), so the names
can be read straight from the source."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

from procguard.events import catalog

PACKAGE = Path(__file__).resolve().parents[2] / "agent" / "procguard"


def emitted() -> List[Tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "emit" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node.args[0].value))
    return found


def test_every_emitted_name_is_in_the_catalog():
    names = emitted()
    assert len(names) > 60, "the scan finds the emit calls"
    assert [(where, name) for where, name in names if name not in catalog.BY_NAME] == []


def test_every_refusal_code_names_a_catalog_message():
    from procguard.refusal import CODES

    assert all(catalog.for_refusal(code) in catalog.BY_NAME for code in CODES)
