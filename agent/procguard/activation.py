"""Socket activation: the agent binds a watch's `start.listen` sockets and holds them, so
they outlive the service. A connection that arrives while the service restarts waits in
the backlog for the next process instead of being refused.

The sockets are bound when a config puts the watch in force, kept while the watch keeps
the address (restarts and reloads), and closed when the watch or the address goes (the
running service keeps its own copy; a unix socket file is left where it is). Each started
process gets all of them (activation_fds.py) or, when one cannot be bound, none: the
service then binds its addresses itself. Binding is retried before each start.

After an agent restart the running service still holds the old agent's sockets, so the
new agent cannot bind them (PG1202, address in use) and adopts the service as it is; once
that service is gone, the next start binds them again. No SO_REUSEPORT: two sockets on one
port would split connections between the old and new processes behind the operator's back.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from dataclasses import replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .config.listen_spec import ListenAddress, ListenSpec
from .config.model import Config, Start
from .spawn import Launch, Spawned, Spawner
from .unit import WatchUnit

Key = Tuple[int, Any]


def bind_listening(address: ListenAddress, backlog: int) -> socket.socket:
    """A listening socket on `address`; OSError says why not. Never blocks."""
    sock = socket.socket(address.family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        if address.family == socket.AF_UNIX:
            _clear_stale(str(address.address))
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # only past TIME_WAIT
            if address.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address.address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _clear_stale(path: str) -> None:
    """Remove a unix socket file nobody listens on (left by an ended process); refuse to
    take one that is in use or a file that is not a socket."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "exists and is not a socket; remove it or choose another path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        os.unlink(path)
        return
    except BlockingIOError:
        pass  # a full backlog: someone listens
    except OSError:
        return  # let bind() say what is wrong
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, "in use by another process")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


class ListenSockets:
    """A WatchObserver holding every watch's listening sockets, and the source of the fds
    a start passes on (ActivatingSpawner)."""

    def __init__(self, emit: Callable[..., None]) -> None:
        self.emit = emit
        self.specs: Dict[str, ListenSpec] = {}
        self.held: Dict[str, Dict[Key, socket.socket]] = {}
        self.said: Dict[Tuple[str, str], str] = {}  # (watch, address) -> the failure last reported

    # ---------------------------------------------------------------- WatchObserver
    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        specs = {w.name: w.start.listen for w in config.watches
                 if w.start is not None and not w.systemd_unit and w.start.listen.addresses}
        for name in list(self.held):
            keep = {(a.family, a.address) for a in specs[name].addresses} if name in specs else set()
            for key in [k for k in self.held[name] if k not in keep]:
                self._close(name, key)
            if not self.held[name]:
                del self.held[name]
        self.specs = specs
        for name, spec in specs.items():
            for sock in self.held.get(name, {}).values():
                sock.listen(spec.backlog)  # a new backlog applies to a held socket at once
            self._bind_missing(name)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        pass

    def env_for(self, watch: str) -> Mapping[str, str]:
        return {}

    def status_of(self, watch: str) -> Mapping[str, Any]:
        spec = self.specs.get(watch)
        if spec is None:
            return {}
        held = self.held.get(watch, {})
        return {"listen": [{"address": a.text, "held": (a.family, a.address) in held} for a in spec.addresses]}

    def shutdown(self) -> None:
        for name in list(self.held):
            for sock in self.held.pop(name).values():
                sock.close()  # the running service keeps its own copies

    # ---------------------------------------------------------------- for a start
    def fds_for(self, watch: str) -> Tuple[Tuple[int, ...], Tuple[str, ...]]:
        """The fds a new process of `watch` gets, in config order: all of its sockets, or
        none when one cannot be bound (its held ones are then let go, so that the service
        can bind every address itself)."""
        spec = self.specs.get(watch)
        if spec is None:
            return (), ()
        self._bind_missing(watch)
        held = self.held.get(watch, {})
        if len(held) < len(spec.addresses):
            for key in list(held):
                self._close(watch, key, quiet=True)
            return (), ()
        return tuple(held[(a.family, a.address)].fileno() for a in spec.addresses), (watch,) * len(held)

    def _bind_missing(self, watch: str) -> None:
        spec = self.specs[watch]
        held = self.held.setdefault(watch, {})
        for address in spec.addresses:
            key = (address.family, address.address)
            if key in held:
                continue
            try:
                held[key] = bind_listening(address, spec.backlog)
            except OSError as exc:
                reason = _reason(exc)
                if self.said.get((watch, address.text)) != reason:
                    self.said[(watch, address.text)] = reason
                    self.emit("listen_bind_failed", watch=watch, address=address.text, reason=reason)
                continue
            self.said.pop((watch, address.text), None)
            self.emit("listen_bound", watch=watch, address=address.text, backlog=spec.backlog)

    def _close(self, watch: str, key: Key, quiet: bool = False) -> None:
        sock = self.held[watch].pop(key)
        sock.close()
        if not quiet:
            host, port = (key[1], 0) if isinstance(key[1], str) else key[1]
            text = host if not port else (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
            self.emit("listen_closed", watch=watch, address=text)


class ActivatingSpawner:
    """A Spawner that hands a watch's held sockets to each process it starts."""

    def __init__(self, inner: Spawner, sockets: ListenSockets) -> None:
        self.inner = inner
        self.sockets = sockets

    def spawn(self, watch: str, start: Start, extra_env: Dict[str, str],
              launch: Optional[Launch] = None) -> Spawned:
        if start.listen.addresses:
            fds, names = self.sockets.fds_for(watch)
            launch = replace(launch or Launch(), listen=fds, listen_names=names)
        return self.inner.spawn(watch, start, extra_env, launch)


def wire(observers: List[Any], spawner: Spawner, emit: Callable[..., None]) -> Spawner:
    """Add socket activation to an engine's observers; the spawner to use from now on."""
    sockets = ListenSockets(emit)
    observers.append(sockets)
    return ActivatingSpawner(spawner, sockets)
