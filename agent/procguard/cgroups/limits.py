"""Writing a watch's cgroup limits, and reading each back to say whether it is in force.

cgroup v2 is the main path (real Debian hosts): memory.max, memory.high, cpu.max,
pids.max. On a hybrid host the v1 controller stands in where v2 lacks it:
memory.limit_in_bytes, cpu.cfs_quota_us / cpu.cfs_period_us, pids.max. v1 has no
memory.high, so that limit is reported as not enforced there, never silently dropped.
"""

from __future__ import annotations

import os
from typing import Callable, Dict, Optional, Tuple, Union

from ..config.limits_spec import CGROUP_KEYS, describe_limit
from . import cgfs
from .tree import LimitState

PERIOD_US = 100_000
PAGE = os.sysconf("SC_PAGE_SIZE")
CONTROLLER = {"memory_max": "memory", "memory_high": "memory", "cpu_quota": "cpu", "tasks_max": "pids"}

Number = Union[int, float]
# key -> (v2 file, v2 value, v2 "no limit"), per version
Dirs = Dict[str, Tuple[int, str]]   # controller -> (version, directory of the watch's cgroup)


def _v2(key: str, value: Optional[Number]) -> Tuple[str, str]:
    if key == "cpu_quota":
        return "cpu.max", f"{int(value * PERIOD_US / 100)} {PERIOD_US}" if value is not None else f"max {PERIOD_US}"
    name = {"memory_max": "memory.max", "memory_high": "memory.high", "tasks_max": "pids.max"}[key]
    return name, str(int(value)) if value is not None else "max"


def _v1(key: str, value: Optional[Number]) -> Optional[Tuple[str, str]]:
    if key == "memory_max":
        return "memory.limit_in_bytes", str(int(value)) if value is not None else "-1"
    if key == "cpu_quota":
        return "cpu.cfs_quota_us", str(int(value * PERIOD_US / 100)) if value is not None else "-1"
    if key == "tasks_max":
        return "pids.max", str(int(value)) if value is not None else "max"
    return None  # memory_high: v1 has nothing that throttles the same way


def _expected(file: str, value: str) -> Callable[[str], bool]:
    """Does what the kernel reads back mean the value we wrote (memory rounds to pages)?"""
    if file in ("memory.max", "memory.high", "memory.limit_in_bytes") and value.isdigit():
        want = int(value) // PAGE * PAGE
        return lambda got: got.strip().isdigit() and int(got) == want
    return lambda got: got.split() == value.split()


def apply(limits: Dict[str, Number], dirs: Dirs, clear: bool = True) -> Dict[str, LimitState]:
    """Write every cgroup limit (and the "no limit" value for the others, so a limit taken
    out of the config is lifted); return the state of each configured one."""
    states: Dict[str, LimitState] = {}
    for key in CGROUP_KEYS:
        value = limits.get(key)
        if value is None and not clear:
            continue
        controller = CONTROLLER[key]
        where = dirs.get(controller)
        shown = describe_limit(key, value) if value is not None else ""
        if where is None:
            if value is not None:
                states[key] = LimitState(shown, False, reason=f"no writable {controller} controller on this host")
            continue
        version, directory = where
        spec = _v2(key, value) if version == 2 else _v1(key, value)
        if spec is None:
            if value is not None:
                states[key] = LimitState(shown, False, reason=f"{key} needs cgroup v2 with the memory controller; "
                                                              "this host has cgroup v1 memory only")
            continue
        file, text = spec
        path = os.path.join(directory, file)
        try:
            if version == 1 and key == "cpu_quota":
                cgfs.write(os.path.join(directory, "cpu.cfs_period_us"), str(PERIOD_US))
            cgfs.write(path, text)
        except cgfs.CgroupError as exc:
            if value is not None:
                states[key] = LimitState(shown, False, reason=str(exc))
            continue
        if value is None:
            continue
        got = cgfs.read(path) or ""
        if _expected(file, text)(got):
            states[key] = LimitState(shown, True, via=path)
        else:
            states[key] = LimitState(shown, False, reason=f"{path} reads {got.strip()!r} after writing {text!r}")
    return states
