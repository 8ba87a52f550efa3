"""Resource probes: the watch's whole tree over a threshold counts toward a stall like any
failed check, with the figure in the reason ("rss 312.4M over 256M, 3 processes").

They read /proc of every process in the tree (its cgroup, or the sessions it started),
from the probe's worker thread. CPU comes from the cgroup's cpu.stat when there is one,
so the time of children that already exited counts too.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass
from typing import Callable, Deque, Optional, Sequence, Tuple

from ..config.probe_spec import ProbeSpec
from ..config.sizes import format_size
from ..proc.procfs import CLK_TCK
from .checks import Check, Outcome

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class TreeView:
    """What a resource check may ask of the watch's tree, from any thread."""

    members: Callable[[], Sequence[int]]            # every process of the tree
    cpu_usec: Callable[[], Optional[int]] = lambda: None  # the tree's CPU time, when a cgroup counts it


def _tree(view: TreeView, pids: Sequence[int]) -> Tuple[int, ...]:
    try:
        members = view.members()
    except (OSError, RuntimeError):
        members = ()
    return tuple(sorted(set(pids) | set(members)))


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def rss_bytes(pid: int) -> int:
    data = _read(f"/proc/{pid}/statm")
    return int(data.split()[1]) * PAGE if data else 0


def threads(pid: int) -> int:
    data = _read(f"/proc/{pid}/stat")
    if not data:
        return 0
    return int(data[data.rfind(b")") + 2:].split()[17])


def cpu_ticks(pid: int) -> int:
    data = _read(f"/proc/{pid}/stat")
    if not data:
        return 0
    fields = data[data.rfind(b")") + 2:].split()
    return sum(int(f) for f in fields[11:15])  # utime stime cutime cstime


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class ResourceCheck(Check):
    def __init__(self, spec: ProbeSpec, view: TreeView) -> None:
        super().__init__(spec)
        self.view = view


class RssCheck(ResourceCheck):
    def run(self, pids: Sequence[int]) -> Outcome:
        tree = _tree(self.view, pids)
        total, limit = sum(rss_bytes(p) for p in tree), self.spec.opt("max")
        figure = f"rss {format_size(total)} {'over' if total > limit else 'within'} {format_size(limit)}, {len(tree)} processes"
        return total <= limit, figure


class ThreadsCheck(ResourceCheck):
    def run(self, pids: Sequence[int]) -> Outcome:
        tree = _tree(self.view, pids)
        total, limit = sum(threads(p) for p in tree), self.spec.opt("max")
        return total <= limit, f"{total} threads {'over' if total > limit else 'within'} {limit}, {len(tree)} processes"


class FdCheck(ResourceCheck):
    def run(self, pids: Sequence[int]) -> Outcome:
        counts = {p: open_fds(p) for p in _tree(self.view, pids)}
        pid, worst = max(counts.items(), key=lambda kv: kv[1], default=(0, 0))
        limit = self.spec.opt("max")
        return worst <= limit, f"pid {pid} has {worst} open files, {'over' if worst > limit else 'within'} {limit}"


class CpuCheck(ResourceCheck):
    """CPU percent of one CPU over `window`: samples of the tree's CPU time, oldest to newest."""

    def __init__(self, spec: ProbeSpec, view: TreeView) -> None:
        super().__init__(spec, view)
        self.samples: Deque[Tuple[float, float]] = collections.deque()

    def _cpu_seconds(self, pids: Sequence[int]) -> float:
        usec = self.view.cpu_usec()
        if usec is not None:
            return usec / 1e6
        return sum(cpu_ticks(p) for p in _tree(self.view, pids)) / CLK_TCK

    def run(self, pids: Sequence[int]) -> Outcome:
        now, used = time.monotonic(), self._cpu_seconds(pids)
        window, limit = self.spec.opt("window"), self.spec.opt("max")
        if self.samples and used < self.samples[-1][1]:
            self.samples.clear()  # a process of the tree ended: its time left the sum
        self.samples.append((now, used))
        while len(self.samples) > 2 and now - self.samples[1][0] >= window:
            self.samples.popleft()
        first_t, first_used = self.samples[0]
        span = now - first_t
        if span < min(window, self.spec.interval) * 0.5:
            return True, "measuring"
        percent = 100.0 * (used - first_used) / span
        verdict = "over" if percent > limit else "within"
        return percent <= limit, f"cpu {percent:.1f}% {verdict} {limit:g}% over {span:.1f}s"


RESOURCE_CHECKS = {"rss_max": RssCheck, "cpu_percent": CpuCheck, "fd_max": FdCheck, "threads_max": ThreadsCheck}
