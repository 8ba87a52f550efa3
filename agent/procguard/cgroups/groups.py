"""Process groups and sessions: the tree of a started service where no cgroup can be had.

Every service is started in a session of its own (setsid), so its session id and process
group id are its PID; children and grandchildren keep both unless they call setsid
themselves (a daemon that detaches fully escapes; a cgroup is the cure for that). Only
processes this agent started are tracked: an adopted process's group is not ours to kill.
"""

from __future__ import annotations

import os
import signal
from typing import Dict, Iterable, List, Sequence, Set

from ..proc import procfs


def signal_group(pgid: int, sig: int) -> bool:
    """Signal a process group; False when nobody is left in it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def group_alive(pgid: int) -> bool:
    return signal_group(pgid, 0)


def processes_in(ids: Set[int]) -> List[int]:
    """Every live process whose session or process group is one of `ids` (a /proc scan)."""
    found = []
    me = os.getpid()
    for pid in procfs.all_pids():
        stat = procfs.read_stat(pid)
        if stat is not None and pid != me and stat.state not in ("Z", "X") and (stat.session in ids or stat.pgrp in ids):
            found.append(pid)
    return found


class Sessions:
    """The session ids of the services each watch started (one per started instance)."""

    def __init__(self) -> None:
        self._ids: Dict[str, Set[int]] = {}

    def add(self, watch: str, pid: int) -> None:
        self._ids.setdefault(watch, set()).add(pid)

    def ids(self, watch: str, only: Sequence[int] = ()) -> Set[int]:
        mine = self._ids.get(watch, set())
        return {g for g in only if g in mine} if only else set(mine)

    def prune(self, watch: str) -> None:
        """Forget sessions nobody is in any more (a cheap killpg probe each)."""
        mine = self._ids.get(watch)
        if mine:
            for gid in [g for g in mine if not group_alive(g) and not processes_in({g})]:
                mine.discard(gid)

    def forget(self, watch: str) -> None:
        self._ids.pop(watch, None)

    def watches(self) -> Iterable[str]:
        return list(self._ids)


def signal_each(pids: Iterable[int], sig: int) -> int:
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            pass
    return sent


SIGKILL = signal.SIGKILL
