"""The one place that reaps child processes.

The agent is a child subreaper, so it inherits every orphan its services leave behind and
must reap them, or they stay zombies (PID 1 here does not reap). A blind waitpid(-1) would
also steal the exit status of children that worker threads started (exec probes,
escalation commands). So every status is collected here and handed to whoever claims its
PID, even if the claim comes a moment after the reaping.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Dict, List, Optional, Tuple

KEEP_UNCLAIMED = 30.0  # seconds an unclaimed status is kept for a late claimant


class Reaper:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._statuses: Dict[int, Tuple[int, float]] = {}
        self.central = False  # True once the engine reaps on SIGCHLD

    def reap_all(self) -> List[Tuple[int, int]]:
        """Reap every exited child now; returns [(pid, raw wait status)]."""
        reaped: List[Tuple[int, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped.append((pid, status))
        if reaped:
            now = time.monotonic()
            with self._lock:
                for pid, status in reaped:
                    self._statuses[pid] = (status, now)
                self._expire(now)
                self._lock.notify_all()
        return reaped

    def take(self, pid: int) -> Optional[int]:
        """The raw status of `pid` if it was reaped, removing it."""
        with self._lock:
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
            with self._lock:
                if pid in self._statuses:
                    return self._statuses.pop(pid)[0]
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._lock.wait(0.05 if not self.central else min(remaining or 1.0, 1.0))

    def _expire(self, now: float) -> None:
        for pid in [p for p, (_s, t) in self._statuses.items() if now - t > KEEP_UNCLAIMED]:
            del self._statuses[pid]


REAPER = Reaper()


def describe_status(status: Optional[int]) -> str:
    """exit:N, signal:NAME, or unknown (a process we did not start gives no status)."""
    import signal

    if status is None:
        return "unknown"
    if os.WIFEXITED(status):
        return f"exit:{os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        num = os.WTERMSIG(status)
        try:
            return f"signal:{signal.Signals(num).name[3:]}"
        except ValueError:
            return f"signal:{num}"
    return "unknown"


def exit_code(status: Optional[int]) -> Optional[int]:
    if status is not None and os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return None
