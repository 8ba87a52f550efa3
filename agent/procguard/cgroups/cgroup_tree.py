"""A cgroup per watch: BASE/watch-NAME in the unified (v2) hierarchy holds every process
of the watch, whatever it forks.

Under systemd, BASE is the cgroup of the holder unit `procguard-watches.service` (a sibling
of the agent's unit, Delegate=yes, whose only process of its own is a `sleep infinity` the
agent moves into BASE/holder, so controllers can be enabled below BASE). The watches then
live outside the agent's unit: restarting the agent leaves its unit's cgroup empty, and
systemd has no left-over process to warn about. Without the holder unit, BASE is the
agent's own cgroup, and the agent keeps itself in BASE/agent.

On a hybrid host (v2 mounted beside v1 controllers) the v2 cgroup still tracks and kills
the tree; memory, cpu and pids come from the v1 hierarchies where v2 lacks them, and the
tree is mirrored in name=systemd so that `systemctl status` shows it.
"""

from __future__ import annotations

import os
import signal
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..config.model import Watch
from . import cgfs, limits
from .groups import group_alive, signal_each, signal_group
from .mounts import Hierarchy
from .tree import LimitState, TreeInfo, Usage

CONTROLLERS = ("memory", "cpu", "pids")
AGENT_LEAF = "agent"
HOLDER_LEAF = "holder"


def cgroup_name(watch: str) -> str:
    return f"watch-{watch}"


class CgroupTree:
    kind = "cgroup"

    def __init__(self, unified: Hierarchy, legacy: Sequence[Hierarchy], rel: str, move_self: bool,
                 holder: Optional[str] = None) -> None:
        self.unified = unified
        self.rel = rel.strip("/")
        self.move_self = move_self
        self.holder = holder                            # the holder unit's name, under systemd
        self.agent_unit = os.path.basename(unified.own)  # its sibling in each hierarchy
        self.legacy: Dict[str, Hierarchy] = {}
        for h in legacy:
            for name in h.controllers:
                if name in CONTROLLERS or name == "name=systemd":
                    self.legacy.setdefault(name, h)
        self.v2_controllers: Set[str] = set()
        # watch -> controller -> (version, base of its hierarchy): the watch's directory is
        # BASE/watch-NAME, joined when needed; equal maps are one object (hundreds of watches
        # share two or three), so a watch costs a dict entry, not three paths
        self._dirs: Dict[str, Dict[str, Tuple[int, str]]] = {}
        self._shapes: Dict[Tuple[Tuple[str, Tuple[int, str]], ...], Dict[str, Tuple[int, str]]] = {}
        self._limits: Dict[str, Dict[str, LimitState]] = {}
        # a process of the watch's cgroup that is not the watch's (a prepared start, which
        # waits to become the next process): left out of members, stops and left-overs
        self.aside: Callable[[str], Optional[int]] = lambda watch: None
        self._watches: Dict[str, Watch] = {}   # to make a watch's cgroups again if they vanish
        # watch -> its cgroup below the agent's own unit, from before the holder unit existed
        # (an upgrade): what still runs there is still the watch's, for members and stops
        self._earlier: Dict[str, str] = {}

    # ---------------------------------------------------------------- set-up
    def base_dir(self, h: Hierarchy) -> str:
        if self.holder and os.path.basename(h.own) == self.agent_unit:
            return h.directory(os.path.join(os.path.dirname(h.own), self.holder))
        return h.directory(os.path.join(h.own, self.rel))

    def setup(self) -> None:
        """Make the base, move the agent (or the holder's own process) into a leaf, enable
        controllers."""
        base = self.base_dir(self.unified)
        try:
            os.makedirs(base, exist_ok=True)
        except OSError as exc:
            raise cgfs.CgroupError(f"{base}: {exc.strerror or exc}") from None
        tracking = [self.unified] + ([self.legacy["name=systemd"]] if "name=systemd" in self.legacy else [])
        if self.move_self:
            for h in tracking:
                leaf = os.path.join(self.base_dir(h), AGENT_LEAF)
                cgfs.make_dir(leaf)
                cgfs.write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
        if self.holder:
            for h in tracking:
                self._into_leaf(self.base_dir(h), HOLDER_LEAF)
            self._find_earlier()
        available = (cgfs.read(os.path.join(base, "cgroup.controllers")) or "").split()
        for name in CONTROLLERS:
            if name in available:
                try:
                    cgfs.write(os.path.join(base, "cgroup.subtree_control"), f"+{name}")
                    self.v2_controllers.add(name)
                except cgfs.CgroupError:
                    pass
        for name, h in list(self.legacy.items()):
            try:
                os.makedirs(self.base_dir(h), exist_ok=True)
            except OSError:
                del self.legacy[name]  # not writable: v2 alone, or no such controller

    def _find_earlier(self) -> None:
        """Watch cgroups an agent of the earlier layout made in its own unit, still in use."""
        own = self.unified.directory(self.unified.own)
        try:
            names = [n for n in os.listdir(own) if n.startswith("watch-")]
        except OSError:
            return
        for name in names:
            directory = os.path.join(own, name)
            if not cgfs.remove_dir(directory):  # an empty one goes; one in use is followed
                self._earlier[name[len("watch-"):]] = directory

    @staticmethod
    def _into_leaf(base: str, leaf: str) -> None:
        """Move the processes systemd put in `base` itself (the holder's sleep) into a leaf."""
        pids = cgfs.read_pids(os.path.join(base, "cgroup.procs"))
        if not pids:
            return
        cgfs.make_dir(os.path.join(base, leaf))
        for pid in pids:
            try:
                cgfs.write(os.path.join(base, leaf, "cgroup.procs"), str(pid))
            except cgfs.CgroupError:
                pass  # it exited meanwhile

    def describe(self) -> str:
        v2 = ",".join(sorted(self.v2_controllers)) or "none"
        v1 = [n for n in CONTROLLERS if n in self.legacy and n not in self.v2_controllers]
        hybrid = f"; v1: {','.join(v1)}" if v1 else ""
        held = f", held by {self.holder}" if self.holder else ""
        return f"cgroup v2 at {self.base_dir(self.unified)} (controllers: {v2}{hybrid}{held})"

    # ---------------------------------------------------------------- watches
    def configure(self, watches: Sequence[Watch]) -> Dict[str, Dict[str, LimitState]]:
        names = {w.name for w in watches if not w.systemd_unit}
        for gone in [n for n in self._dirs if n not in names]:
            self.forget(gone)
        for watch in watches:
            if watch.systemd_unit:
                continue  # systemd owns that unit's cgroup
            self._watches[watch.name] = watch
            self._limits[watch.name] = self._configure_one(watch)
        return {n: dict(v) for n, v in self._limits.items()}

    def _configure_one(self, watch: Watch) -> Dict[str, LimitState]:
        name = cgroup_name(watch.name)
        unified = (2, self.base_dir(self.unified))
        track = os.path.join(unified[1], name)
        cgfs.make_dir(track)
        dirs: Dict[str, Tuple[int, str]] = {"": unified}
        wanted = watch.limits.cgroup()
        need = {"memory"} | ({"cpu"} if "cpu_quota" in wanted else set()) | ({"pids"} if "tasks_max" in wanted else set())
        extra = ["name=systemd"] + [c for c in CONTROLLERS if c not in self.v2_controllers and c in need]
        for controller in CONTROLLERS:
            if controller in self.v2_controllers:
                dirs[controller] = unified
        old = self._dirs.get(watch.name, {})
        for controller in extra:
            h = self.legacy.get(controller)
            if h is None:
                continue
            base = self.base_dir(h)
            directory = os.path.join(base, name)
            try:
                cgfs.make_dir(directory)
            except cgfs.CgroupError:
                continue
            dirs[controller] = (1, base)
            if controller not in old:
                self._join_running(track, directory)  # a limit added on reload reaches what runs
        for controller, where in old.items():
            dirs.setdefault(controller, where)  # once joined, stay (the limit is lifted, not lost)
        self._dirs[watch.name] = self._shapes.setdefault(tuple(dirs.items()), dirs)
        paths = self._paths(watch.name) or {}
        return limits.apply(wanted, {c: w for c, w in paths.items() if c in CONTROLLERS})

    def _paths(self, watch: str) -> Optional[Dict[str, Tuple[int, str]]]:
        """controller -> (version, the watch's directory in that hierarchy); "" is the v2 one."""
        bases = self._dirs.get(watch)
        if bases is None:
            return None
        name = cgroup_name(watch)
        return {c: (version, os.path.join(base, name)) for c, (version, base) in bases.items()}

    @staticmethod
    def _join_running(track: str, directory: str) -> None:
        for pid in cgfs.read_pids(os.path.join(track, "cgroup.procs")):
            try:
                cgfs.write(os.path.join(directory, "cgroup.procs"), str(pid))
            except cgfs.CgroupError:
                pass  # it exited meanwhile

    def place(self, watch: str, pid: int) -> None:
        """Put `pid` (not yet exec'd) in every cgroup of the watch; the unified one first.
        The paths are joined here, not kept: 500 watches' three paths each weigh ~0.2 MiB.
        When the watch's cgroup is gone (the holder unit was restarted, and systemd removed
        its tree), the agent makes it again, limits included, and places `pid` there."""
        try:
            self._place(watch, pid)
        except cgfs.CgroupError:
            track = self._track(watch)
            if track is None or os.path.isdir(track) or watch not in self._watches or not self._base_in_use():
                raise
            self.setup()
            self._limits[watch] = self._configure_one(self._watches[watch])
            self._place(watch, pid)

    def _base_in_use(self) -> bool:
        """The base is there with its owner's process in it: a holder that systemd started
        again (never make the base ourselves first: systemd could not attach its process
        to a cgroup whose controllers we had enabled)."""
        base = self.base_dir(self.unified)
        if not self.holder:
            return os.path.isdir(base)
        return bool(cgfs.read_pids(os.path.join(base, "cgroup.procs"))
                    or cgfs.read_pids(os.path.join(base, HOLDER_LEAF, "cgroup.procs")))

    def _place(self, watch: str, pid: int) -> None:
        for directory in dict.fromkeys(d for _v, d in (self._paths(watch) or {}).values()):
            cgfs.write(os.path.join(directory, "cgroup.procs"), str(pid))

    def _track(self, watch: str) -> Optional[str]:
        got = (self._paths(watch) or {}).get("")
        return got[1] if got else None

    def members(self, watch: str) -> List[int]:
        aside = self.aside(watch)
        return [p for track in self._tracks(watch) for p in cgfs.read_pids(os.path.join(track, "cgroup.procs"))
                if p != aside]

    def _tracks(self, watch: str) -> List[str]:
        """The watch's v2 cgroup, and its cgroup of the earlier layout while that holds anything."""
        return [t for t in (self._track(watch), self._earlier_of(watch)) if t is not None]

    def _earlier_of(self, watch: str) -> Optional[str]:
        """The watch's cgroup of the earlier layout while it holds anything; once it is empty
        it is removed and forgotten: the upgrade is over for this watch."""
        earlier = self._earlier.get(watch)
        if earlier is not None and (cgfs.remove_dir(earlier) or not os.path.isdir(earlier)):
            del self._earlier[watch]
            return None
        return earlier

    def has_members(self, watch: str, groups: Sequence[int] = ()) -> bool:
        if groups:
            return any(group_alive(g) for g in groups)
        return bool(self.members(watch))

    def signal(self, watch: str, sig: int, groups: Sequence[int] = ()) -> int:
        if groups:
            return sum(1 for g in groups if signal_group(g, sig))
        return signal_each(self.members(watch), sig)

    def kill(self, watch: str, groups: Sequence[int] = ()) -> None:
        tracks = [] if groups else self._tracks(watch)
        if not tracks:
            self.signal(watch, signal.SIGKILL, groups)
            return
        try:
            for track in tracks:
                cgfs.write(os.path.join(track, "cgroup.kill"), "1")  # atomic, forks included (5.14+)
        except cgfs.CgroupError:
            self.signal(watch, signal.SIGKILL)

    def forget(self, watch: str) -> None:
        """Remove the watch's cgroups if nothing runs in them any more."""
        for _version, directory in (self._paths(watch) or {}).values():
            cgfs.remove_dir(directory)
        self._earlier_of(watch)  # removed if empty
        self._earlier.pop(watch, None)
        self._dirs.pop(watch, None)
        self._limits.pop(watch, None)
        self._watches.pop(watch, None)

    # ---------------------------------------------------------------- figures
    def info(self, watch: str) -> TreeInfo:
        dirs = self._paths(watch)
        if not dirs:
            return TreeInfo()
        track = dirs[""][1]
        usage = self._usage(dirs)
        if usage.tasks and self.aside(watch) is not None:
            usage.tasks -= 1  # the prepared start is not the watch's
        return TreeInfo(cgroup=track, usage=usage, limits=dict(self._limits.get(watch, {})))

    def _usage(self, dirs: Dict[str, Tuple[int, str]]) -> Usage:
        track = dirs[""][1]
        usage = Usage(cpu_usec=cgfs.read_keyed(os.path.join(track, "cpu.stat")).get("usage_usec"))
        memory = dirs.get("memory")
        if memory is not None:
            version, directory = memory
            current, peak = (("memory.current", "memory.peak") if version == 2
                             else ("memory.usage_in_bytes", "memory.max_usage_in_bytes"))
            usage.memory_current = cgfs.read_int(os.path.join(directory, current))
            usage.memory_peak = cgfs.read_int(os.path.join(directory, peak))
        pids = dirs.get("pids")
        if pids is not None:
            usage.tasks = cgfs.read_int(os.path.join(pids[1], "pids.current"))
        else:
            usage.tasks = len(cgfs.read_pids(os.path.join(track, "cgroup.threads")))
        usage.oom_kills = self._oom(dirs)
        return usage

    def oom_kills(self, watch: str) -> Optional[int]:
        dirs = self._paths(watch)
        return self._oom(dirs) if dirs else None

    @staticmethod
    def _oom(dirs: Dict[str, Tuple[int, str]]) -> Optional[int]:
        memory = dirs.get("memory")
        if memory is None:
            return None
        version, directory = memory
        file = "memory.events" if version == 2 else "memory.oom_control"
        return cgfs.read_keyed(os.path.join(directory, file)).get("oom_kill")
