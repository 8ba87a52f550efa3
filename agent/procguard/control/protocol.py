"""The control protocol: one JSON object per line each way, one request per connection.

Requests: {"cmd": "status"}, {"cmd": "pause", "watch": NAME|"*", "for": SECONDS|null},
{"cmd": "resume", "watch": NAME|"*"}, {"cmd": "restart", "watch": NAME}, {"cmd": "reload"}.
Replies: {"ok": true, ...} or {"ok": false, "error": "one line"}.
"""

from __future__ import annotations

import json
from typing import Any, Dict

MAX_REQUEST = 64 * 1024


def encode(message: Dict[str, Any]) -> bytes:
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def decode(data: bytes) -> Dict[str, Any]:
    """One message; ValueError (one line) for anything that is not a JSON object."""
    try:
        value = json.loads(data.decode())
    except RecursionError:  # `[[[[...` nested deeper than the interpreter's stack
        raise ValueError("a request is nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("a request is a JSON object")
    return value
