"""The engine's side of process trees, limits and output: what a unit asks about the whole
tree of a watch, what a started process needs before it runs, and what status shows.

A mixin of the engine (it is the unit's env), kept apart so the engine stays about
routing: the engine owns `tree` (cgroups/) and `outputs` (output/), built by assemble.py.
"""

from __future__ import annotations

import functools
import os
import resource
import signal
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import states
from .cgroups import cgfs
from .cgroups.tree import ProcessTree
from .children.status import describe_status
from .config.limits_spec import describe_limit
from .config.model import Config, Watch
from .output.manager import Outputs
from .children.reaper import Reaper
from .loop import Loop
from .observer import WatchObserver
from .prepared import PreparedStarts
from .spawn import Launch, Spawned, SpawnError, Spawner
from .unit import WatchUnit
from .unit_files import double_supervision


FDS_BASE = 64       # epoll, the control socket, syslog, the checking child, pipes
FDS_PER_WATCH = 6   # a pidfd or two, the output FIFO (two ends) and file, a prepared start's gate


class TreeEnv:
    tree: ProcessTree
    outputs: Outputs
    units: Dict[str, WatchUnit]
    emit: Callable[..., None]
    observers: List[WatchObserver]
    reaper: Reaper
    spawner: Spawner
    loop: Loop

    def _tree_init(self, prepare: bool) -> None:
        self._oom_seen: Dict[str, Optional[int]] = {}
        self.prepared = PreparedStarts(self.reaper.release)
        self.prepare_starts = prepare and self.tree.kind == "cgroup"
        self.tree.aside = self.prepared.pid_of
        self._service_nofile: Optional[Tuple[int, int]] = None  # what services get once we raised ours
        self.emit("process_tree_mode", mode=self.tree.kind, detail=self.tree.describe())

    # ---------------------------------------------------------------- a config in force
    def configure_trees(self, config: Config) -> None:
        watches = [w for w in config.watches]
        try:
            states = self.tree.configure(watches)
        except cgfs.CgroupError as exc:
            self.emit("tree_error", watch="*", reason=str(exc))
            states = {}
        for name, limits in states.items():
            good = [f"{k}={s.value}" for k, s in limits.items() if s.enforced]
            if good:
                self.emit("limits_applied", watch=name, limits=" ".join(good))
            for key, state in limits.items():
                if not state.enforced:
                    self.emit("limit_not_enforced", watch=name, limit=key, value=state.value, reason=state.reason)
        for watch in watches:
            self._oom_seen[watch.name] = self.tree.oom_kills(watch.name)
        for name, program, unit in double_supervision(watches):
            self.emit("double_supervision", watch=name, program=program, unit=unit)
        self._enough_files(len(watches))
        self.outputs.configure(watches)
        self.prepared.keep({w.name: w.fingerprint for w in watches})

    def _enough_files(self, watches: int) -> None:
        """The agent holds a few fds per watch (pidfds, output FIFO and file, a prepared
        start): raise its own soft RLIMIT_NOFILE when the unit's would run short, and give
        services the limit they would have had (set at their gate)."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = FDS_BASE + FDS_PER_WATCH * watches
        if need <= soft:
            return
        wanted = hard if hard == resource.RLIM_INFINITY or hard <= 2 * need else 2 * need
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (OSError, ValueError):
            self.emit("files_limit_short", soft=soft, hard=hard, needed=need)
            return
        if self._service_nofile is None:
            self._service_nofile = (soft, hard)
        self.emit("files_limit_raised", soft=wanted, was=soft, needed=need)

    # ---------------------------------------------------------------- starting
    def start_process(self, watch: Watch) -> Spawned:
        """A process of `watch` running its program: the prepared start, or a new one."""
        ready = self.prepared.take(watch) if self.prepare_starts else None
        if ready is None:
            ready = self._launch(watch, hold=False)
        self.after_spawn(watch, ready.pid)
        if self.prepare_starts and not watch.systemd_unit:
            self.loop.call_later(0.0, functools.partial(self._prepare_next, watch))
        return Spawned(ready.pid, ready.argv)

    def _launch(self, watch: Watch, hold: bool) -> Spawned:
        assert watch.start is not None
        start = watch.start
        extra: Dict[str, str] = {}
        for observer in self.observers:
            extra.update(observer.env_for(watch.name))
        launch, close = self.launch_for(watch, hold)
        try:
            return self.reaper.launch(watch.name, lambda: self.spawner.spawn(watch.name, start, extra, launch),
                                      lambda spawned: spawned.pid)
        finally:
            for fd in close:
                os.close(fd)

    def _prepare_next(self, watch: Watch) -> None:
        """Off the restart path: the next process of the watch, placed, waiting at its gate."""
        unit = self.units.get(watch.name)
        if unit is None or unit.watch.fingerprint != watch.fingerprint or self.prepared.has(watch.name):
            return
        try:
            self.prepared.add(watch, self._launch(watch, hold=True))
        except SpawnError:
            pass  # the next start will say why, as start_failed

    def launch_for(self, watch: Watch, hold: bool = False) -> Tuple[Launch, List[int]]:
        """The Launch of a process of `watch`, and the fds to close once it started."""
        if watch.systemd_unit:
            return Launch(), []  # systemctl only asks systemd; nothing of ours to place
        out, err, close = self.outputs.open_for(watch.name)
        gated = self.tree.kind == "cgroup"
        rlimits = tuple((which, pair) for _key, which, pair in watch.limits.rlimits())
        if self._service_nofile is not None and watch.limits.nofile is None:
            rlimits += ((resource.RLIMIT_NOFILE, self._service_nofile),)
        place = functools.partial(self.tree.place, watch.name) if gated else None
        return Launch(place=place, rlimits=rlimits, stdout=out, stderr=err, hold=hold and gated), close

    def after_spawn(self, watch: Watch, pid: int) -> None:
        if self.tree.kind != "cgroup" and not watch.systemd_unit:
            self.tree.place(watch.name, pid)  # the session it leads is its tree

    def state_changed(self, unit: WatchUnit) -> None:
        if unit.state in (states.GAVE_UP, states.BROKEN):
            self.prepared.discard(unit.name)  # no start is near: do not keep one waiting

    # ---------------------------------------------------------------- UnitEnv: trees
    def stop_tree(self, unit: WatchUnit, groups: List[int], sig: int) -> None:
        if unit.watch.systemd_unit:
            return  # systemd stops the rest of its unit once the main process is gone
        self.tree.signal(unit.name, sig, groups)
        if sig not in (signal.SIGKILL, signal.SIGCONT):
            self.tree.signal(unit.name, signal.SIGCONT, groups)

    def tree_left(self, unit: WatchUnit, groups: List[int]) -> bool:
        return not unit.watch.systemd_unit and self.tree.has_members(unit.name, groups)

    def kill_tree(self, unit: WatchUnit, groups: List[int]) -> None:
        if not unit.watch.systemd_unit:
            self.tree.kill(unit.name, groups)

    # ---------------------------------------------------------------- deaths
    def oom_check(self, unit: WatchUnit, pid: int, status: Optional[int]) -> bool:
        """Did the memory limit kill it? memory.events counts the kernel's OOM kills."""
        now = self.tree.oom_kills(unit.name)
        before = self._oom_seen.get(unit.name)
        self._oom_seen[unit.name] = now
        if now is None or now <= (before or 0) or describe_status(status) not in ("signal:KILL", "unknown"):
            return False
        limit = unit.watch.limits.memory_max
        self.emit("oom_killed", watch=unit.name, pid=pid, oom_kills=now,
                  memory_max=describe_limit("memory_max", limit) if limit else "-")
        return True


class TreeStatus:
    """A WatchObserver that adds the tree, its usage, its limits and the output to status."""

    def __init__(self, env: TreeEnv, waiting: Callable[[str], List[str]]) -> None:
        self.env = env
        self.waiting = waiting

    def configure(self, config: Config, units: Any) -> None:
        pass

    def unit_event(self, what: str, unit: WatchUnit, info: Any) -> None:
        pass

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def status_of(self, watch: str) -> Dict[str, Any]:
        info = self.env.tree.info(watch)
        unit = self.env.units.get(watch)
        owner = unit.watch.systemd_unit if unit is not None else None
        out: Dict[str, Any] = {
            # a systemd_unit watch's tree is the unit's cgroup, which systemd keeps and shows
            "tree": ({"kind": "systemd-unit", "unit": owner} if owner else
                     {"kind": self.env.tree.kind, "cgroup": info.cgroup, "usage": info.usage.as_dict()}),
            "limits": {k: v.as_dict() for k, v in info.limits.items()},
        }
        out.update(self.env.outputs.status(watch))
        waiting = self.waiting(watch)
        if waiting:
            out["waiting_for"] = waiting
        return out

    def shutdown(self) -> None:
        pass
