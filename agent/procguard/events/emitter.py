"""Send events to journald (natively, with their fields), to syslog (/dev/log) and, in the
foreground, to stderr; then to the sinks (metrics count them, hooks act on them).

We write the datagrams ourselves instead of using the `syslog` module so that the socket
paths and facility are settings, a missing socket never blocks the agent, and a reconnect
after rsyslog or journald restarts is automatic.

One entry in the journal, not two: when /dev/log *is* journald's own socket (Debian's
default: /dev/log -> /run/systemd/journal/dev-log), an event goes to journald natively only.
journald keeps it with MESSAGE_ID and the PROCGUARD_* fields and hands it to the syslog
daemon like every other entry (ForwardToSyslog, or rsyslog's imjournal), so the syslog
files keep their line, once. When /dev/log belongs to a syslog daemon of its own, or
journald does not run, events go to /dev/log as before (and to journald too, if it runs).
"""

from __future__ import annotations

import collections
import os
import socket
import time
from typing import Callable, Deque, Dict, List, Optional, TextIO, Tuple

from . import catalog
from .journald import JournalSender, entry, same_socket
from .message import SEVERITIES, Message

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}

Sink = Callable[[Message, Dict[str, object], str], None]


class Emitter:
    """Renders catalog messages and delivers them; remembers the last ones for snapshots."""

    def __init__(
        self,
        facility: str = "daemon",
        socket_path: str = "/dev/log",
        stderr: Optional[TextIO] = None,
        ident: str = "procguard",
        history: int = 200,
        monotonic_stamps: bool = False,
        journal_socket: str = "",
    ) -> None:
        if facility not in FACILITIES:
            raise ValueError(f"unknown syslog facility {facility!r}; use one of {', '.join(FACILITIES)}")
        self.facility = FACILITIES[facility]
        self.socket_path = socket_path
        self.stderr = stderr
        self.ident = ident
        self.monotonic_stamps = monotonic_stamps  # for benchmarks: CLOCK_MONOTONIC is system-wide
        self.sinks: List[Sink] = []
        self.recent: Deque[Tuple[float, str]] = collections.deque(maxlen=history)
        self._sock: Optional[socket.socket] = None
        self.journal = JournalSender(journal_socket) if journal_socket else None
        self._syslog_is_journal: Optional[bool] = None  # decided once journald answers

    def emit(self, name: str, **fields: object) -> str:
        """Log the catalog message called `name` (a KeyError names an event missing from it)."""
        msg = catalog.get(name)
        line = msg.render(fields)
        self.recent.append((time.time(), line))
        if self.journal is not None and self.journal.send(entry(msg, fields, line, self.ident, self.facility)):
            if self._syslog_is_journal is None:
                self._syslog_is_journal = same_socket(self.socket_path, self.journal.dev_log)
            if not self._syslog_is_journal:
                self._to_syslog(msg, line)
        else:
            self._syslog_is_journal = None
            self._to_syslog(msg, line)
        if self.stderr is not None:
            stamp = f"{time.monotonic():.6f}" if self.monotonic_stamps else time.strftime("%H:%M:%S")
            print(f"{stamp} {msg.severity:<7} {line}", file=self.stderr, flush=True)
        for sink in self.sinks:
            sink(msg, fields, line)
        return line

    def _to_syslog(self, msg: Message, line: str) -> None:
        if not self.socket_path:
            return
        pri = self.facility * 8 + SEVERITIES[msg.severity]
        stamp = time.strftime("%b %e %H:%M:%S")
        data = f"<{pri}>{stamp} {self.ident}[{os.getpid()}]: {line}".encode("utf-8", "replace")
        for _attempt in (1, 2):
            try:
                if self._sock is None:
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                    sock.setblocking(False)
                    sock.connect(self.socket_path)
                    self._sock = sock
                self._sock.send(data)
                return
            except BlockingIOError:
                return  # syslog is saturated: dropping beats blocking the loop
            except OSError:
                self._close_syslog()  # rsyslog restarted or is absent: reconnect once

    def _close_syslog(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self._close_syslog()
        if self.journal is not None:
            self.journal.close()

