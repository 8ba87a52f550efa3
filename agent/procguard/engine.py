"""The agent: applies the config, watches processes, and runs the event loop.

The engine is the `env` of every WatchUnit: it owns the loop, the death watcher, the
reaper, the spawner and the emitter, and routes each happening to the unit it belongs to.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import time
from typing import Any, Callable, Dict, List, Optional

from . import __version__, states
from .children import REAPER, describe_status
from .config.model import Config, Watch
from .events import catalog
from .events.emitter import Emitter
from .gate import ConfigGate, Refused
from .loop import Loop, TimerHandle, set_child_subreaper
from .proc import procfs
from .proc.matcher import Scan, candidates
from .proc.procfs import Identity
from .reconcile import plan_reload
from .sdnotify import Notifier
from .settings import Settings
from .spawn import ProcessSpawner, Spawned, Spawner
from .state_store import StateStore
from .unit import WatchUnit
from .watching.deaths import PidfdWatcher, PollWatcher


class Engine:
    pull_worker: Optional[Any] = None  # fetches signed configs over HTTPS when settings.pull has a url

    def __init__(self, settings: Settings, emitter: Emitter, spawner: Optional[Spawner] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.emitter = emitter
        self.loop = Loop(clock)
        self.spawner: Spawner = spawner or ProcessSpawner(settings.service_log_dir)
        self.store = StateStore(settings.state_dir)
        self.gate = ConfigGate(settings, self.emitter)
        self.units: Dict[str, WatchUnit] = {}
        self.owner: Dict[int, str] = {}  # pid -> watch name
        self.config: Optional[Config] = None
        self.last_refusal: Optional[Dict[str, Any]] = None
        self.admission: Any = None
        self.applied_at: Optional[float] = None
        self.started = time.time()
        self.running = False
        self.notifier = Notifier()
        self.pause_timers: Dict[str, TimerHandle] = {}
        self.watcher: Any
        if settings.detector != "poll" and PidfdWatcher.available():
            self.watcher = PidfdWatcher(self.loop.epoll)
        else:
            self.watcher = PollWatcher(settings.poll_interval)
            why = "detector: poll in the settings" if settings.detector == "poll" else "pidfd_open unavailable"
            self.emit("detector_fallback", reason=why, interval=settings.poll_interval)
        self.control: Any = None
        self.extensions: List[Any] = []  # probes, escalation: told about unit happenings

    # ================================================================ UnitEnv
    def now(self) -> float:
        return self.loop.clock()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        return self.loop.call_later(delay, fn)

    def emit(self, name: str, **fields: Any) -> None:
        self.emitter.emit(catalog.get(name), **fields)

    def spawn(self, watch: Watch) -> Spawned:
        assert watch.start is not None
        extra: Dict[str, str] = {}
        for ext in self.extensions:
            extra.update(ext.env_for(watch.name))
        spawned = self.spawner.spawn(watch.name, watch.start, extra)
        self.owner[spawned.pid] = watch.name
        return spawned

    def watch_pid(self, identity: Identity, watch: str) -> bool:
        if not self.watcher.add(identity):
            return False
        self.owner[identity.pid] = watch
        return True

    def unwatch_pid(self, pid: int) -> None:
        self.watcher.remove(pid)
        self.owner.pop(pid, None)

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
        scan = scan or Scan.take()
        parent_pids: List[int] = []
        if unit.watch.match.parent:
            parent = self.units.get(unit.watch.match.parent)
            parent_pids = parent.pids if parent else []
        exclude = set(self.owner) | {os.getpid()}
        for ext in self.extensions:
            exclude |= set(ext.owned_pids())
        found, stale = candidates(unit.watch.match, scan, parent_pids, exclude)
        if stale is not None:
            self.emit("stale_pidfile", watch=unit.name, pidfile=stale[0], pid=stale[1])
        return found

    def identity_of(self, pid: int) -> Optional[Identity]:
        return procfs.identity_of(pid)

    def hook(self, what: str, unit: WatchUnit, **info: Any) -> None:
        if what in ("died", "started"):
            pid = info.get("pid")
            if what == "died" and pid is not None:
                self.unwatch_pid(pid)
            elif pid is not None:
                self.owner[pid] = unit.name
        for ext in self.extensions:
            ext.unit_event(what, unit, info)

    # ================================================================ config
    def apply_file(self, by: str) -> Dict[str, Any]:
        """Read, admit and apply the config file; the old one stays on any refusal."""
        try:
            admitted = self.gate.admit_file(self.settings.config, initial=self.config is None)
        except Refused as refusal:
            self.last_refusal = {"code": refusal.code, "message": str(refusal),
                                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            return {"ok": False, "error": str(refusal), "code": refusal.code}
        self.apply(admitted.config)
        self.admission = admitted.admission
        self.last_refusal = None
        return {"ok": True, "serial": admitted.config.serial, "watches": len(self.units)}

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
        self.applied_at = time.time()
        for ext in self.extensions:
            ext.configure(config, self)
        if self.applied_at and fresh:
            self._restore_pauses(fresh)
            scan = Scan.take()
            for unit in self._parents_first(fresh):
                if unit.state != states.PAUSED:
                    unit.adopt(self.find(unit, scan))
            for unit in self._parents_first(fresh):
                unit.settle()
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

    # ================================================================ pauses
    def _restore_pauses(self, units: List[WatchUnit]) -> None:
        pauses = self.store.load_pauses()
        for unit in units:
            until = pauses.get(unit.name)
            if until is None:
                continue
            if until <= time.time():
                continue
            unit.paused_until = until
            unit.state = states.PAUSED
            self._arm_pause_expiry(unit)

    def _arm_pause_expiry(self, unit: WatchUnit) -> None:
        old = self.pause_timers.pop(unit.name, None)
        if old:
            old.cancel()
        until = unit.paused_until
        if until is not None and not math.isinf(until):
            self.pause_timers[unit.name] = self.call_later(
                max(0.0, until - time.time()), functools.partial(self._pause_expired, unit))

    def _pause_expired(self, unit: WatchUnit) -> None:
        if self.units.get(unit.name) is unit and unit.paused_until is not None:
            unit.resume(by="timer", reason="expired")
            self._save_pauses()

    def _save_pauses(self) -> None:
        self.store.save_pauses({u.name: u.paused_until for u in self.units.values()
                                if u.paused_until is not None})

    def pause(self, names: List[str], seconds: Optional[float], by: str) -> None:
        until = math.inf if seconds is None else time.time() + seconds
        for name in names:
            unit = self.units[name]
            unit.pause(until, by)
            self.emit("paused", watch=name, until="resume" if math.isinf(until) else
                      time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)), by=by)
            self._arm_pause_expiry(unit)
        self._save_pauses()

    def resume(self, names: List[str], by: str) -> None:
        for name in names:
            unit = self.units[name]
            timer = self.pause_timers.pop(name, None)
            if timer:
                timer.cancel()
            unit.resume(by, "request")
        self._save_pauses()

    # ================================================================ deaths
    def _death(self, identity: Identity, detector: str) -> None:
        REAPER.reap_all()
        status = REAPER.take(identity.pid)
        name = self.owner.pop(identity.pid, None)
        if status is None and name is not None:
            unit = self.units.get(name)
            inst = unit.instances.get(identity.pid) if unit else None
            if inst is not None and inst.ours:
                status = self._wait_exiting_child(identity.pid)
        unit = self.units.get(name or "")
        if unit is not None:
            unit.on_death(identity.pid, status, detector)

    @staticmethod
    def _wait_exiting_child(pid: int) -> Optional[int]:
        """The pidfd wakes a hair before the child becomes a zombie: wait that instant."""
        try:
            got, status = os.waitpid(pid, 0)
            return status if got == pid else None
        except ChildProcessError:
            return REAPER.take(pid)

    def _on_sigchld(self) -> None:
        for pid, status in REAPER.reap_all():
            if pid not in self.owner and not any(pid in ext.owned_pids() for ext in self.extensions):
                REAPER.take(pid)
                self.emit("orphan_reaped", pid=pid, status=describe_status(status))

    def _sweep(self) -> None:
        """Slow consistency check: missed deaths, and new matching processes to adopt."""
        for pid, name in list(self.owner.items()):
            unit = self.units.get(name)
            inst = unit.instances.get(pid) if unit else None
            if inst is not None and not procfs.is_same(inst.identity):
                self.watcher.remove(pid)
                self._death(inst.identity, "sweep")
        scan = Scan.take()
        for unit in self._parents_first(list(self.units.values())):
            room = len(unit.instances) < unit.watch.max_instances
            if unit.state in (states.RUNNING, states.DOWN) and room and unit.adopt(self.find(unit, scan)):
                unit.settle()
        self.loop.call_later(self.settings.sweep_interval, self._sweep)

    # ================================================================ running
    def setup(self) -> bool:
        set_child_subreaper()
        REAPER.central = True
        from .control.server import ControlServer
        from .commands import Commands
        self.commands = Commands(self)
        self.control = ControlServer(self.settings.socket, self.commands.handle,
                                     lambda uid, why: self.emit("control_refused", uid=uid, reason=why))
        self.loop.epoll.register(self.control.fileno(), 1)
        self.loop.on_signal(signal.SIGCHLD, self._on_sigchld)
        self.loop.on_signal(signal.SIGHUP, functools.partial(self._reload_quietly, "SIGHUP"))
        self.loop.on_signal(signal.SIGTERM, lambda: self.stop("TERM"))
        self.loop.on_signal(signal.SIGINT, lambda: self.stop("INT"))
        result = self.apply_file("start")
        if not result["ok"] and self.config is None and not self.settings.pull.get("url"):
            return False  # nothing to run, and nowhere to get it from
        # With a pull URL, a fresh host (no config yet) keeps running and waits for its
        # first signed config from the server: that is how an autoscaled server boots.
        self.emit("agent_started", version=__version__, config=self.settings.config,
                  serial=self.config.serial if self.config else None, watches=len(self.units),
                  detector=self.watcher.kind)
        self.notifier.ready(f"watching {len(self.units)} watches")
        if self.notifier.watchdog_interval:
            self._watchdog()
        self.loop.call_later(self.settings.sweep_interval, self._sweep)
        if self.watcher.poll_interval:
            self._poll_deaths()
        if self.settings.pull.get("url"):
            from .pull_worker import PullWorker  # loads requests: only when pulling
            self.pull_worker = PullWorker(self)
            self.pull_worker.start()
        return True

    def reload(self, by: str) -> Dict[str, Any]:
        self.emit("reload_requested", by=by)
        result = self.apply_file(by)
        if self.pull_worker is not None:
            self.pull_worker.refresh()  # trusted keys may have changed: look at the server again
        return result

    def _reload_quietly(self, by: str) -> None:
        self.reload(by)  # the outcome is logged; a signal has nobody to answer to

    def _watchdog(self) -> None:
        self.notifier.watchdog()
        assert self.notifier.watchdog_interval is not None
        self.loop.call_later(self.notifier.watchdog_interval, self._watchdog)

    def _poll_deaths(self) -> None:
        for identity in self.watcher.poll_dead():
            self._death(identity, "poll")
        self.loop.call_later(self.watcher.poll_interval, self._poll_deaths)

    def stop(self, signame: str) -> None:
        self.emit("agent_stopping", signal=signame)
        self.notifier.stopping()
        self.running = False

    def run(self) -> int:
        if not self.setup():
            return 1
        self.running = True
        control_fd = self.control.fileno()
        while self.running:
            for fd, _mask in self.loop.wait(cap=60.0):
                if self.watcher.owns(fd):
                    identity = self.watcher.on_ready(fd)
                    if identity is not None:
                        self._death(identity, "pidfd")
                elif fd == control_fd:
                    conn = self.control.accept()
                    if conn is not None:
                        self.loop.epoll.register(conn.fileno(), 1)
                elif fd in self.control.clients:
                    self._client_done(fd)  # a finished client is closed, which leaves epoll
            self.loop.run_signals()
            self.loop.run_posted()
            self.loop.run_due_timers()
        self.shutdown()
        return 0

    def _client_done(self, fd: int) -> bool:
        try:
            return self.control.readable(fd)
        except Exception:  # a bad client must never take the agent down
            self.control.drop(fd)
            return True

    def shutdown(self) -> None:
        """Leave every watched process running; close only our own resources."""
        if self.pull_worker is not None:
            self.pull_worker.stop()
        for ext in self.extensions:
            ext.shutdown()
        for unit in self.units.values():
            unit.close()
        if self.control is not None:
            self.control.close()
        self.watcher.close()
        self.loop.close()
        self.emitter.close()

