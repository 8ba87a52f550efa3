"""HAProxy agent-check listener: answers `up ready 100%`, `drain`, `down`, `maint` or a
weight for each backend server, from the health of the watches the server depends on.

HAProxy connects to `agent-addr:agent-port` every `agent-inter`, sends the `agent-send`
string if configured, and reads one line. One listener can serve several servers: HAProxy
then sends the server's name (`agent-send "web01\\n"`); a listener with one server answers
at once without reading.

Health comes from the engine through `set_health` (loop thread); answers are computed at
each connection (listener thread) from that state under a lock.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from ..config.action_spec import Server

READ_WAIT = 0.25     # how long to wait for agent-send when a listener serves several servers
RANK = {"healthy": 0, "unhealthy": 1, "gave_up": 2}


@dataclass
class _Health:
    """What the agent-check answers for one server: healthy, or drained after a give-up."""

    healthy: bool
    gave_up: bool
    gave_up_until: float = 0.0      # monotonic: still answered as gave up until then


class HealthBoard:
    """Health of watches as the engine reports it, shared by all listeners."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.health: Dict[str, _Health] = {}
        self.override: Dict[str, str] = {}          # watch -> answer forced by an escalation

    def set(self, watch: str, healthy: bool, gave_up: bool, recover_after: float) -> None:
        """`gave_up_until` is inf while the give-up is in force; once the watch is healthy
        and no longer given up, it holds for `recover_after` more (reset by any failure)."""
        now = time.monotonic()
        with self.lock:
            old = self.health.get(watch)
            until = old.gave_up_until if old is not None else 0.0
            if gave_up or not healthy:
                if gave_up or until > now:
                    until = float("inf")
            elif until == float("inf"):
                until = now + recover_after
            self.health[watch] = _Health(healthy, gave_up, until)

    def level(self, watch: str, now: float) -> Tuple[str, Optional[str]]:
        h = self.health.get(watch)
        if watch in self.override:
            return "gave_up", self.override[watch]
        if h is None:
            return "unhealthy", None                # not reported yet: do not send traffic
        if h.gave_up_until > now:
            return "gave_up", None
        if not h.healthy:
            return "unhealthy", None
        return "healthy", None

    def answer(self, server: Server) -> str:
        now = time.monotonic()
        worst, forced = "healthy", None
        with self.lock:
            for watch in server.watches:
                level, force = self.level(watch, now)
                if RANK[level] > RANK[worst] or (level == worst == "gave_up" and force):
                    worst, forced = level, force or forced
        if worst == "gave_up":
            return forced or server.gave_up
        return server.unhealthy if worst == "unhealthy" else server.healthy


class AgentListener(threading.Thread):
    def __init__(self, address: str, port: int, servers: Tuple[Server, ...], board: HealthBoard,
                 on_answer: Callable[[Server, str], None]) -> None:
        super().__init__(name=f"haproxy-agent:{address}:{port}", daemon=True)
        self.address, self.port, self.servers, self.board = address, port, servers, board
        self.on_answer = on_answer
        self.by_name = {s.name: s for s in servers}
        self.last: Dict[str, str] = {}
        self._halt = threading.Event()
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((address, port))
            self.sock.listen(128)
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def stop(self) -> None:
        self._halt.set()

    def pick(self, sent: bytes) -> Optional[Server]:
        name = sent.decode("utf-8", "replace").strip()
        if name in self.by_name:
            return self.by_name[name]
        if "default" in self.by_name:
            return self.by_name["default"]
        return self.servers[0] if len(self.servers) == 1 else None

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, None)
        pending: Dict[socket.socket, Tuple[float, bytes]] = {}
        try:
            while not self._halt.is_set():
                now = time.monotonic()
                waits = [d - now for d, _ in pending.values()]
                timeout = max(0.0, min([0.2] + waits))
                for key, _ev in sel.select(timeout):
                    if key.data is None:
                        self._accept(sel, pending)
                    else:
                        self._read(sel, pending, key.fileobj)
                now = time.monotonic()
                for conn, (deadline, data) in list(pending.items()):
                    if now >= deadline:
                        self._reply(sel, pending, conn, data)
        finally:
            for conn in list(pending):
                conn.close()
            sel.close()
            self.sock.close()

    def _accept(self, sel: selectors.BaseSelector, pending: Dict[Any, Tuple[float, bytes]]) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            if len(self.servers) == 1:
                self._send(conn, self.servers[0])
                continue
            pending[conn] = (time.monotonic() + READ_WAIT, b"")
            sel.register(conn, selectors.EVENT_READ, "conn")

    def _read(self, sel: selectors.BaseSelector, pending: Dict[Any, Tuple[float, bytes]], conn: Any) -> None:
        deadline, data = pending[conn]
        try:
            chunk = conn.recv(256)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        data += chunk
        if not chunk or b"\n" in data or len(data) >= 256:
            self._reply(sel, pending, conn, data)
        else:
            pending[conn] = (deadline, data)

    def _reply(self, sel: selectors.BaseSelector, pending: Dict[Any, Tuple[float, bytes]], conn: Any,
               data: bytes) -> None:
        pending.pop(conn, None)
        sel.unregister(conn)
        server = self.pick(data.split(b"\n")[0])
        if server is None:
            conn.close()
            return
        self._send(conn, server)

    def _send(self, conn: socket.socket, server: Server) -> None:
        answer = self.board.answer(server)
        try:
            conn.send(answer.encode() + b"\n")
        except OSError:
            pass
        finally:
            conn.close()
        if self.last.get(server.name) != answer:
            self.last[server.name] = answer
            self.on_answer(server, answer)
