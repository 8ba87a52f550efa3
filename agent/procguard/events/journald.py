"""Events into systemd's journal through its native socket, with MESSAGE_ID and our fields.

No python-systemd (the agent's dependencies stay stdlib, PyYAML, cryptography, requests):
the protocol is one datagram to /run/systemd/journal/socket holding `KEY=value` lines; a
value with a newline goes as `KEY`, newline, its length as a 64-bit little-endian number,
the bytes and a newline. An entry too large for one datagram is written to a sealed memfd
whose descriptor is sent alone (SCM_RIGHTS), which is what sd_journal_send() does.

Each entry carries MESSAGE (the same line syslog gets), MESSAGE_ID (journald_ids.py),
PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER, PROCGUARD_ID and one PROCGUARD_<FIELD> per
field, so `journalctl MESSAGE_ID=...` and `journalctl PROCGUARD_WATCH=web` find events and
`journalctl -x` shows the catalog's explanation.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import socket
import struct
from typing import Dict, List, Optional, Tuple

from .journald_ids import field_name, journald_id
from .message import SEVERITIES, Message

Field = Tuple[str, str]


def entry(msg: Message, fields: Dict[str, object], line: str, ident: str, facility: int) -> List[Field]:
    """The journal fields of one event, in a stable order."""
    out = [("MESSAGE", line), ("MESSAGE_ID", journald_id(msg)), ("PRIORITY", str(SEVERITIES[msg.severity])),
           ("SYSLOG_FACILITY", str(facility)), ("SYSLOG_IDENTIFIER", ident), ("PROCGUARD_ID", msg.id)]
    for key, value in fields.items():
        if value is not None:
            out.append((field_name(key), str(value)))
    return out


def encode(fields: List[Field]) -> bytes:
    """The native protocol's datagram for these fields."""
    parts = []
    for key, value in fields:
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            parts.append(key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n")
        else:
            parts.append(key.encode() + b"=" + data + b"\n")
    return b"".join(parts)


def same_socket(a: str, b: str) -> bool:
    """Do two paths name the same socket (a symlink such as /dev/log, or a bind mount)?"""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


class JournalSender:
    """Sends entries while journald listens; `send` says whether it took the entry, so the
    emitter can fall back to syslog when journald is not running (or stopped)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock: Optional[socket.socket] = None

    def send(self, fields: List[Field]) -> bool:
        data = encode(fields)
        try:
            if self._sock is None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sock.setblocking(False)
                try:
                    sock.connect(self.path)
                except OSError:
                    sock.close()
                    raise
                self._sock = sock
            self._sock.send(data)
            return True
        except BlockingIOError:
            return True  # journald is saturated: dropping beats blocking the loop
        except OSError as exc:
            if exc.errno in (errno.EMSGSIZE, errno.ENOBUFS) and self._sock is not None:
                return self._send_memfd(data)
            self.close()  # journald is absent or restarted: the next entry connects again
            return False

    def _send_memfd(self, data: bytes) -> bool:
        assert self._sock is not None
        fd = os.memfd_create("procguard-journal", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.write(fd, data)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
                        | fcntl.F_SEAL_SEAL)
            self._sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    @property
    def dev_log(self) -> str:
        """journald's own syslog socket, beside its native one (/run/systemd/journal/dev-log)."""
        return os.path.join(os.path.dirname(self.path), "dev-log")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
