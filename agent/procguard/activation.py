"""Socket activation: the agent binds a watch's `start.listen` sockets and holds them, so
they outlive the service. A connection that arrives while the service restarts waits in
the backlog for the next process instead of being refused.

The sockets are bound when a config puts the watch in force, kept while the watch keeps
the address (restarts and reloads), and closed when the watch or the address goes (the
running service keeps its own copy; a unix socket file is left where it is). Each started
process gets all of them (activation_fds.py) or, when one cannot be bound, none: the
service then binds its addresses itself. Binding is retried before each start.

After an agent restart the running service still holds the old agent's sockets, so the
new agent cannot bind them and adopts the service as it is; once that service is gone, the
next start binds them again. That is planned, not a fault: when /proc shows the socket among
the adopted service's own fds (proc/sockets.py), the agent says PG1204 at info. Any other
failure to bind, or an address in use by something else, is PG1202 at err. An address in
use when a config is put in force is judged once the watch's processes are adopted. No SO_REUSEPORT: two sockets on one
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
from .proc.sockets import listens_on
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
        self.units: Mapping[str, WatchUnit] = {}
        # watch -> address text -> (address, reason): in use when the config was put in
        # force, judged once the watch's processes are adopted (or before its next start)
        self.pending: Dict[str, Dict[str, Tuple[ListenAddress, str]]] = {}

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
        self.units = units
        self.pending = {name: waiting for name, waiting in self.pending.items() if name in specs}
        for name, spec in specs.items():
            for sock in self.held.get(name, {}).values():
                sock.listen(spec.backlog)  # a new backlog applies to a held socket at once
            self._bind_missing(name, may_wait=True)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        if unit.name in self.pending and unit.pids:
            for address, reason in self.pending.pop(unit.name).values():
                self._failed(unit.name, address, reason, errno.EADDRINUSE)

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

    def _bind_missing(self, watch: str, may_wait: bool = False) -> None:
        spec = self.specs[watch]
        held = self.held.setdefault(watch, {})
        waiting = self.pending.get(watch, {})
        for address in spec.addresses:
            key = (address.family, address.address)
            if key in held:
                continue
            try:
                held[key] = bind_listening(address, spec.backlog)
            except OSError as exc:
                if may_wait and exc.errno == errno.EADDRINUSE and not self._holder(watch, address):
                    self.pending.setdefault(watch, {})[address.text] = (address, _reason(exc))
                else:
                    waiting.pop(address.text, None)
                    self._failed(watch, address, _reason(exc), exc.errno)
                continue
            waiting.pop(address.text, None)
            self.said.pop((watch, address.text), None)
            self.emit("listen_bound", watch=watch, address=address.text, backlog=spec.backlog)
        if not self.pending.get(watch):
            self.pending.pop(watch, None)

    def _failed(self, watch: str, address: ListenAddress, reason: str, code: Optional[int]) -> None:
        """Say once why `address` is not bound: the watch's own service holds it (planned,
        info), or anything else (err)."""
        holder = self._holder(watch, address) if code == errno.EADDRINUSE else None
        said = f"held by {holder}" if holder else reason
        if self.said.get((watch, address.text)) == said:
            return
        self.said[(watch, address.text)] = said
        if holder:
            self.emit("listen_held_by_service", watch=watch, address=address.text, pid=holder)
        else:
            self.emit("listen_bind_failed", watch=watch, address=address.text, reason=reason)

    def _holder(self, watch: str, address: ListenAddress) -> Optional[int]:
        """The PID of the watch's own process that listens on `address`, if /proc shows one."""
        unit = self.units.get(watch)
        for pid in unit.pids if unit is not None else ():
            if listens_on(pid, address.family, address.address):
                return pid
        return None

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
