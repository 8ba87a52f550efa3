"""`dataclasses` without `inspect` until something really asks for it.

`dataclasses` imports `inspect` (and with it `ast`, `dis`, `tokenize` and `linecache`:
about 0.8 MiB resident on Debian's Python 3.11) for one call: `inspect.signature`, to
write the `__doc__` of a dataclass that has no docstring. Every dataclass of ours has
one (tests/architecture/test_lazy_stdlib.py checks), so the agent, which runs for months,
would carry those modules and never use them.

`import_dataclasses()` imports `dataclasses` while `sys.modules["inspect"]` is a stand-in
whose attributes are looked up in the real `inspect`, imported on the first lookup (PEP 562),
and then takes the stand-in away again: only `dataclasses` holds it, and anyone else who
imports `inspect` gets the real module. importlib's LazyLoader cannot do this on Python 3.11:
`import inspect` itself reads the module's `__spec__` and so loads it.

Ground floor: imports nothing of ours.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def _real_inspect_attribute(name: str) -> Any:
    return getattr(importlib.import_module("inspect"), name)


def import_dataclasses() -> bool:
    """Import `dataclasses` with a lazy `inspect`; False if either was imported already (then
    nothing changes). Call it before anything imports `dataclasses`."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return False
    stand_in = types.ModuleType("inspect", "stands in for inspect; loads it on first use")
    stand_in.__getattr__ = _real_inspect_attribute  # type: ignore[method-assign]
    sys.modules["inspect"] = stand_in
    try:
        importlib.import_module("dataclasses")
    finally:
        if sys.modules.get("inspect") is stand_in:
            del sys.modules["inspect"]
    return True
