"""Where the cgroup hierarchies are mounted, and where this process sits in each.

Pure parsing of /proc/self/mountinfo and /proc/self/cgroup, so the logic is tested on any
text (a pure cgroup v2 host, a hybrid one) without the host having that layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Tuple


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and where this process sits in it."""

    version: int                    # 2: the unified hierarchy; 1: a legacy one
    controllers: FrozenSet[str]     # v1: what is mounted there ("memory", "name=systemd"); v2: empty
    mount: str                      # its mount point
    own: str                        # this process's cgroup in it, e.g. /system.slice/procguard.service

    def directory(self, cgroup: str) -> str:
        """The directory of `cgroup` (a path inside the hierarchy)."""
        return os.path.join(self.mount, cgroup.lstrip("/")) if cgroup not in ("", "/") else self.mount

    def has(self, controller: str) -> bool:
        return controller in self.controllers


def parse_mountinfo(text: str) -> List[Tuple[str, str, str, FrozenSet[str]]]:
    """(fstype, mount point, root inside the fs, super options) of every cgroup mount."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        mount = fields[4].replace("\\040", " ")
        out.append((tail[0], mount, fields[3], frozenset(tail[2].split(","))))
    return out


def parse_proc_cgroup(text: str) -> Tuple[Optional[str], Dict[FrozenSet[str], str]]:
    """(our v2 path, {v1 controllers: our path}) from /proc/self/cgroup."""
    v2: Optional[str] = None
    v1: Dict[FrozenSet[str], str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, names, path = parts
        if names == "":
            v2 = path
        else:
            v1[frozenset(names.split(","))] = path
    return v2, v1


V1_OPTIONS = frozenset({"rw", "ro", "relatime", "nosuid", "nodev", "noexec", "noatime", "clone_children"})


def hierarchies(mountinfo: str, proc_cgroup: str, under: str = "/sys/fs/cgroup") -> List[Hierarchy]:
    """Every cgroup hierarchy mounted below `under` that this process is placed in."""
    v2_path, v1_paths = parse_proc_cgroup(proc_cgroup)
    found: List[Hierarchy] = []
    seen = set()
    prefix = under.rstrip("/") + "/"
    for fstype, mount, root, options in parse_mountinfo(mountinfo):
        if mount != under.rstrip("/") and not mount.startswith(prefix):
            continue
        if fstype == "cgroup2":
            own = _inside(v2_path, root)
            key: FrozenSet[str] = frozenset({"<unified>"})
            if own is None or key in seen:
                continue
            seen.add(key)
            found.append(Hierarchy(2, frozenset(), mount, own))
            continue
        controllers = frozenset(o for o in options if o not in V1_OPTIONS and not o.startswith(("release_agent", "xattr")))
        own = _inside(v1_paths.get(controllers), root)
        if own is None or controllers in seen:
            continue
        seen.add(controllers)
        found.append(Hierarchy(1, controllers, mount, own))
    return found


def _inside(path: Optional[str], root: str) -> Optional[str]:
    """Our path as seen below a mount whose root is `root` (a bind mount of a sub-tree)."""
    if path is None:
        return None
    if root in ("", "/"):
        return path
    if path == root:
        return "/"
    if path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")):]
    return None


def read_host() -> Tuple[str, str]:
    """The two files, as they are for this process."""
    with open("/proc/self/mountinfo") as mi, open("/proc/self/cgroup") as cg:
        return mi.read(), cg.read()
