"""Reading /proc, the one way the lab finds processes (faults, reaping, clean-up)."""

from __future__ import annotations

import os
from typing import Iterator, List, Tuple


def stats() -> Iterator[Tuple[int, List[str]]]:
    """(pid, the fields of /proc/PID/stat after the command name) for every live PID:
    fields[0] is the state, fields[1] the parent PID, fields[19] the start time."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                yield int(name), handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def children(pid: int, states: str = "") -> List[int]:
    """Processes whose parent is pid: those in `states` ("Z": zombies), or all but zombies."""
    return [p for p, fields in stats() if int(fields[1]) == pid
            and (fields[0] in states if states else fields[0] not in ("Z", "X"))]
