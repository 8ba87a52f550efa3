"""An event hook as a typed spec, built once with the config (model.py); the hooks package
runs it and never parses configuration itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple

from ..durations import parse_duration
from ..events.message import SEVERITIES

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class HookSpec:
    """One event hook: which events fire it, and the command or URL it runs."""

    name: str
    events: FrozenSet[str]
    severity: Optional[int]           # fires at this syslog severity or worse (lower)
    watches: FrozenSet[str]           # empty: any event
    argv: Tuple[str, ...]             # a command hook
    env: Tuple[Tuple[str, str], ...]
    url: Optional[str]                # a URL hook
    headers: Tuple[Tuple[str, str], ...]
    timeout: float

    def matches(self, message_id: str, severity: str, fields: Mapping[str, object]) -> bool:
        """Does an event with this ID, severity and fields fire the hook?"""
        if message_id not in self.events and (self.severity is None or SEVERITIES[severity] > self.severity):
            return False
        return not self.watches or fields.get("watch") in self.watches


def build_hook(cfg: Dict[str, Any]) -> HookSpec:
    severity = cfg.get("severity")
    return HookSpec(
        name=cfg["name"],
        events=frozenset(cfg.get("events", ())),
        severity=None if severity is None else SEVERITIES[severity],
        watches=frozenset(cfg.get("watches", ())),
        argv=tuple(cfg.get("command", ())),
        env=tuple(sorted((cfg.get("env") or {}).items())),
        url=cfg.get("url"),
        headers=tuple(sorted((cfg.get("headers") or {}).items())),
        timeout=parse_duration(cfg.get("timeout", DEFAULT_TIMEOUT)),
    )
