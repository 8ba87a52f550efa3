"""Which cgroup limits this host could enforce, read-only: for `procguard check`, which must
say so before a config lands (the agent says it again from what it really wrote)."""

from __future__ import annotations

from typing import Dict, List, Optional

from . import cgfs
from .cgroup_tree import CONTROLLERS
from .limits import CONTROLLER
from .mounts import Hierarchy, hierarchies, read_host


def unenforceable(keys: List[str], fs: str = "/sys/fs/cgroup") -> Dict[str, str]:
    """{limit key: why it cannot be enforced here} for the keys this host lacks."""
    try:
        found = hierarchies(*read_host(), under=fs)
    except OSError:
        found = []
    unified = next((h for h in found if h.version == 2), None)
    if unified is None:
        return {k: f"no cgroup v2 hierarchy under {fs} (process-group mode)" for k in keys}
    v2 = _v2_controllers(unified)
    v1 = {c for h in found if h.version == 1 for c in h.controllers if c in CONTROLLERS}
    out: Dict[str, str] = {}
    for key in keys:
        controller = CONTROLLER[key]
        if controller in v2:
            continue
        if controller in v1 and key != "memory_high":
            continue
        out[key] = (f"{key} needs cgroup v2 with the memory controller; this host has cgroup v1 memory only"
                    if controller in v1 else f"no {controller} controller on this host")
    return out


def _v2_controllers(h: Hierarchy) -> List[str]:
    text: Optional[str] = cgfs.read(h.directory(h.own) + "/cgroup.controllers")
    return (text or "").split()
