"""Read facts about processes straight from /proc: no `ps`, no subprocess.

A PID alone names nothing for long (PIDs wrap within seconds under a fork loop), so a
process is known by its Identity: (pid, start time in clock ticks since boot, boot id).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

PROC = "/proc"
CLK_TCK = os.sysconf("SC_CLK_TCK")
_BOOT_ID: Optional[str] = None
_BTIME: Optional[float] = None


def boot_id() -> str:
    global _BOOT_ID
    if _BOOT_ID is None:
        with open(f"{PROC}/sys/kernel/random/boot_id") as handle:
            _BOOT_ID = handle.read().strip()
    return _BOOT_ID


def boot_time() -> float:
    """Seconds since the epoch at which the kernel booted (btime in /proc/stat)."""
    global _BTIME
    if _BTIME is None:
        with open(f"{PROC}/stat") as handle:
            for line in handle:
                if line.startswith("btime "):
                    _BTIME = float(line.split()[1])
                    break
            else:
                _BTIME = 0.0
    return _BTIME


def started_wall(start_ticks: int) -> float:
    """Wall-clock time a process started, to the clock tick: the boot instant is taken from
    CLOCK_BOOTTIME (what the kernel counts start times on), not btime's whole seconds."""
    booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return booted + start_ticks / CLK_TCK


@dataclass(frozen=True)
class Identity:
    """What makes a process this process, and not a later one with the same PID."""

    pid: int
    start_ticks: int
    boot: str

    @property
    def started_at(self) -> float:
        return started_wall(self.start_ticks)


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/PID/stat the agent uses."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgrp: int
    start_ticks: int
    session: int = 0


def read_stat(pid: int) -> Optional[Stat]:
    """Parse /proc/PID/stat; None when the process is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may hold spaces and parentheses: it runs to the last ')'
    open_paren, close_paren = raw.index(b"("), raw.rindex(b")")
    comm = raw[open_paren + 1:close_paren].decode("utf-8", "replace")
    rest = raw[close_paren + 2:].split()
    return Stat(pid=pid, comm=comm, state=rest[0].decode(), ppid=int(rest[1]), pgrp=int(rest[2]),
                start_ticks=int(rest[19]), session=int(rest[3]))


def identity_of(pid: int) -> Optional[Identity]:
    stat = read_stat(pid)
    if stat is None or stat.state in ("Z", "X"):
        return None
    return Identity(pid, stat.start_ticks, boot_id())


def is_same(identity: Identity) -> bool:
    """True while the process that had `identity` still runs (not a zombie, not a PID reuse)."""
    if identity.boot != boot_id():
        return False
    current = identity_of(identity.pid)
    return current is not None and current.start_ticks == identity.start_ticks


def read_cmdline(pid: int) -> Optional[Tuple[str, ...]]:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if not raw:
        return ()
    return tuple(part.decode("utf-8", "surrogateescape") for part in raw.rstrip(b"\0").split(b"\0"))


def read_exe(pid: int) -> Optional[str]:
    try:
        target = os.readlink(f"{PROC}/{pid}/exe")
    except OSError:
        return None
    return target[:-len(" (deleted)")] if target.endswith(" (deleted)") else target


def read_uid(pid: int) -> Optional[int]:
    """The real uid (first field of Uid: in /proc/PID/status)."""
    try:
        with open(f"{PROC}/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def all_pids() -> Iterator[int]:
    for name in os.listdir(PROC):
        if name.isdigit():
            yield int(name)
