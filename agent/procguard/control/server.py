"""The agent's end of the control socket, driven by the event loop's readers (never blocks).

The socket is created mode 0600 in a 0700 directory, and every client's uid is checked
with SO_PEERCRED: only root (or the agent's own user) may pause or restart services.
Monitoring polls in parallel, so the backlog is the kernel's maximum, every pending
connection is accepted per wake-up, and each client is bounded: MAX_CLIENTS at once, a
request of MAX_REQUEST bytes, CLIENT_TIMEOUT to send it. A reply the kernel cannot take at
once is finished by a short-lived thread, so a slow reader never holds up the loop.
A companion of the engine (observer.Companion): started once the first config is in force.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any, Callable, Dict, Optional, Tuple, Union

from ..loop import Loop
from .protocol import MAX_REQUEST, Later, decode, encode

Handler = Callable[[Dict[str, Any], int], Union[Dict[str, Any], Later]]
MAX_CLIENTS = 256
CLIENT_TIMEOUT = 5.0


class ControlServer:
    def __init__(self, path: str, handler: Handler, on_refused: Callable[[int, str], None], loop: Loop,
                 group: Optional[int] = None) -> None:
        """`group`: a read-only socket (control/readonly.py) is mode 0660 and owned by this
        group, in a folder anyone may traverse; the kernel then lets only root and the group's
        members connect, and every client is served (the handler allows reading only)."""
        self.path = path
        self.handler = handler
        self.on_refused = on_refused
        self.loop = loop
        self.group = group
        self.sock: Optional[socket.socket] = None
        self.clients: Dict[int, Tuple[socket.socket, bytearray]] = {}

    def start(self) -> None:
        path = self.path
        directory = os.path.dirname(path)
        os.makedirs(directory, mode=0o700 if self.group is None else 0o755, exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)  # a stale socket from a killed agent
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        old = os.umask(0o177)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        if self.group is not None:
            os.chown(path, -1, self.group)
        os.chmod(path, 0o600 if self.group is None else 0o660)
        self.sock.listen(socket.SOMAXCONN)
        self.loop.add_reader(self.sock.fileno(), self._accept_ready)

    def reloaded(self) -> None:
        pass

    def _accept_ready(self) -> None:
        while len(self.clients) < MAX_CLIENTS:  # the rest wait in the backlog
            try:
                self.accept()
            except BlockingIOError:
                return

    def accept(self) -> Optional[socket.socket]:
        """Accept one pending connection; BlockingIOError when there is none."""
        assert self.sock is not None
        try:
            conn, _ = self.sock.accept()
        except InterruptedError:
            return None
        conn.setblocking(False)
        uid = self._peer_uid(conn)
        if self.group is None and uid not in (0, os.getuid()):
            self.on_refused(uid, "not root")
            conn.close()
            return None
        fd = conn.fileno()
        self.clients[fd] = (conn, bytearray())
        self.loop.add_reader(fd, lambda: self._serve(fd))
        self.loop.call_later(CLIENT_TIMEOUT, lambda: self._expire(fd, conn))
        return conn

    def _expire(self, fd: int, conn: socket.socket) -> None:
        entry = self.clients.get(fd)
        if entry is not None and entry[0] is conn and fd in self._reading():
            self.drop(fd)  # it never sent a whole request

    def _reading(self) -> Tuple[int, ...]:
        return tuple(fd for fd in self.clients if self.loop.has_reader(fd))

    def _serve(self, fd: int) -> None:
        try:
            self.readable(fd)
        except Exception:  # a bad client must never take the agent down
            self.drop(fd)

    def readable(self, fd: int) -> bool:
        """Read what the client sent; answer once a whole line is in. True when done."""
        conn, buf = self.clients[fd]
        try:
            chunk = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            chunk = b""
        if chunk:
            buf.extend(chunk)
            if b"\n" not in buf and len(buf) < MAX_REQUEST:
                return False
        if not buf:
            self.drop(fd)
            return True
        line = bytes(buf).split(b"\n", 1)[0]
        reply: Union[Dict[str, Any], Later]
        try:
            reply = self.handler(decode(line), self._peer_uid(conn))
        except ValueError as exc:
            reply = {"ok": False, "error": f"bad request: {exc}"}
        if isinstance(reply, Later):  # answered when the work is done; the loop goes on
            self.loop.remove_reader(fd)
            reply.then(lambda answer: self._answer(fd, conn, answer))
            return True
        self._answer(fd, conn, reply)
        return True

    def _answer(self, fd: int, conn: socket.socket, reply: Dict[str, Any]) -> None:
        if self.clients.get(fd, (None,))[0] is not conn:
            return  # gone meanwhile (agent stopping)
        data = encode(reply)
        try:
            sent = conn.send(data)
        except OSError:
            sent = len(data)
        if sent < len(data):
            self._finish_later(fd, data[sent:])
            return
        self.drop(fd)

    def _finish_later(self, fd: int, rest: bytes) -> None:
        """The kernel took part of a large reply: a thread sends the rest and closes."""
        conn, _ = self.clients.pop(fd)
        self.loop.remove_reader(fd)  # a no-op when it waited for a Later

        def send() -> None:
            try:
                conn.setblocking(True)
                conn.settimeout(CLIENT_TIMEOUT)
                conn.sendall(rest)
            except OSError:
                pass
            finally:
                conn.close()
        threading.Thread(target=send, name="control-reply", daemon=True).start()

    def drop(self, fd: int) -> None:
        entry = self.clients.pop(fd, None)
        if entry is not None:
            self.loop.remove_reader(fd)
            entry[0].close()

    def stop(self) -> None:
        for fd in list(self.clients):
            self.drop(fd)
        if self.sock is None:
            return
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.sock = None
        try:
            os.unlink(self.path)
        except OSError:
            pass

    @staticmethod
    def _peer_uid(conn: socket.socket) -> int:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
