"""The one place that reaps child processes, and the one registry of owned PIDs.

The agent is a child subreaper, so it inherits every orphan its services leave behind and
must reap them, or they stay zombies (PID 1 here does not reap). A blind waitpid(-1) would
also steal the exit status of children that worker threads started (exec probes,
escalation commands). So every PID the agent cares about is *owned* here, by a watch (a
service it started or adopted) or by a command runner, and every status is collected here
and handed to whoever claims it, even if the claim comes a moment after the reaping.

Why `launch()` holds a lock across the fork: a fast command (`/bin/true`) can exit before
its runner has registered it. If the loop reaped it in that instant and judged it by the
registry, it would log an orphan and drop the status, and the probe would see "unknown".
`reap()` judges under the same lock, so a PID is always registered before anyone can
decide that nobody owns it.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Dict, List, Optional, Tuple, TypeVar

KEEP_UNCLAIMED = 30.0  # seconds an owned status is kept for a late claimant
COMMAND = "<command>"  # owner of the commands worker threads run

Child = TypeVar("Child")


class Reaper:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._launching = threading.Lock()
        self._statuses: Dict[int, Tuple[int, float]] = {}
        self._owners: Dict[int, str] = {}
        self.central = False  # True once the engine reaps on SIGCHLD

    # ---------------------------------------------------------------- owning
    def launch(self, owner: str, start: Callable[[], Child], pid_of: Callable[[Child], int]) -> Child:
        """Start a child and own its PID before anyone can reap and judge it."""
        with self._launching:
            child = start()
            self.own(pid_of(child), owner)
            return child

    def own(self, pid: int, owner: str) -> None:
        with self._cond:
            self._owners[pid] = owner

    def release(self, pid: int) -> None:
        """Nobody cares about `pid` any more: forget its owner and any status left for it."""
        with self._cond:
            self._owners.pop(pid, None)
            self._statuses.pop(pid, None)

    def owner(self, pid: int) -> Optional[str]:
        with self._cond:
            return self._owners.get(pid)

    def owned(self) -> Tuple[int, ...]:
        with self._cond:
            return tuple(self._owners)

    # ---------------------------------------------------------------- reaping
    def reap(self) -> List[Tuple[int, int]]:
        """Reap every exited child now. Owned statuses are kept for their claimant; the
        others are orphans of the services, returned as [(pid, raw wait status)]."""
        reaped: List[Tuple[int, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped.append((pid, status))
        if not reaped:
            return []
        orphans: List[Tuple[int, int]] = []
        now = time.monotonic()
        with self._launching, self._cond:
            for pid, status in reaped:
                if pid in self._owners:
                    self._statuses[pid] = (status, now)
                else:
                    orphans.append((pid, status))
            self._expire(now)
            self._cond.notify_all()
        return orphans

    def take(self, pid: int) -> Optional[int]:
        """The raw status of `pid` if it was reaped, removing it."""
        with self._cond:
            entry = self._statuses.pop(pid, None)
        return None if entry is None else entry[0]

    def wait(self, pid: int, timeout: Optional[float] = None) -> Optional[int]:
        """Block until `pid` has been reaped (by us or by the engine); None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.central:
                try:
                    got, status = os.waitpid(pid, os.WNOHANG)
                    if got == pid:
                        return status
                except ChildProcessError:
                    pass  # reaped elsewhere: look in the table
            with self._cond:
                if pid in self._statuses:
                    return self._statuses.pop(pid)[0]
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(0.05 if not self.central else min(remaining or 1.0, 1.0))

    def _expire(self, now: float) -> None:
        for pid in [p for p, (_s, t) in self._statuses.items() if now - t > KEEP_UNCLAIMED]:
            del self._statuses[pid]


REAPER = Reaper()
