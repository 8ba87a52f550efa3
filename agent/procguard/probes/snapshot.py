"""Failure snapshot of a stalled process, written before the agent stops it.

One JSON file per stall in STATE_DIR/snapshots/, mode 0600 (a kernel stack and a command
line can be sensitive). Everything is read from /proc; nothing is run. Old snapshots of the
same watch beyond KEEP are removed.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

from ..fileio import write_atomically

KEEP = 20
Event = Union[str, Tuple[float, str]]


def _read(path: str, limit: int = 65536) -> Union[str, Dict[str, str]]:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except OSError as exc:
        return {"unreadable": exc.strerror or str(exc)}


def process_facts(pid: int) -> Dict[str, Any]:
    base = f"/proc/{pid}"
    facts: Dict[str, Any] = {"pid": pid}
    status = _read(f"{base}/status")
    if isinstance(status, str):
        facts["status"] = dict(
            (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in status.splitlines()) if k
        )
    else:
        facts["status"] = status
    stat = _read(f"{base}/stat")
    if isinstance(stat, str) and ")" in stat:
        facts["state"] = stat[stat.rfind(")") + 2:][:1]
    cmdline = _read(f"{base}/cmdline")
    facts["cmdline"] = cmdline.replace("\0", " ").strip() if isinstance(cmdline, str) else cmdline
    facts["wchan"] = _read(f"{base}/wchan")
    stack = _read(f"{base}/stack")
    facts["kernel_stack"] = stack.splitlines() if isinstance(stack, str) else stack
    try:
        facts["fd_count"] = len(os.listdir(f"{base}/fd"))
    except OSError as exc:
        facts["fd_count"] = {"unreadable": exc.strerror or str(exc)}
    threads: List[Dict[str, Any]] = []
    try:
        for tid in sorted(os.listdir(f"{base}/task"), key=int)[:64]:
            tstat = _read(f"{base}/task/{tid}/stat")
            threads.append({
                "tid": int(tid),
                "state": tstat[tstat.rfind(")") + 2:][:1] if isinstance(tstat, str) and ")" in tstat else None,
                "wchan": _read(f"{base}/task/{tid}/wchan"),
            })
    except OSError:
        pass
    facts["threads"] = threads
    return facts


def write_snapshot(
    state_dir: str,
    watch: str,
    pids: Sequence[int],
    probe_status: List[Dict[str, Any]],
    recent_events: Iterable[Event],
) -> str:
    """Write the snapshot and return its path; raises OSError if it cannot be written."""
    folder = os.path.join(state_dir, "snapshots")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{now % 1:.3f}"[1:] + "Z"
    first = pids[0] if pids else 0
    path = os.path.join(folder, f"stall-{watch}@{stamp}-{first}.json")
    events = [
        {"at": _iso(e[0]), "line": e[1]} if isinstance(e, tuple) else {"line": str(e)}
        for e in list(recent_events)[-100:]
    ]
    doc = {
        "watch": watch,
        "written_at": _iso(now),
        "pids": list(pids),
        "processes": [process_facts(pid) for pid in pids],
        "probes": probe_status,
        "recent_events": events,
    }
    write_atomically(path, json.dumps(doc, indent=2, default=str).encode("utf-8") + b"\n", 0o600)
    _prune(folder, watch)
    return path


def _prune(folder: str, watch: str) -> None:
    prefix = f"stall-{watch}@"
    mine = sorted(n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".json"))
    for name in mine[:-KEEP]:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f"{ts % 1:.3f}"[1:] + "Z"
