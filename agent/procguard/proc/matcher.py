"""Find the processes that belong to a watch, from one scan of /proc.

Reading every process's cmdline costs ten times more than its stat, so criteria are tried
cheapest first (comm and parent from stat, then exe, uid, cmdline) and each file is read
at most once per scan.
"""

from __future__ import annotations

import os
import pwd
import re
from dataclasses import dataclass, field
from typing import Collection, Dict, List, Optional, Tuple

from ..config.model import Match
from . import procfs
from .procfs import Identity, Stat

# a start time is known to the clock tick (10 ms); a process that started later than its
# pidfile was written is a PID reused since, never the writer's child
PIDFILE_SLACK = 0.05


@dataclass
class Scan:
    """A snapshot of /proc; per-process files are read lazily and cached."""

    stats: Dict[int, Stat] = field(default_factory=dict)
    _cmdlines: Dict[int, Optional[Tuple[str, ...]]] = field(default_factory=dict)
    _exes: Dict[int, Optional[str]] = field(default_factory=dict)
    _uids: Dict[int, Optional[int]] = field(default_factory=dict)

    @classmethod
    def take(cls) -> Scan:
        scan = cls()
        for pid in procfs.all_pids():
            stat = procfs.read_stat(pid)
            if stat is not None and stat.state not in ("Z", "X"):
                scan.stats[pid] = stat
        return scan

    def cmdline(self, pid: int) -> Optional[Tuple[str, ...]]:
        if pid not in self._cmdlines:
            self._cmdlines[pid] = procfs.read_cmdline(pid)
        return self._cmdlines[pid]

    def exe(self, pid: int) -> Optional[str]:
        if pid not in self._exes:
            self._exes[pid] = procfs.read_exe(pid)
        return self._exes[pid]

    def uid(self, pid: int) -> Optional[int]:
        if pid not in self._uids:
            self._uids[pid] = procfs.read_uid(pid)
        return self._uids[pid]


def read_pidfile(path: str) -> Tuple[Optional[int], float, int]:
    """(pid, mtime, owner uid) from a pidfile, or (None, 0, -1) when missing or unreadable."""
    try:
        with open(path) as handle:
            st = os.fstat(handle.fileno())
            text = handle.read(64).strip()
    except OSError:
        return None, 0.0, -1
    return (int(text) if text.isdigit() else None), st.st_mtime, st.st_uid


def _uid_of(user: str) -> Optional[int]:
    try:
        return pwd.getpwnam(user).pw_uid
    except (KeyError, ValueError):
        return None


Note = Tuple[str, int, str]  # (pidfile, pid, why it is not trusted)


def candidates(match: Match, scan: Scan, parent_pids: Collection[int],
               exclude: Collection[int]) -> Tuple[List[Identity], Optional[Note]]:
    """Identities of processes satisfying every criterion of `match`.

    The second value says why a pidfile was not trusted (stale, reused PID, wrong owner),
    so the caller can log it. A pidfile is trusted only if root or `match.run_as` owns it,
    and only for a process that started before it was written.
    """
    run_as = _uid_of(match.run_as) if match.run_as else None
    if match.pidfile:
        pid, mtime, owner = read_pidfile(match.pidfile)
        if pid is None:
            return [], None
        if owner not in (0, os.geteuid(), run_as):
            return [], (match.pidfile, pid, f"owned by uid {owner}, not root" + (f" or {match.run_as}" if run_as else ""))
        stat = scan.stats.get(pid) or procfs.read_stat(pid)
        if stat is None or stat.state in ("Z", "X"):
            return [], (match.pidfile, pid, "no such process")
        if procfs.started_wall(stat.start_ticks) > mtime + PIDFILE_SLACK:
            return [], (match.pidfile, pid, "the process started after the file was written")
        pool = [pid]
    else:
        pool = list(scan.stats)
    pattern = re.compile(match.cmdline) if match.cmdline else None
    uid = _uid_of(match.user) if match.user else None
    if uid is None and match.pidfile and run_as is not None:
        uid = run_as  # a pidfile's process must run as start.user: the second property
    found: List[Identity] = []
    for pid in pool:
        if pid in exclude:
            continue
        stat = scan.stats.get(pid)
        if stat is None:
            continue
        if match.comm is not None and stat.comm != match.comm:
            continue
        if match.parent is not None and stat.ppid not in parent_pids:
            continue
        if match.exe is not None and scan.exe(pid) != match.exe:
            continue
        if (match.user is not None or uid is not None) and (uid is None or scan.uid(pid) != uid):
            continue
        if pattern is not None or match.argv is not None:
            argv = scan.cmdline(pid)
            if not argv:
                continue  # kernel threads and exiting processes have no command line
            if match.argv is not None and argv != match.argv:
                continue
            if pattern is not None and not pattern.search(" ".join(argv)):
                continue
        found.append(Identity(pid, stat.start_ticks, procfs.boot_id()))
    return found, None
