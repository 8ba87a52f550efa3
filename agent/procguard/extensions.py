"""Probes and escalation plug into the engine as extensions; this wires them in."""

from __future__ import annotations

from typing import Any, List


def load_extensions(engine: Any) -> List[Any]:
    return []
