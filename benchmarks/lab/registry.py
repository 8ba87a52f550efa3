"""What the lab created, written down as it is created, so that a crash, Ctrl-C or a later
`python -m lab cleanup` removes exactly that: processes by PID (checked against their start
time, so a reused PID is never signalled), namespaces and containers by the names made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any, Dict, List, Optional

REGISTRY_DIR = "/run/pglab"


def start_time(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


class Registry:
    """One JSON file per lab run under /run/pglab: pids, namespaces, containers, files."""

    def __init__(self, tag: str, directory: str = REGISTRY_DIR) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, f"{tag}.json")
        self.data: Dict[str, Any] = {"tag": tag, "owner": os.getpid(), "pids": [],
                                     "netns": [], "containers": [], "dirs": []}
        self._save()

    def _save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.data, handle)
        os.replace(tmp, self.path)

    def add_pid(self, pid: int) -> None:
        started = start_time(pid)
        if started is not None:
            self.data["pids"].append([pid, started])
            self._save()

    def add(self, kind: str, name: str) -> None:
        self.data[kind].append(name)
        self._save()

    def forget_netns(self, name: str) -> None:
        if name in self.data["netns"]:
            self.data["netns"].remove(name)
            self._save()

    def cleanup(self) -> List[str]:
        done = release(self.data)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        return done


def kill_recorded(pids: List[List[int]]) -> int:
    """SIGKILL each recorded process that is still the same process (same start time)."""
    killed = 0
    for pid, started in pids:
        if start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def kill_marked(mark: bytes) -> int:
    """SIGKILL the services a supervisor started for the lab: their command lines carry
    the lab's own directory."""
    killed = 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmd = handle.read()
        except OSError:
            continue
        if mark in cmd:
            try:
                os.kill(int(name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def release(data: Dict[str, Any]) -> List[str]:
    done = []
    for name in data.get("containers", []):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
        done.append(f"container {name}")
    killed = kill_recorded(data.get("pids", []))
    for path in data.get("dirs", []):
        killed += kill_marked(f"{path}/episodes/".encode())
    if killed:
        done.append(f"{killed} processes")
    for name in data.get("netns", []):
        # a namespace goes away with its last process; delete its name even if one lingers
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        done.append(f"netns {name}")
    for path in data.get("dirs", []):
        subprocess.run(["rm", "-rf", "--one-file-system", path], capture_output=True, timeout=60)
    return done


def cleanup_all(directory: str = REGISTRY_DIR) -> List[str]:
    """Release every run recorded here whose owning lab process is gone (or all, if asked)."""
    done: List[str] = []
    if not os.path.isdir(directory):
        return done
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        owner = data.get("owner")
        if owner and owner != os.getpid() and start_time(owner) is not None and _is_lab(owner):
            done.append(f"skipped {name}: lab process {owner} still runs")
            continue
        done += release(data)
        os.unlink(path)
    return done


def _is_lab(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"lab" in handle.read()
    except OSError:
        return False
