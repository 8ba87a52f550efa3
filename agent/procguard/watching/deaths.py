"""Notice a watched process's death: at once through a pidfd, or by polling as a fallback.

A pidfd refers to one process, not to a PID, so once it is open and the process's start
time is confirmed, a later PID reuse can never be mistaken for our process. The pidfd
becomes readable the moment the process exits, whoever its parent is.
"""

from __future__ import annotations

import os
import select
from typing import Dict, List, Optional, Protocol

from ..proc import procfs
from ..proc.procfs import Identity


class Watcher(Protocol):
    """What the engine needs of a death detector."""

    kind: str
    poll_interval: Optional[float]

    def add(self, identity: Identity) -> bool: ...
    def remove(self, pid: int) -> None: ...
    def pidfd_of(self, pid: int) -> Optional[int]: ...
    def on_ready(self, fd: int) -> Optional[Identity]: ...
    def poll_dead(self) -> List[Identity]: ...
    def close(self) -> None: ...


class PidfdWatcher:
    """Registers one pidfd per watched process in the engine's epoll."""

    kind = "pidfd"
    poll_interval: Optional[float] = None

    def __init__(self, epoll: select.epoll) -> None:
        self._epoll = epoll
        self._by_fd: Dict[int, Identity] = {}
        self._by_pid: Dict[int, int] = {}

    @staticmethod
    def available() -> bool:
        if not hasattr(os, "pidfd_open"):
            return False
        try:
            os.close(os.pidfd_open(os.getpid()))
            return True
        except OSError:
            return False

    def add(self, identity: Identity) -> bool:
        """Start watching; False when the process is already gone or is not `identity`."""
        if identity.pid in self._by_pid:
            return True
        try:
            fd = os.pidfd_open(identity.pid)
        except ProcessLookupError:
            return False
        if not procfs.is_same(identity):  # checked after opening: the fd now pins the process
            os.close(fd)
            return False
        self._epoll.register(fd, select.EPOLLIN)
        self._by_fd[fd] = identity
        self._by_pid[identity.pid] = fd
        return True

    def remove(self, pid: int) -> None:
        fd = self._by_pid.pop(pid, None)
        if fd is not None:
            self._by_fd.pop(fd, None)
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass
            os.close(fd)

    def pidfd_of(self, pid: int) -> Optional[int]:
        """The pidfd we hold for `pid`: signals sent through it cannot hit a reused PID."""
        return self._by_pid.get(pid)

    def on_ready(self, fd: int) -> Optional[Identity]:
        """The process behind a readable pidfd has exited."""
        identity = self._by_fd.get(fd)
        if identity is not None:
            self.remove(identity.pid)
        return identity

    def poll_dead(self) -> List[Identity]:
        return []

    def close(self) -> None:
        for pid in list(self._by_pid):
            self.remove(pid)


class PollWatcher:
    """Fallback for kernels without pidfd_open: reads /proc/PID/stat of each watched PID."""

    kind = "poll"

    def __init__(self, interval: float = 0.5) -> None:
        self.poll_interval: Optional[float] = interval
        self._watched: Dict[int, Identity] = {}

    def add(self, identity: Identity) -> bool:
        if not procfs.is_same(identity):
            return False
        self._watched[identity.pid] = identity
        return True

    def remove(self, pid: int) -> None:
        self._watched.pop(pid, None)

    def pidfd_of(self, pid: int) -> Optional[int]:
        return None

    def on_ready(self, fd: int) -> Optional[Identity]:
        return None

    def poll_dead(self) -> List[Identity]:
        dead = [i for i in self._watched.values() if not procfs.is_same(i)]
        for identity in dead:
            self.remove(identity.pid)
        return dead

    def close(self) -> None:
        self._watched.clear()
