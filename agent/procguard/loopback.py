"""Loopback listen addresses ('127.0.0.1:9464', '[::1]:9464'), checked once for everyone.

Ground floor (imports nothing of ours): the settings check `metrics.listen` with it before
the agent starts, and the metrics server parses the same text the same way.
"""

from __future__ import annotations

import socket
from typing import Tuple


def parse_listen(text: str) -> Tuple[str, int]:
    """'127.0.0.1:9464' or '[::1]:9464' -> (host, port); ValueError with the fix otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    fix = "use 127.0.0.1:PORT or [::1]:PORT (metrics are served on loopback only)"
    if not sep or not port.isdigit() or int(port) > 65535:  # 0: any free port (tests)
        raise ValueError(f"metrics listen {text!r} is not HOST:PORT; {fix}")
    try:
        if ":" in host:
            loopback = socket.inet_pton(socket.AF_INET6, host) == socket.inet_pton(socket.AF_INET6, "::1")
        else:
            loopback = socket.inet_pton(socket.AF_INET, host)[0] == 127
    except OSError:
        loopback = False
    if not loopback:
        raise ValueError(f"metrics listen {text!r} is not a loopback address; {fix}")
    return host, int(port)
