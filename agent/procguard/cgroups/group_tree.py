"""The fallback tree: a watch's processes are the sessions and process groups of the
services it started (groups.py). No limits, no usage figures: status and `check` say so."""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from ..config.limits_spec import describe_limit
from ..config.model import Watch
from .groups import Sessions, group_alive, processes_in, signal_each
from .tree import LimitState, TreeInfo

SIGKILL = 9


class GroupTree:
    kind = "process-group"

    def __init__(self, why: str) -> None:
        self.why = why
        self.sessions = Sessions()
        self._limits: Dict[str, Dict[str, LimitState]] = {}
        self.aside: Callable[[str], Optional[int]] = lambda watch: None  # no prepared starts here

    def describe(self) -> str:
        return f"process group and session ({self.why})"

    def configure(self, watches: Sequence[Watch]) -> Dict[str, Dict[str, LimitState]]:
        reason = f"no writable cgroup: {self.why}"
        self._limits = {
            w.name: {k: LimitState(describe_limit(k, v), False, reason=reason) for k, v in w.limits.cgroup().items()}
            for w in watches
        }
        names = {w.name for w in watches}
        for name in self.sessions.watches():
            if name not in names:
                self.sessions.forget(name)
        return self._limits

    def place(self, watch: str, pid: int) -> None:
        self.sessions.add(watch, pid)

    def members(self, watch: str) -> List[int]:
        ids = self.sessions.ids(watch)
        return processes_in(ids) if ids else []

    def has_members(self, watch: str, groups: Sequence[int] = ()) -> bool:
        """Fast: a killpg probe per session (a process that left its group but kept the
        session is found by the full scan of `members`, which stops use)."""
        alive = any(group_alive(g) for g in self.sessions.ids(watch, groups))
        if not alive and not groups:
            self.sessions.forget(watch)  # every session ended: nothing of the watch is left
        return alive

    def signal(self, watch: str, sig: int, groups: Sequence[int] = ()) -> int:
        ids = self.sessions.ids(watch, groups)
        return signal_each(processes_in(ids), sig) if ids else 0

    def kill(self, watch: str, groups: Sequence[int] = ()) -> None:
        self.signal(watch, SIGKILL, groups)

    def info(self, watch: str) -> TreeInfo:
        return TreeInfo(cgroup=None, limits=dict(self._limits.get(watch, {})))

    def oom_kills(self, watch: str) -> Optional[int]:
        return None

    def forget(self, watch: str) -> None:
        self.sessions.prune(watch)
