"""journald's stdout stream protocol: connect to its socket, send a short header, and the
socket becomes the service's stdout (or stderr). journald then logs each line with the
watch's name as SYSLOG_IDENTIFIER, at the priority the header names."""

from __future__ import annotations

import os
import socket

STREAM_SOCKET = "/run/systemd/journal/stdout"
STDOUT_PRIORITY = 6   # info
STDERR_PRIORITY = 4   # warning: what a service says on stderr stands out


def journal_running(path: str = STREAM_SOCKET) -> bool:
    return os.path.exists(path)


def open_stream(identifier: str, priority: int, path: str = STREAM_SOCKET) -> int:
    """A connected stream socket (fd) with the header sent; OSError when journald is away."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
        sock.shutdown(socket.SHUT_RD)
        # identifier, unit id (none), priority, level prefix, forward to syslog, kmsg, console
        sock.sendall(f"{identifier}\n\n{priority}\n0\n0\n0\n0\n".encode())
    except OSError:
        sock.close()
        raise
    return sock.detach()
