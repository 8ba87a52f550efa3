"""Count and identify processes through /proc, as the agent does (never `ps`)."""

from __future__ import annotations

import os
from typing import List, Optional, Tuple


def cmdline(pid: int) -> Optional[Tuple[str, ...]]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return tuple(p.decode() for p in raw.rstrip(b"\0").split(b"\0")) if raw else ()


def state_and_start(pid: int) -> Optional[Tuple[str, int]]:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return fields[0], int(fields[19])


def start_time(pid: int) -> Optional[int]:
    got = state_and_start(pid)
    return None if got is None else got[1]


def pids_running(argv: Tuple[str, ...]) -> List[int]:
    """Live (non-zombie) processes whose command line is exactly `argv`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if cmdline(pid) == tuple(argv):
            st = state_and_start(pid)
            if st and st[0] not in ("Z", "X"):
                found.append(pid)
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie is not alive)."""
    got = state_and_start(pid)
    return got is not None and got[0] not in ("Z", "X")
