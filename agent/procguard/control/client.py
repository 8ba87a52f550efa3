"""The CLI's end of the control socket."""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Dict, Optional

from ..settings import READ_ONLY_SOCKET
from .protocol import decode, encode

DEFAULT_SOCKET = "/run/procguard/control.sock"


class AgentUnreachable(Exception):
    pass


def socket_path(given: Optional[str] = None) -> str:
    return given or os.environ.get("PROCGUARD_SOCKET") or DEFAULT_SOCKET


def _connect(sock: socket.socket, target: str, deadline: float) -> None:
    """Connect, waiting while the agent's backlog is full (EAGAIN) rather than failing:
    monitoring systems ask in parallel, and the agent answers them one loop turn apart."""
    pause = 0.005
    while True:
        try:
            sock.connect(target)
            return
        except BlockingIOError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def request(message: Dict[str, Any], path: Optional[str] = None, timeout: float = 60.0) -> Dict[str, Any]:
    target = socket_path(path)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            _connect(sock, target, time.monotonic() + timeout)
            sock.sendall(encode(message))
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except FileNotFoundError:
        raise AgentUnreachable(f"{target}: no agent is listening (is procguard running? start it, or pass --socket)") from None
    except PermissionError:
        raise AgentUnreachable(f"{target}: permission denied; run as root (status and metrics: as a member of "
                               "the read_only group, see docs/observability.md)") from None
    except OSError as exc:
        raise AgentUnreachable(f"{target}: {exc.strerror or exc}") from None
    if not data:
        raise AgentUnreachable(f"{target}: the agent closed the connection without answering")
    return decode(data)


def request_read(message: Dict[str, Any], path: Optional[str] = None, timeout: float = 60.0) -> Dict[str, Any]:
    """A read command (status, metrics): with no socket named, a user who may not use the
    control socket (not root) is answered on the read-only socket, when there is one."""
    try:
        return request(message, path, timeout)
    except AgentUnreachable:
        if path or os.environ.get("PROCGUARD_SOCKET") or not os.path.exists(READ_ONLY_SOCKET) or os.geteuid() == 0:
            raise
    return request(message, READ_ONLY_SOCKET, timeout)
