"""Which process tree this agent runs with: a cgroup per watch where it can write one,
else process groups and sessions. Decided once at start; the agent logs which, and why."""

from __future__ import annotations

from dataclasses import dataclass
import os
import re
from typing import Callable, Optional, Tuple, Union

from ..fileio import sha256_hex

from . import cgfs
from .cgroup_tree import CgroupTree
from .group_tree import GroupTree
from .mounts import Hierarchy, hierarchies, read_host

DEFAULT_FS = "/sys/fs/cgroup"


@dataclass(frozen=True)
class TreeSettings:
    """How the agent keeps its watches' process trees: from the settings' `cgroups:` block."""

    mode: str = "auto"              # auto: a cgroup where one can be written; off: process groups
    fs: str = DEFAULT_FS            # where cgroup file systems are mounted
    path: Optional[str] = None      # below the agent's own cgroup; default: its own, or "procguard" at the root
    prepare: bool = True            # a prepared start per watch (prepared.py); read by the engine
    instance: str = ""              # the agent's state directory: tells agents sharing a cgroup apart


def choose(settings: TreeSettings, host: Optional[Tuple[str, str]] = None) -> Union[CgroupTree, GroupTree]:
    if settings.mode == "off":
        return GroupTree("cgroups: mode off in the settings")
    try:
        found = hierarchies(*(host or read_host()), under=settings.fs)
    except OSError as exc:
        return GroupTree(f"cannot read /proc/self: {exc.strerror}")
    unified = next((h for h in found if h.version == 2), None)
    if unified is None:
        return GroupTree(f"no cgroup v2 hierarchy under {settings.fs}")
    holder = holder_unit(unified) if not settings.path else None
    rel, move_self = ("", False) if holder else placement(unified, settings.path, settings.instance)
    tree = CgroupTree(unified, [h for h in found if h.version == 1], rel, move_self, holder)
    try:
        tree.setup()
    except cgfs.CgroupError as exc:
        return GroupTree(f"cgroup not writable: {exc}")
    return tree


def placement(unified: Hierarchy, path: Optional[str], instance: str = "") -> Tuple[str, bool]:
    """(path of the base below our own cgroup, whether the agent moves into a leaf).

    Given a path, the base is that sub-cgroup and the agent stays where it is. As a systemd
    service (Delegate=yes), the base is the unit's own cgroup, which the agent leaves for a leaf of
    its own: cgroup v2 puts processes only in leaves of a tree that has controllers. Run by
    hand, in a container or in a login session, it makes `procguard/STATE-DIR` below its
    cgroup instead: two agents on one host (each with its own state directory) never share
    a watch's cgroup, and an agent restarted on the same state directory finds its own."""
    if path:
        return path.strip("/"), False
    if unified.own.endswith(".service"):
        return "", True
    return f"procguard/{instance_name(instance)}" if instance else "procguard", False


HOLDER_SUFFIX = "-watches.service"


def holder_unit(unified: Hierarchy, exists: Callable[[str], bool] = os.path.isdir) -> Optional[str]:
    """The holder unit of a systemd service agent (procguard.service -> procguard-watches.service)
    when systemd runs it: its cgroup, beside ours, is where the watches go (cgroup_tree.py).
    None when the agent is not a service or the holder is not running (an older unit, or a
    unit written by hand): the watches then go below the agent's own cgroup, as before."""
    own = unified.own.rstrip("/")
    if not own.endswith(".service") or own.endswith(HOLDER_SUFFIX):
        return None
    prefix, at, instance = os.path.basename(own)[:-len(".service")].partition("@")
    name = f"{prefix}-watches{at}{instance}.service"   # procguard@a.service -> procguard-watches@a.service
    return name if exists(unified.directory(os.path.join(os.path.dirname(own), name))) else None


def instance_name(state_dir: str) -> str:
    """/var/lib/procguard -> var-lib-procguard: a cgroup name that says whose it is."""
    name = re.sub(r"[^A-Za-z0-9_.]+", "-", state_dir).strip("-.") or "agent"
    if len(name) > 100:
        name = name[:80] + "-" + _digest(state_dir)
    return name


def _digest(text: str) -> str:
    return sha256_hex(text.encode())[:16]
