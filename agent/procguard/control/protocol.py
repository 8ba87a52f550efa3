"""The control protocol: one JSON object per line each way, one request per connection.

Requests: {"cmd": "status"}, {"cmd": "pause", "watch": NAME|"*", "for": SECONDS|null},
{"cmd": "resume", "watch": NAME|"*"}, {"cmd": "restart", "watch": NAME}, {"cmd": "reload"}.
Replies: {"ok": true, ...} or {"ok": false, "error": "one line"}.
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


class Later:
    """A reply that comes after the loop has done more work (a reload waiting for its check).
    The server keeps the client's connection open and answers once it is resolved."""

    def __init__(self) -> None:
        self._reply: Optional[Dict[str, Any]] = None
        self._then: Optional[Callable[[Dict[str, Any]], None]] = None

    def resolve(self, reply: Dict[str, Any]) -> None:
        self._reply = reply
        if self._then is not None:
            self._then(reply)

    def then(self, fn: Callable[[Dict[str, Any]], None]) -> None:
        self._then = fn
        if self._reply is not None:
            fn(self._reply)
