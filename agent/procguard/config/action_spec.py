"""Escalation actions and HAProxy agent-check listeners, as typed specs with defaults filled.

Built once, when a validated config is built (model.py); the escalation package runs
them and never parses configuration itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

from ..durations import parse_duration

ACTION_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "command": {},
    "haproxy_agent": {},
    "keepalived": {"weight": -254, "healthy_weight": 0},
    "pacemaker": {"mode": "health", "attribute": "#health-procguard", "value": "red", "healthy_value": "green"},
}


@dataclass(frozen=True)
class ActionSpec:
    """One give-up action as the config wrote it, checked; options kept per type."""

    type: str
    name: str
    timeout: float
    undo_after: float
    options: Dict[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def opt(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class Server:
    """One HAProxy backend server and the watches it depends on, with its three answers."""

    name: str
    watches: Tuple[str, ...]
    healthy: str = "up ready 100%"
    unhealthy: str = "drain"
    gave_up: str = "down"


@dataclass(frozen=True)
class ListenerSpec:
    """The agent-check listener HAProxy asks: where it listens and which servers it answers for."""

    address: str
    port: int
    recover_after: float
    servers: Tuple[Server, ...]


def build_action(cfg: Dict[str, Any], index: int) -> ActionSpec:
    kind = cfg["type"]
    options = dict(ACTION_DEFAULTS[kind])
    options.update({k: v for k, v in cfg.items() if k not in ("type", "name", "timeout", "undo_after")})
    return ActionSpec(
        type=kind,
        name=cfg.get("name") or f"{kind}-{index + 1}",
        timeout=parse_duration(cfg.get("timeout", 30)),
        undo_after=parse_duration(cfg.get("undo_after", 30)),
        options=options,
    )


def _healthy_answer(word: str) -> str:
    if word == "up":
        return "up ready 100%"
    if word.endswith("%"):
        return f"up ready {word}"
    return word


def build_listener(cfg: Dict[str, Any]) -> ListenerSpec:
    servers = tuple(
        Server(s["name"], tuple(s["watches"]), _healthy_answer(s.get("healthy", "up")),
               s.get("unhealthy", "drain"), s.get("gave_up", "down"))
        for s in cfg["servers"]
    )
    return ListenerSpec(cfg.get("address", "127.0.0.1"), int(cfg["port"]),
                        parse_duration(cfg.get("recover_after", 10)), servers)
