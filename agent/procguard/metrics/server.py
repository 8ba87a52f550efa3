"""GET /metrics on a loopback address, from one thread, with every resource bounded.

Optional (settings `metrics: {listen: 127.0.0.1:PORT}`): the textfile is the default way
out. `http.server` would pull in the email and http.client packages (about 2 MiB) for one
route, so this is a small selector loop of our own:

- loopback addresses only (127.0.0.0/8, ::1), refused at construction otherwise;
- at most `max_connections` at once (the next ones are closed at once), a request head
  of at most 8 KiB, `timeout` seconds per connection from accept to the last byte;
- GET /metrics only (404 elsewhere, 405 for other methods); OpenMetrics when the scraper
  asks for it, Prometheus text otherwise; `Connection: close`, the body streamed in chunks.

The thread renders from a registry snapshot, so the loop only pays for the copy.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Dict, Iterator, Optional

from ..loopback import parse_listen
from . import exposition
from .registry import Registry

MAX_HEAD = 8192


class _Conn:
    __slots__ = ("body", "deadline", "head", "out", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.head = b""
        self.out = memoryview(b"")
        self.body: Optional[Iterator[bytes]] = None


class MetricsServer:
    def __init__(self, registry: Registry, listen: str, max_connections: int = 4, timeout: float = 5.0) -> None:
        self.registry = registry
        self.host, self.port = parse_listen(listen)
        self.max_connections = max_connections
        self.timeout = timeout
        self.served = {"text": 0, "openmetrics": 0}  # responses by format, for status and tests
        self._sock: Optional[socket.socket] = None
        self._conns: Dict[int, _Conn] = {}
        self._selector = selectors.DefaultSelector()
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Bind and serve from a thread; OSError (port taken) is raised here, to the caller."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(self.max_connections)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._selector.register(sock, selectors.EVENT_READ)
        self._selector.register(self._stop_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="procguard-metrics-http", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop_w.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout)
        for conn in list(self._conns.values()):
            self._drop(conn)
        for s in (self._sock, self._stop_r, self._stop_w):
            if s is not None:
                s.close()
        self._selector.close()

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            now = time.monotonic()
            for conn in [c for c in self._conns.values() if c.deadline <= now]:
                self._drop(conn)
            soonest = min((c.deadline for c in self._conns.values()), default=None)
            wait = None if soonest is None else max(0.0, soonest - now)  # idle: sleep until a connection
            for key, _events in self._selector.select(wait):
                if key.fileobj is self._stop_r:
                    return
                if key.fileobj is self._sock:
                    self._accept()
                elif key.fd in self._conns:
                    self._step(self._conns[key.fd])

    def _accept(self) -> None:
        assert self._sock is not None
        try:
            sock, _addr = self._sock.accept()
        except OSError:
            return
        if len(self._conns) >= self.max_connections:
            sock.close()  # bounded: a scraper retries at its next interval
            return
        sock.setblocking(False)
        conn = _Conn(sock, time.monotonic() + self.timeout)
        self._conns[sock.fileno()] = conn
        self._selector.register(sock, selectors.EVENT_READ)

    def _step(self, conn: _Conn) -> None:
        try:
            if conn.body is None and not conn.out:
                self._read(conn)
            else:
                self._write(conn)
        except OSError:
            self._drop(conn)

    def _read(self, conn: _Conn) -> None:
        data = conn.sock.recv(MAX_HEAD + 1 - len(conn.head))
        if not data:
            self._drop(conn)
            return
        conn.head += data
        if b"\r\n\r\n" not in conn.head and b"\n\n" not in conn.head:
            if len(conn.head) > MAX_HEAD:
                self._respond(conn, "431 Request Header Fields Too Large", "request head too large\n")
            return
        self._answer(conn)

    def _answer(self, conn: _Conn) -> None:
        lines = conn.head.decode("latin-1").split("\n")
        parts = lines[0].split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._respond(conn, "400 Bad Request", "bad request line\n")
        elif parts[1].split("?", 1)[0] != "/metrics":
            self._respond(conn, "404 Not Found", "only /metrics is served here\n")
        elif parts[0] != "GET":
            self._respond(conn, "405 Method Not Allowed", "only GET\n", "Allow: GET\r\n")
        else:
            accept = next((h.split(":", 1)[1] for h in lines[1:] if h.lower().startswith("accept:")), "")
            openmetrics = "application/openmetrics-text" in accept
            snap = self.registry.snapshot()
            conn.body = exposition.chunks(exposition.lines(snap, openmetrics=openmetrics))
            kind = exposition.OPENMETRICS if openmetrics else exposition.TEXT
            conn.out = memoryview(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nConnection: close\r\n\r\n".encode())
            self.served["openmetrics" if openmetrics else "text"] += 1
            self._selector.modify(conn.sock, selectors.EVENT_WRITE)

    def _respond(self, conn: _Conn, status: str, text: str, extra: str = "") -> None:
        conn.out = memoryview((f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
                               f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n{text}").encode())
        conn.body = iter(())
        self._selector.modify(conn.sock, selectors.EVENT_WRITE)

    def _write(self, conn: _Conn) -> None:
        if not conn.out:
            conn.out = memoryview(next(conn.body, b"") if conn.body is not None else b"")
            if not conn.out:
                self._drop(conn)
                return
        sent = conn.sock.send(conn.out)
        conn.out = conn.out[sent:]

    def _drop(self, conn: _Conn) -> None:
        if self._conns.pop(conn.sock.fileno(), None) is None:
            return
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
