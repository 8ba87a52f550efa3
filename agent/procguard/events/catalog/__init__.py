"""Every message procguard can log, in one place.

Each area keeps its entries in its own module; this package gathers them, checks that IDs
and names are unique, and offers the one lookup: `get(name)` (the emitter uses it; code
emits by name, `emitter.emit("process_died", ...)`).
"""

from __future__ import annotations

from typing import Dict, Tuple

from ..message import Message
from . import config, control, core, escalation, observability, probes, security, services, sockets, trees

ALL: Tuple[Message, ...] = tuple(
    sorted(
        core.MESSAGES + trees.MESSAGES + config.MESSAGES + control.MESSAGES + services.MESSAGES
        + probes.MESSAGES + escalation.MESSAGES + security.MESSAGES + observability.MESSAGES
        + sockets.MESSAGES,
        key=lambda m: m.id,
    )
)
BY_ID: Dict[str, Message] = {m.id: m for m in ALL}
BY_NAME: Dict[str, Message] = {m.name: m for m in ALL}

if len(BY_ID) != len(ALL) or len(BY_NAME) != len(ALL):
    raise RuntimeError("duplicate message id or name in procguard.events.catalog")


def get(name: str) -> Message:
    """The message called `name` (for example 'process_died')."""
    return BY_NAME[name]


def for_refusal(code: str) -> str:
    """The name of the message that reports a refusal with this code."""
    return security.REFUSAL_MESSAGES[code]
