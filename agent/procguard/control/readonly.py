"""A second control socket that only reads, for a group (settings `read_only: {group, socket}`).

A monitoring agent's user joins the group (for example `procguard-read`) and may ask
`procguard status` and `procguard metrics`; everything else (pause, resume, restart,
reload) stays on the root-only control socket. The kernel does the access check: the
socket is mode 0660, owned by root and the group, in a folder anyone may traverse, so only
root and the group's members can connect at all (SO_PEERCRED is not needed, and a
supplementary group counts). Whoever connects here is answered only the read commands.

A Companion of the engine (observer.py). A missing group or an unusable path is logged
(PG7031) and the agent runs on with its root-only socket.
"""

from __future__ import annotations

import grp
import os
import stat
from typing import Any, Callable, Dict, Optional, Union

from ..loop import Loop
from .protocol import Later
from .server import ControlServer, Handler

READ_COMMANDS = ("status", "metrics")


class ReadOnlyControl:
    def __init__(self, path: str, group: str, handler: Handler, emit: Callable[..., None], loop: Loop) -> None:
        self.path = path
        self.group = group
        self.handler = handler
        self.emit = emit
        self.loop = loop
        self.server: Optional[ControlServer] = None

    def start(self) -> None:
        try:
            gid = grp.getgrnam(self.group).gr_gid
            if os.path.lexists(self.path) and not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise OSError(f"{self.path} exists and is not a socket; remove it or pick another path")
            server = ControlServer(self.path, self.handle, self._refused, self.loop, group=gid)
            server.start()
        except (KeyError, OSError) as exc:
            why = f"no group {self.group!r} on this host" if isinstance(exc, KeyError) else (exc.strerror or str(exc))
            self.emit("read_only_failed", socket=self.path, group=self.group, reason=why)
            return
        self.server = server
        self.emit("read_only_listening", socket=self.path, group=self.group)

    def handle(self, request: Dict[str, Any], uid: int) -> Union[Dict[str, Any], Later]:
        cmd = request.get("cmd")
        if cmd not in READ_COMMANDS:
            self._refused(uid, f"read-only socket: {cmd}")
            return {"ok": False, "error": f"{self.path} answers {' and '.join(READ_COMMANDS)} only; "
                                          "ask root to use the control socket for anything else"}
        return self.handler(request, uid)

    def _refused(self, uid: int, why: str) -> None:
        self.emit("control_refused", uid=uid, reason=why)

    def reloaded(self) -> None:
        pass

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
