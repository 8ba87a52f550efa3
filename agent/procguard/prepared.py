"""Prepared starts: with a cgroup per watch, the next process of each watch waits ready.

Moving a process into a cgroup takes the kernel's cgroup threadgroup lock for writing,
which waits for an RCU grace period: about 10 ms on an idle host, far more than the rest
of a restart (about 3 ms). So once a watch's process is started, the agent starts the
next one ahead of need: the /bin/sh gate (spawn.py), already placed in the watch's cgroup
with its rlimits set, waiting on its socket. When the watch needs a process, opening the
gate is one write: the program runs at once, in its cgroup from its first instruction.

A prepared start costs one idle shell per watch (about 260 KiB). It is invisible to the
watch's tree operations (members, stops, leftovers); `cgroups.prepare: false` turns it
off. It never outlives the agent: when the agent's end of its socket closes, the shell
reads end of file and exits. A config change or a stop that killed it starts afresh.
"""

from __future__ import annotations

import os
import signal
from typing import Callable, Dict, Optional, Tuple

from .config.model import Watch
from .proc import procfs
from .proc.procfs import Identity
from .spawn import Spawned, close_gate, open_gate


class PreparedStarts:
    def __init__(self, release: Callable[[int], None]) -> None:
        self.release = release  # the reaper forgets the PID of a start thrown away
        self._ready: Dict[str, Tuple[Spawned, Identity, str]] = {}  # watch -> (start, identity, fingerprint)

    def add(self, watch: Watch, spawned: Spawned) -> None:
        identity = procfs.identity_of(spawned.pid)
        if identity is None:
            close_gate(spawned)
            self.release(spawned.pid)
            return
        self.discard(watch.name)
        self._ready[watch.name] = (spawned, identity, watch.fingerprint)

    def take(self, watch: Watch) -> Optional[Spawned]:
        """The prepared start of `watch`, now running its program; None when there is none."""
        entry = self._ready.pop(watch.name, None)
        if entry is None:
            return None
        spawned, identity, fingerprint = entry
        if fingerprint != watch.fingerprint or not procfs.is_same(identity):
            self._throw_away(spawned)
            return None
        if not open_gate(spawned):
            self._throw_away(spawned, closed=True)
            return None
        return spawned

    def pid_of(self, name: str) -> Optional[int]:
        entry = self._ready.get(name)
        return entry[0].pid if entry else None

    def has(self, name: str) -> bool:
        return name in self._ready

    def discard(self, name: str) -> None:
        entry = self._ready.pop(name, None)
        if entry is not None:
            self._throw_away(entry[0])

    def keep(self, watches: Dict[str, str]) -> None:
        """After a reload: only prepared starts of watches that are unchanged stay."""
        for name, (_s, _i, fingerprint) in list(self._ready.items()):
            if watches.get(name) != fingerprint:
                self.discard(name)

    def close(self) -> None:
        for name in list(self._ready):
            self.discard(name)

    def _throw_away(self, spawned: Spawned, closed: bool = False) -> None:
        if not closed:
            close_gate(spawned)
        try:
            os.kill(spawned.pid, signal.SIGKILL)  # it would exit at end of file; do not wait for that
        except ProcessLookupError:
            pass
        self.release(spawned.pid)
