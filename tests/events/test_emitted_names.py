"""Every event the code emits is in the catalog: a name missing from it fails here, not at
run time on some rare path. Emitting is by name (`emit("process_died", ...)`), so the names
can be read straight from the source."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

from procguard.events import catalog

PACKAGE = Path(__file__).resolve().parents[2] / "agent" / "procguard"


def emit_calls() -> List[Tuple[str, str, List[str]]]:
    """(where, message name, field names given) for every emit("name", ...) in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "emit" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                fields = [k.arg for k in node.keywords if k.arg is not None]
                for k in node.keywords:
                    if k.arg is None and isinstance(k.value, ast.Dict):
                        fields += [key.value for key in k.value.keys if isinstance(key, ast.Constant)]
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node.args[0].value, fields))
    return found


def emitted() -> List[Tuple[str, str]]:
    return [(where, name) for where, name, _fields in emit_calls()]


def test_every_emitted_name_is_in_the_catalog():
    names = emitted()
    assert len(names) > 60, "the scan finds the emit calls"
    assert [(where, name) for where, name in names if name not in catalog.BY_NAME] == []


def test_every_field_the_code_emits_is_listed_in_the_catalog():
    """A field a log watcher cannot find in docs/messages.md is a field nobody parses."""
    missing = [(where, name, field) for where, name, fields in emit_calls() if name in catalog.BY_NAME
               for field in fields if field not in catalog.BY_NAME[name].fields]
    assert missing == []


def test_every_refusal_code_names_a_catalog_message():
    from procguard.refusal import CODES

    assert all(catalog.for_refusal(code) in catalog.BY_NAME for code in CODES)
