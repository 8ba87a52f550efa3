"""The control protocol: one JSON object per line each way, one request per connection.

Requests: {"cmd": "status"}, {"cmd": "pause", "watch": NAME|"*", "for": SECONDS|null},
{"cmd": "resume", "watch": NAME|"*"}, {"cmd": "restart", "watch": NAME}, {"cmd": "reload"},
{"cmd": "signal", "watch": NAME, "signal": "HUP"}, {"cmd": "reload-service", "watch": NAME}.
Replies: {"ok": true, ...} or {"ok": false, "error": "one line"}. A command that takes
time (a reload command) answers later: its handler returns a Deferred.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional

MAX_REQUEST = 64 * 1024


def encode(message: Dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def decode(data: bytes) -> Dict[str, Any]:
    value = json.loads(data.decode())
    if not isinstance(value, dict):
        raise ValueError("a request is a JSON object")
    return value


class Deferred:
    """An answer that comes later, on the loop thread: `resolve(reply)` sends it."""

    def __init__(self) -> None:
        self._send: Optional[Callable[[Dict[str, Any]], None]] = None
        self._reply: Optional[Dict[str, Any]] = None

    def then(self, send: Callable[[Dict[str, Any]], None]) -> None:
        self._send = send
        if self._reply is not None:
            send(self._reply)

    def resolve(self, reply: Dict[str, Any]) -> None:
        self._reply = reply
        if self._send is not None:
            self._send(reply)
