"""Loopback ports and HAProxy's runtime API, for tests that start real peers."""

from __future__ import annotations

import socket
from typing import Dict


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def haproxy_command(sock_path: str, command: str) -> str:
    """Send one command to HAProxy's stats socket and read the whole answer."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        s.connect(sock_path)
        s.sendall(command.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


def server_status(sock_path: str, backend: str = "be") -> Dict[str, str]:
    """{server: status} from `show stat`: UP, "DOWN (agent)", "DRAIN (agent)", MAINT..."""
    lines = haproxy_command(sock_path, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(head, line.split(","))) for line in lines[1:] if line]
    return {r["svname"]: r["status"] for r in rows
            if r.get("pxname") == backend and r.get("svname") not in ("BACKEND", "FRONTEND", None)}
