"""The agent's core: puts configs in force, routes each death to its watch, runs the loop.

The engine is the `env` of every WatchUnit: it owns the loop, the death watcher, the
spawner and the emitter, and routes each happening to the unit it belongs to. It imports
only downward: the capabilities above it (probes, escalation, control, pull) are built by
the composition root (assemble.py) and handed in as observers and companions.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import __version__, states
from .cgroups.group_tree import GroupTree
from .cgroups.tree import ProcessTree
from .children.reaper import Reaper
from .children.status import describe_status
from .config.model import Config, Watch
from .crash_report import write_error_report
from .durations import iso_utc
from .events.emitter import Emitter
from .expiry import Expiry
from .intake.admitter import Admitted, Admitter, Job
from .intake.queue import CheckQueue
from .intake.verdict import Verdict
from .loop import Loop, TimerHandle, set_child_subreaper
from .output.manager import Outputs
from .observer import Companion, WatchObserver
from .pauses import Pauses, PauseStore
from .proc import procfs
from .proc.matcher import Scan, candidates
from .proc.procfs import Identity
from .reconcile import plan_reload
from .refusal import Refusal
from .sdnotify import Notifier
from .settings import Settings
from .spawn import Spawned, Spawner
from .start_order import StartOrder
from .systemd_units import main_process
from .tree_env import TreeEnv
from .unit import WatchUnit
from .watching.deaths import PidfdWatcher, PollWatcher, Watcher

Offered = Callable[[Optional[Admitted], Optional[Refusal]], None]
NOTHING_REPEAT = 3600.0  # seconds between two "nothing is watched" messages
LATE_EXEC_RESCAN = 1.0   # seconds after start: one more scan for processes caught mid-exec


class Engine(TreeEnv):
    def __init__(self, settings: Settings, emitter: Emitter, admitter: Admitter, spawner: Spawner,
                 reaper: Reaper, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, tree: Optional[ProcessTree] = None) -> None:
        self.settings = settings
        self.emitter = emitter
        self.admitter = admitter
        self.spawner = spawner
        self.reaper = reaper
        self.wall = wall
        self.loop = Loop(clock)
        self.units: Dict[str, WatchUnit] = {}
        self.pauses = Pauses(PauseStore(settings.state_dir), self, lambda: self.units, wall)
        self.checks = CheckQueue(self.loop.post)
        self.expiry = Expiry(self, wall)
        self.observers: List[WatchObserver] = []
        self.companions: List[Companion] = []
        self.config: Optional[Config] = None
        self.in_force: Optional[Admitted] = None    # the admission of the config in force
        self.last_refusal: Optional[Dict[str, Any]] = None
        self.applied_at: Optional[float] = None
        self._pidfile_notes: Dict[str, Any] = {}
        self.started = wall()
        self.running = False
        self.notifier = Notifier()
        self.loop.on_error = self._internal_error
        self.tree: ProcessTree = tree or GroupTree("no cgroup tree given")
        self.outputs = Outputs(settings.service_log_dir, settings.state_dir, self.loop, self.emit)
        self.start_order = StartOrder(lambda: self.units, self.emit, self.guard)
        self._tree_init(prepare=settings.cgroups.get("prepare", True) is not False)
        self.watcher: Watcher
        if settings.detector != "poll" and PidfdWatcher.available():
            self.watcher = PidfdWatcher(self.loop.epoll)
        else:
            self.watcher = PollWatcher(settings.poll_interval)
            why = "detector: poll in the settings" if settings.detector == "poll" else "pidfd_open unavailable"
            self.emit("detector_fallback", reason=why, interval=settings.poll_interval)

    # ================================================================ UnitEnv
    def now(self) -> float:
        return self.loop.clock()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        return self.loop.call_later(delay, fn)

    def emit(self, name: str, **fields: Any) -> None:
        self.emitter.emit(name, **fields)

    def spawn(self, watch: Watch) -> Spawned:
        assert watch.start is not None
        return self.start_process(watch)  # tree_env.py: its cgroup, limits, output, prepared start

    def watch_pid(self, identity: Identity, watch: str) -> bool:
        if not self.watcher.add(identity):
            return False
        self.reaper.own(identity.pid, watch)
        return True

    def unwatch_pid(self, pid: int) -> None:
        self.watcher.remove(pid)
        self.reaper.release(pid)

    def send_signal(self, identity: Identity, sig: int) -> bool:
        """Signal only the very process we watch: through its pidfd, or after an identity check."""
        fd = self.watcher.pidfd_of(identity.pid)
        try:
            if fd is not None and hasattr(signal, "pidfd_send_signal"):
                signal.pidfd_send_signal(fd, sig)
                return True
            if procfs.is_same(identity):
                os.kill(identity.pid, sig)
                return True
        except ProcessLookupError:
            pass
        return False

    def find(self, unit: WatchUnit, scan: Optional[Scan] = None) -> List[Identity]:
        if unit.watch.systemd_unit:
            return main_process(unit.watch.systemd_unit)
        scan = scan or Scan.take()
        parent_pids: List[int] = []
        if unit.watch.match.parent:
            parent = self.units.get(unit.watch.match.parent)
            parent_pids = parent.pids if parent else []
        exclude = set(self.reaper.owned()) | {os.getpid()}
        found, note = candidates(unit.watch.match, scan, parent_pids, exclude)
        if note != self._pidfile_notes.get(unit.name):  # said once, not at every rescan
            self._pidfile_notes[unit.name] = note
            if note is not None:
                self.emit("stale_pidfile", watch=unit.name, pidfile=note[0], pid=note[1], reason=note[2])
        return found

    def identity_of(self, pid: int) -> Optional[Identity]:
        return procfs.identity_of(pid)

    def exit_status(self, pid: int) -> Optional[int]:
        """The status of a child that has ended (a zombie now, or reaped already)."""
        try:
            got, raw = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return self.reaper.take(pid)
        return raw if got == pid else None

    def guard(self, unit: WatchUnit, fn: Callable[[], None]) -> None:
        """Run `fn` for `unit`; an exception sets that watch aside and the others carry on."""
        try:
            fn()
        except Exception as exc:  # one watch's failure never takes the agent down
            report = write_error_report(self.settings.state_dir, f"watch-{unit.name}", exc)
            self.emit("watch_broken", watch=unit.name, error=f"{type(exc).__name__}: {exc}", report=report)
            try:
                unit.set_aside(f"{type(exc).__name__}: {exc}")
            except Exception as again:  # even setting it aside failed: say so, go on
                self._internal_error(again)

    def _internal_error(self, exc: Exception) -> None:
        report = write_error_report(self.settings.state_dir, "agent", exc)
        self.emit("internal_error", error=f"{type(exc).__name__}: {exc}", report=report)

    def hook(self, what: str, unit: WatchUnit, **info: Any) -> None:
        pid = info.get("pid")
        if what == "died" and pid is not None:
            self.unwatch_pid(pid)
        for observer in self.observers:
            observer.unit_event(what, unit, info)
        if what == "state":
            self.start_order.changed()
            self.state_changed(unit)

    # ================================================================ config
    def load_file(self, by: str) -> Dict[str, Any]:
        """At start: read, admit and apply the config file (or the last good), waiting for
        the check; nothing is watched yet, so nothing waits on the loop."""
        try:
            admitted = self.admitter.admit_file(self.settings.config, initial=self.config is None)
        except Refusal as refusal:
            self._refused(refusal)
            return self._outcome(None, refusal)
        self._put_in_force(admitted)
        return self._outcome(admitted, None)

    def reload(self, by: str, done: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        """Read the file again; the check runs beside the loop and `done` gets the outcome."""
        self.emit("reload_requested", by=by)

        def finished(admitted: Optional[Admitted], refusal: Optional[Refusal]) -> None:
            for companion in self.companions:
                companion.reloaded()
            if done is not None:
                done(self._outcome(admitted, refusal))
        self.checks.submit("file", lambda: self.admitter.begin_file(self.settings.config), self._checked, finished)

    def offer(self, path: str, data: bytes, sig: Optional[bytes], source: str, done: Offered) -> None:
        """Bytes from elsewhere (central pull): admitted like a file, applied; `done` gets
        (admitted, None) or (None, refusal) on the loop."""
        self.checks.submit(None, lambda: self.admitter.begin_bytes(path, data, sig, source), self._checked, done)

    def _checked(self, job: Optional[Job], verdict: Optional[Verdict],
                 refusal: Optional[Refusal]) -> Tuple[Optional[Admitted], Optional[Refusal]]:
        """Once per checked config, on the loop: finish the admission, put it in force."""
        admitted: Optional[Admitted] = None
        if refusal is None and job is not None and verdict is not None:
            try:
                admitted = self.admitter.finish(job, verdict)
            except Refusal as late:
                refusal = late
        if refusal is not None:
            self._refused(refusal)
        elif admitted is not None:
            self._put_in_force(admitted)
        return admitted, refusal

    def _outcome(self, admitted: Optional[Admitted], refusal: Optional[Refusal]) -> Dict[str, Any]:
        if refusal is not None or admitted is None:
            return {"ok": False, "error": str(refusal), "code": refusal.code if refusal else "invalid"}
        return {"ok": True, "serial": admitted.config.serial, "watches": len(self.units)}

    def _refused(self, refusal: Refusal) -> None:
        self.last_refusal = {"code": refusal.code, "message": str(refusal),
                             "at": iso_utc(self.wall())}

    def _put_in_force(self, admitted: Admitted) -> None:
        self.apply(admitted.config)
        self.in_force = admitted
        self.last_refusal = None
        self.expiry.track(admitted.config.path, admitted.config.serial, admitted.config.not_after)

    def apply(self, config: Config) -> None:
        plan = plan_reload(self.config, config)
        for name in plan.removed:
            unit = self.units.pop(name)
            pids = unit.pids
            unit.close()
            self.emit("watch_removed", watch=name, pids=",".join(map(str, pids)) or "-")
        fresh: List[WatchUnit] = []
        for watch in config.watches:
            if watch.name in plan.unchanged:
                self.units[watch.name].watch = watch
                continue
            unit = WatchUnit(watch, self)
            if watch.name in plan.changed:
                unit.take_over(self.units[watch.name])
            self.units[watch.name] = unit
            fresh.append(unit)
        # dicts keep insertion order: reorder units as the config lists them
        self.units = {w.name: self.units[w.name] for w in config.watches}
        self.config = config
        self.applied_at = self.wall()
        self.configure_trees(config)
        for observer in self.observers:
            observer.configure(config, self.units)
        if fresh:
            self.pauses.restore(fresh)
            scan = Scan.take()
            for unit in self._parents_first(fresh):
                if unit.state != states.PAUSED:
                    self.guard(unit, functools.partial(self._adopt, unit, scan))
            for unit in self._parents_first(fresh):
                self.guard(unit, functools.partial(self.start_order.settle, unit))
        self.emit("config_applied", config=config.path, serial=config.serial,
                  added=len(plan.added), changed=len(plan.changed), removed=len(plan.removed),
                  unchanged=len(plan.unchanged))

    def _parents_first(self, units: List[WatchUnit]) -> List[WatchUnit]:
        def depth(unit: WatchUnit) -> int:
            d, seen, parent = 0, set(), unit.watch.match.parent
            while parent and parent not in seen and parent in self.units:
                seen.add(parent)
                d += 1
                parent = self.units[parent].watch.match.parent
            return d
        return sorted(units, key=depth)

    # ================================================================ deaths
    def _death(self, identity: Identity, detector: str) -> None:
        self._on_sigchld()  # reap first: the status of this death may be among them
        name = self.reaper.owner(identity.pid)
        status = self.reaper.take(identity.pid)
        unit = self.units.get(name or "")
        if status is None and unit is not None:
            inst = unit.instances.get(identity.pid)
            if inst is not None and inst.ours:
                status = self._wait_exiting_child(identity.pid)
        self.reaper.release(identity.pid)
        if unit is not None:
            oom = self.oom_check(unit, identity.pid, status)
            self.guard(unit, functools.partial(unit.on_death, identity.pid, status, detector))
            if oom:
                unit.last_exit = "oom-kill"

    def _wait_exiting_child(self, pid: int) -> Optional[int]:
        """The pidfd wakes a hair before the child becomes a zombie: wait that instant."""
        try:
            got, raw = os.waitpid(pid, 0)
        except ChildProcessError:
            return self.reaper.take(pid)
        return raw if got == pid else None

    def _on_sigchld(self) -> None:
        for pid, status in self.reaper.reap():
            self.emit("orphan_reaped", pid=pid, status=describe_status(status))

    def _sweep(self) -> None:
        """Slow consistency check: missed deaths, and new matching processes to adopt."""
        for unit in list(self.units.values()):
            for pid, inst in list(unit.instances.items()):
                if not procfs.is_same(inst.identity):
                    self.watcher.remove(pid)
                    self._death(inst.identity, "sweep")
        scan = Scan.take()
        for unit in self._parents_first(list(self.units.values())):
            room = len(unit.instances) < unit.watch.max_instances
            if unit.state in (states.RUNNING, states.DOWN) and room:
                self.guard(unit, functools.partial(self._adopt, unit, scan, settle=True))
        self.loop.call_later(self.settings.sweep_interval, self._sweep)

    def _rescan_all(self) -> None:
        scan = Scan.take()
        for unit in self._parents_first(list(self.units.values())):
            if unit.state in (states.RUNNING, states.STARTING, states.DOWN):
                self.guard(unit, functools.partial(self._adopt, unit, scan, settle=True))

    def _adopt(self, unit: WatchUnit, scan: Scan, settle: bool = False) -> None:
        if unit.adopt(self.find(unit, scan)) and settle:
            unit.settle()

    # ================================================================ running
    def setup(self) -> None:
        set_child_subreaper()
        self.reaper.central = True
        self.loop.on_signal(signal.SIGCHLD, self._on_sigchld)
        self.loop.on_signal(signal.SIGHUP, lambda: self._reload_quietly("SIGHUP"))
        self.loop.on_signal(signal.SIGTERM, lambda: self.stop("TERM"))
        self.loop.on_signal(signal.SIGINT, lambda: self.stop("INT"))
        self.load_file("start")
        # Never exit for a config reason: with nothing it can safely enforce, the agent stays
        # up with zero watches, says so, serves status and takes a new config at once (by
        # reload, or by pull: that is how an autoscaled server boots).
        if self.config is None:
            self._nothing_in_force()
        for companion in self.companions:
            companion.start()
        self.emit("agent_started", version=__version__, config=self.settings.config,
                  serial=self.config.serial if self.config else None, watches=len(self.units),
                  detector=self.watcher.kind)
        self.notifier.ready(f"watching {len(self.units)} watches")
        if self.notifier.watchdog_interval:
            self._watchdog()
        self.loop.call_later(self.settings.sweep_interval, self._sweep)
        # a process the previous agent started in the instant it was killed may not have
        # exec'd yet when we scanned: look once more shortly, so a duplicate shows as excess
        self.loop.call_later(LATE_EXEC_RESCAN, self._rescan_all)
        if self.watcher.poll_interval:
            self._poll_deaths()

    def _nothing_in_force(self) -> None:
        if self.config is not None:
            return
        reason = self.last_refusal["message"] if self.last_refusal else "no config file yet"
        self.emit("no_config_in_force", config=self.settings.config, reason=reason)
        self.loop.call_later(NOTHING_REPEAT, self._nothing_in_force)

    def _reload_quietly(self, by: str) -> None:
        self.reload(by)  # the outcome is logged; a signal has nobody to answer to

    def _watchdog(self) -> None:
        self.notifier.watchdog()
        assert self.notifier.watchdog_interval is not None
        self.loop.call_later(self.notifier.watchdog_interval, self._watchdog)

    def _poll_deaths(self) -> None:
        for identity in self.watcher.poll_dead():
            self._death(identity, "poll")
        assert self.watcher.poll_interval is not None
        self.loop.call_later(self.watcher.poll_interval, self._poll_deaths)

    def stop(self, signame: str) -> None:
        self.emit("agent_stopping", signal=signame)
        self.notifier.stopping()
        self.running = False

    def run(self) -> int:
        self.setup()
        self.running = True
        while self.running:
            for fd, _mask in self.loop.wait(cap=60.0):
                identity = self.watcher.on_ready(fd)
                if identity is not None:
                    self._death(identity, "pidfd")
            self.loop.run_signals()
            self.loop.run_posted()
            self.loop.run_due_timers()
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        """Leave every watched process running; close only our own resources."""
        for companion in self.companions:
            companion.stop()
        for observer in self.observers:
            observer.shutdown()
        for unit in self.units.values():
            unit.close()
        self.outputs.close()
        self.prepared.close()
        self.watcher.close()
        self.loop.close()
        self.emitter.close()
