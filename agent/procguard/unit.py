"""One WatchUnit per watch: its state machine.

Every change of state goes through `_to()`, which checks the edge against states.EDGES and
emits an event; each handler below names the edges it takes (`# RUNNING -> BACKOFF`).
The unit never touches the system directly:
starting, signalling, scanning, timers and the clock all come from `env`, so tests can
drive it with a fake clock and a fake spawner.
"""

from __future__ import annotations

import functools
import signal
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol

from . import states
from .children.status import describe_status, exit_code
from .config.model import Watch
from .durations import describe_until, format_duration
from .policy import Backoff, RestartBudget
from .proc.procfs import Identity
from .spawn import Spawned, SpawnError

DAEMON_RESCAN = 0.2  # seconds between scans while a forking start settles
TREE_POLL = 0.02  # seconds between looks at a stopped tree until nothing of it is left
RESCAN_FIRST = 0.5  # a watch without start that is short of instances looks again after this
RESCAN_MAX = 60.0


class Timer(Protocol):
    def cancel(self) -> None: ...


class UnitEnv(Protocol):
    """What a unit needs from the engine."""

    def now(self) -> float: ...
    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer: ...
    def emit(self, name: str, **fields: Any) -> None: ...
    def spawn(self, watch: Watch) -> Spawned: ...
    def watch_pid(self, identity: Identity, watch: str) -> bool: ...
    def unwatch_pid(self, pid: int) -> None: ...
    def send_signal(self, identity: Identity, sig: int) -> bool: ...
    def find(self, unit: WatchUnit) -> List[Identity]: ...
    def identity_of(self, pid: int) -> Optional[Identity]: ...
    def hook(self, what: str, unit: WatchUnit, **info: Any) -> None: ...
    # the process tree of a watch (its cgroup, or the sessions it started): `groups` empty
    # means the whole watch; else the trees of those started instances only
    def stop_tree(self, unit: WatchUnit, groups: List[int], sig: int) -> None: ...
    def tree_left(self, unit: WatchUnit, groups: List[int]) -> bool: ...
    def kill_tree(self, unit: WatchUnit, groups: List[int]) -> None: ...
    def guard(self, unit: WatchUnit, fn: Callable[[], None]) -> None: ...
    def exit_status(self, pid: int) -> Optional[int]: ...


@dataclass
class Instance:
    """One running process of a watch, started by us or adopted."""

    __slots__ = ("good", "identity", "ours", "since")
    identity: Identity
    ours: bool            # started by this agent (exit status known), or adopted
    since: float          # monotonic time it was started or adopted
    good: bool


class WatchUnit:
    # slots: a fleet host may have hundreds of watches, and the agent should stay small
    __slots__ = ("_after_stop", "_daemon_deadline", "_excess", "_failed", "_in_batch", "_rescan_delay", "_stopped",
                 "_timers", "_tree_deadline",
                 "attempts", "backoff", "budget", "env", "expected_exits", "instances", "last_exit",
                 "paused_until", "stalled", "state", "watch")

    def __init__(self, watch: Watch, env: UnitEnv, rng: Optional[Callable[[], float]] = None) -> None:
        self.watch = watch
        self.env = env
        self.state = states.DOWN if watch.start is None else states.STARTING
        self.instances: Dict[int, Instance] = {}
        self.budget = RestartBudget(watch.restart)
        self.backoff = Backoff(watch.restart, rng) if rng else Backoff(watch.restart)
        self.paused_until: Optional[float] = None  # wall clock; inf = until resumed
        self.expected_exits: Dict[int, str] = {}  # pid -> why the agent expects it to end
        self.last_exit: Optional[str] = None
        self.stalled: Optional[str] = None
        self.attempts = 0
        self._timers: Dict[str, Timer] = {}
        self._after_stop: Optional[Callable[[], None]] = None
        self._daemon_deadline: Optional[float] = None
        self._failed = False  # in GAVE_UP or DOWN since the last time it ran well
        self._in_batch = False  # starting several instances: settle once, at the end
        self._rescan_delay = 0.0
        self._stopped: Optional[List[int]] = None  # the tree the stop in progress waits for ([]: all)
        self._tree_deadline: Optional[float] = None
        self._excess = False  # more instances than instances.max, reported once until fixed

    # ---------------------------------------------------------------- helpers
    @property
    def name(self) -> str:
        return self.watch.name

    @property
    def pids(self) -> List[int]:
        return sorted(self.instances)

    @property
    def healthy(self) -> bool:
        """Running and ready, as a load balancer means it: not starting, not backing off,
        not stalled, and neither too few nor too many instances."""
        return (self.state == states.RUNNING and self.stalled is None
                and self.watch.min_instances <= len(self.instances) <= self.watch.max_instances)

    def _to(self, new: str, **why: Any) -> None:
        if new == self.state:
            return
        states.check_edge(self.state, new)
        old, self.state = self.state, new
        self.env.emit("state_changed", watch=self.name, **{"from": old, "to": new}, **why)
        if new in (states.GAVE_UP, states.DOWN):
            self._failed = True
        elif new == states.RUNNING and self._failed:
            self._failed = False
            self.env.emit("recovered", watch=self.name, pids=",".join(map(str, self.pids)))
            self.env.hook("recovered", self)
        self.env.hook("state", self)

    def _timer(self, key: str, delay: float, fn: Callable[[], None]) -> None:
        self._cancel(key)
        self._timers[key] = self.env.call_later(delay, functools.partial(self._fire, key, fn))

    def _fire(self, key: str, fn: Callable[[], None]) -> None:
        """A timer ran out: it is forgotten (not kept, with its closure, until the next
        cancel: a few hundred bytes a watch), then `fn` runs."""
        self._timers.pop(key, None)
        self.env.guard(self, fn)

    def _cancel(self, *keys: str) -> None:
        for key in keys:
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        """Forget timers and stop watching PIDs; the processes keep running."""
        self._cancel(*list(self._timers))
        for pid in list(self.instances):
            self.env.unwatch_pid(pid)
        self.instances.clear()

    # ---------------------------------------------------------------- adopting
    def adopt(self, identities: List[Identity], ours: bool = False) -> int:
        """Watch already-running processes; returns how many were new."""
        added = 0
        for identity in identities:
            if identity.pid in self.instances:
                continue
            if not self.env.watch_pid(identity, self.name):
                continue
            self.instances[identity.pid] = Instance(identity, ours, self.env.now(), good=True)
            self.env.emit("process_adopted", watch=self.name, pid=identity.pid,
                          started_at=int(identity.started_at))
            self.env.hook("adopted", self, pid=identity.pid)
            added += 1
        return added

    def take_over(self, old: WatchUnit) -> None:
        """After a reload changed this watch: keep the old unit's processes running."""
        for pid, inst in old.instances.items():
            self.instances[pid] = inst
        old.instances = {}
        old._cancel(*list(old._timers))
        if old.paused_until is not None:
            self.restore_pause(old.paused_until)

    def settle(self) -> None:
        """Decide what to do with the instances we have: run, start more, or report down."""
        if self.state in (states.PAUSED, states.GAVE_UP, states.BACKOFF, states.STOPPING, states.EXITED,
                          states.BROKEN):
            return
        have, need = len(self.instances), self.watch.min_instances
        self._check_excess()
        if have >= need:
            if all(i.good for i in self.instances.values()):
                self._to(states.RUNNING)  # STARTING/DOWN -> RUNNING
                self._arm_stable()
            return
        if self.watch.start is None:
            self._arm_rescan()
            if self.state == states.DOWN and self._failed:
                return
            self.env.emit("instances_short", watch=self.name, current=have, min=need)
            self._to(states.DOWN, reason="no start command")  # RUNNING -> DOWN
            self._failed = True
            if self.watch.on_giveup.action == "escalate":
                self.env.hook("gave_up", self, reason="instances short and no start command")
            return
        self._start_missing()

    def _check_excess(self) -> None:
        """More matching processes than instances.max (a duplicated daemon, say): reported at
        once, unhealthy until back within bounds; never killed on a guess."""
        excess = len(self.instances) > self.watch.max_instances
        if excess and not self._excess:
            self.env.emit("instances_excess", watch=self.name, current=len(self.instances),
                          max=self.watch.max_instances, pids=",".join(map(str, self.pids)))
        if excess != self._excess:
            self._excess = excess
            self.env.hook("state", self)  # health changed

    def _arm_rescan(self) -> None:
        """Too few instances and nothing to start them with: look again, less and less often
        (a master may respawn its workers; an init script may bring a daemon back)."""
        if "rescan" in self._timers:
            return
        self._rescan_delay = min(RESCAN_MAX, self._rescan_delay * 2) if self._rescan_delay else RESCAN_FIRST
        self._timer("rescan", self._rescan_delay, self._rescan)

    def _rescan(self) -> None:
        self._timers.pop("rescan", None)
        if self.state in (states.PAUSED, states.RUNNING):
            return
        self.adopt(self.env.find(self))
        if len(self.instances) >= self.watch.min_instances:
            self._rescan_delay = 0.0
        self.settle()

    # ---------------------------------------------------------------- starting
    def _start_missing(self) -> None:
        if self._in_batch:
            return
        missing = self.watch.min_instances - len(self.instances)
        self._in_batch = True
        try:
            for _ in range(max(missing, 0)):
                if not self._start_one():
                    return
        finally:
            self._in_batch = False
        if self.state == states.STARTING and all(i.good for i in self.instances.values()):
            self.settle()

    def _start_one(self) -> bool:
        assert self.watch.start is not None
        self.attempts += 1
        try:
            spawned = self.env.spawn(self.watch)
        except SpawnError as exc:
            self.env.emit("start_failed", watch=self.name, reason=str(exc), attempt=self.attempts)
            self._failure("start failed")
            return False
        self.env.emit("process_started", watch=self.name, pid=spawned.pid, attempt=self.attempts,
                      argv=" ".join(spawned.argv))
        identity = self.env.identity_of(spawned.pid)
        if identity is None or not self.env.watch_pid(identity, self.name):
            # it ended before we could watch it: a forking daemon's launcher, or a failure
            status = self.env.exit_status(spawned.pid)
            self.env.unwatch_pid(spawned.pid)
            if exit_code(status) == 0 and self._forking():
                self.env.emit("process_exited_planned", watch=self.name, pid=spawned.pid,
                              status=describe_status(status), reason="launcher")
                self._to(states.STARTING)  # -> STARTING: waiting for the daemon
                self._await_daemon()
                return False
            self.env.emit("start_failed", watch=self.name, reason=f"exited at once ({describe_status(status)})",
                          attempt=self.attempts)
            self._failure("exited at once")
            return False
        now = self.env.now()
        self.instances[spawned.pid] = Instance(identity, True, now, good=False)
        self.env.hook("started", self, pid=spawned.pid)
        self._to(states.STARTING)  # RUNNING/BACKOFF/GAVE_UP/DOWN -> STARTING
        start = self.watch.start
        if start.ready_probe is None:
            if start.alive_for <= 0:
                self._good(spawned.pid)
            else:
                self._timer(f"good:{spawned.pid}", start.alive_for, functools.partial(self._good, spawned.pid))
        else:
            self._timer(f"good:{spawned.pid}", start.timeout, functools.partial(self._not_ready, spawned.pid))
        return True

    def _good(self, pid: int) -> None:
        inst = self.instances.get(pid)
        if inst is None or inst.good:
            return
        inst.good = True
        self._cancel(f"good:{pid}")
        self.env.emit("start_good", watch=self.name, pid=pid,
                      after=format_duration(round(self.env.now() - inst.since, 3)))
        self.env.hook("good", self, pid=pid)
        if self.state == states.STARTING and not self._in_batch:
            self.settle()  # STARTING -> RUNNING when every instance is good

    def ready(self) -> None:
        """A readiness probe (or READY=1) says the service is up."""
        for pid, inst in list(self.instances.items()):
            if not inst.good:
                self._good(pid)

    def _not_ready(self, pid: int) -> None:
        if pid in self.instances and not self.instances[pid].good:
            self.env.emit("start_failed", watch=self.name, reason="not ready within start timeout",
                          attempt=self.attempts)
            self.stop_instances("not ready", after=lambda: self._failure("not ready"), pids=[pid])

    def _arm_stable(self) -> None:
        self._timer("stable", self.watch.restart.backoff.reset_after, self.backoff.stable)

    # ---------------------------------------------------------------- deaths
    def on_death(self, pid: int, status: Optional[int], detector: str = "pidfd") -> None:
        inst = self.instances.pop(pid, None)
        if inst is None:
            return
        self._cancel(f"good:{pid}")
        described = describe_status(status)
        self.last_exit = described
        code = exit_code(status)
        planned = self._planned(pid, inst, code)
        if planned:
            self.env.emit("process_exited_planned", watch=self.name, pid=pid, status=described, reason=planned)
        elif inst.ours and not inst.good:
            # ended before its start was good: a failed start, however fast it ended
            self.env.emit("start_failed", watch=self.name, reason=f"exited before the start was good ({described})",
                          attempt=self.attempts)
        else:
            self.env.emit("process_died", watch=self.name, pid=pid, status=described,
                          restarts=self.budget.total, detector=detector)
        self.env.hook("died", self, pid=pid, planned=planned, detector=detector)
        self._check_excess()
        if pid in self.expected_exits:
            del self.expected_exits[pid]
            if not self.expected_exits and self._after_stop is not None:
                self._finish_stop()
            return
        if self.state in (states.PAUSED, states.GAVE_UP, states.EXITED, states.BROKEN):
            return  # nothing is restarted in these states
        if planned == "expected_exit":
            self.env.emit("not_restarted_exit_code", watch=self.name, pid=pid, status=described)
            if not self.instances:
                self._clear_leftovers(inst, lambda: self._to(states.EXITED))  # RUNNING/STOPPING -> EXITED
            return
        if planned == "launcher":
            self._await_daemon()
            return
        if len(self.instances) >= self.watch.min_instances:
            self._clear_leftovers(inst, lambda: None)
            return  # the others are enough
        self._cancel("stable")
        self._clear_leftovers(inst, lambda: self._failure(described))

    def _planned(self, pid: int, inst: Instance, code: Optional[int]) -> Optional[str]:
        """Why this death was expected, or None for a crash (docs/messages.md, PG1021)."""
        if pid in self.expected_exits:
            return self.expected_exits[pid]
        if self.state == states.PAUSED:
            return "paused"
        if code is not None and code in self.watch.restart.no_restart_exit_codes:
            return "expected_exit"
        if inst.ours and not inst.good and code == 0 and self._forking():
            return "launcher"
        return None

    def _forking(self) -> bool:
        """A start whose process exits 0 at once, with explicit match criteria, daemonizes."""
        return self.watch.match.argv is None and self.watch.start is not None

    def _await_daemon(self) -> None:
        assert self.watch.start is not None
        if self._daemon_deadline is None:
            self._daemon_deadline = self.env.now() + self.watch.start.timeout
        found = self.env.find(self)
        if found:
            self.adopt(found)  # every copy found: a duplicate shows as excess at once
            self._daemon_deadline = None
            self.settle()
        elif self.env.now() >= self._daemon_deadline:
            self._daemon_deadline = None
            self.env.emit("start_failed", watch=self.name, reason="daemon did not appear within start timeout",
                          attempt=self.attempts)
            self._failure("daemon did not appear")
        else:
            self._timer("daemon", DAEMON_RESCAN, self._await_daemon)

    def _failure(self, reason: str) -> None:
        """Decide after a death or failed start: restart now, back off, or give up."""
        if self.state in (states.PAUSED, states.GAVE_UP):
            return
        now = self.env.now()
        if self.watch.start is None:
            self.settle()  # -> DOWN
            return
        if self.budget.spent(now):
            self._give_up(reason)  # STARTING/RUNNING -> GAVE_UP
            return
        delay = self.backoff.next_delay()
        self.budget.record(now)
        if delay <= 0:
            if self._in_batch:  # a start inside a batch failed: retry once the batch is done
                self._timer("again", 0.0, self._start_missing)
            else:
                self._start_missing()  # RUNNING -> STARTING
            return
        self._to(states.BACKOFF, reason=reason)  # RUNNING/STARTING -> BACKOFF
        self.env.emit("backoff", watch=self.name, delay=format_duration(round(delay, 3)),
                      restarts_in_window=self.budget.in_window(now),
                      max_restarts=self.watch.restart.max_restarts)
        self._timer("backoff", delay, self._backoff_over)

    def _backoff_over(self) -> None:
        self._timers.pop("backoff", None)
        if self.state == states.BACKOFF:
            self._start_missing()  # BACKOFF -> STARTING

    def _give_up(self, reason: str) -> None:
        now = self.env.now()
        giveup = self.watch.on_giveup
        self._to(states.GAVE_UP, reason=reason)
        self.env.emit("gave_up", watch=self.name, restarts_in_window=self.budget.in_window(now),
                      window=format_duration(self.watch.restart.window), on_giveup=giveup.action)
        if giveup.action == "escalate":
            self.env.hook("gave_up", self, reason=reason)
        if giveup.action in ("slow_retry", "escalate"):
            self._schedule_slow_retry()

    def _schedule_slow_retry(self) -> None:
        every = self.watch.on_giveup.retry_every
        self.env.emit("slow_retry", watch=self.name, next_in=format_duration(every))
        self._timer("retry", every, self._slow_retry)

    def _slow_retry(self) -> None:
        self._timers.pop("retry", None)
        if self.state != states.GAVE_UP:
            return
        self.budget.reset()
        self.backoff.stable()
        found = self.env.find(self) if self.watch.start is None else []
        self.adopt(found)
        self._start_missing()  # GAVE_UP -> STARTING
        if self.state == states.GAVE_UP:
            self._schedule_slow_retry()

    # ---------------------------------------------------------------- stopping
    def stop_instances(self, how: str, after: Callable[[], None], pids: Optional[List[int]] = None,
                       planned: str = "stop") -> None:
        """Stop signal, then SIGKILL after stop.timeout; call `after` once all have exited.
        `planned` is the reason their ends are logged with (PG1021): restart, stall or stop."""
        targets = [p for p in (pids or list(self.instances)) if p in self.instances]
        if not targets:
            after()
            return
        self._to(states.STOPPING, reason=how)  # -> STOPPING
        self.expected_exits.update(dict.fromkeys(targets, planned))
        self._after_stop = after
        whole = len(targets) == len(self.instances)
        groups = [] if whole else [p for p in targets if self.instances[p].ours]
        self._stopped = groups if whole or groups else None
        for pid in targets:
            identity = self.instances[pid].identity
            ok = self.env.send_signal(identity, self.watch.stop_signal)
            self.env.emit("process_stopped", watch=self.name, pid=pid,
                          signal=signal.Signals(self.watch.stop_signal).name[3:], how=how)
            if not ok:
                self.expected_exits.pop(pid, None)
            else:
                # a stopped (T) process acts on the stop signal only once continued; without
                # this it would wait out the whole stop.timeout
                self.env.send_signal(identity, signal.SIGCONT)
        if self._stopped is not None:
            self.env.stop_tree(self, self._stopped, self.watch.stop_signal)  # the rest of the tree too
        self._timer("kill", self.watch.stop_timeout, self._kill_remaining)

    def _kill_remaining(self) -> None:
        self._timers.pop("kill", None)
        for pid in list(self.expected_exits):
            inst = self.instances.get(pid)
            if inst is not None:
                self.env.send_signal(inst.identity, signal.SIGKILL)
                self.env.emit("process_stopped", watch=self.name, pid=pid, signal="KILL", how="stop timeout")
        if self._stopped is not None:
            self.env.kill_tree(self, self._stopped)  # cgroup.kill: forks in flight included

    def _finish_stop(self) -> None:
        """The stopped processes are gone: carry on once nothing of their tree is left
        (a worker or a double-forked grandchild would hold ports and files). After the
        SIGKILL of stop.timeout, an unkillable leftover is waited for one more stop.timeout."""
        self._timers.pop("tree", None)
        if self._stopped is not None and self.env.tree_left(self, self._stopped):
            now = self.env.now()
            if self._tree_deadline is None:
                self._tree_deadline = now + 2 * self.watch.stop_timeout
            if now < self._tree_deadline:
                self._timer("tree", TREE_POLL, self._finish_stop)
                return
            self.env.emit("tree_not_empty", watch=self.name, waited=format_duration(2 * self.watch.stop_timeout))
        self._tree_deadline = None
        self._stopped = None
        self._cancel("kill")
        after, self._after_stop = self._after_stop, None
        if after is not None:
            after()

    def _clear_leftovers(self, dead: Instance, then: Callable[[], None]) -> None:
        """A process died by itself: what it started goes before anything is restarted,
        as a stop would do it (stop signal, SIGKILL after stop.timeout)."""
        if self.instances and not dead.ours:
            then()  # the others run on, and an adopted process's group is not ours to touch
            return
        groups = [dead.identity.pid] if self.instances else []  # the dead one's tree, or the whole watch's
        if not self.env.tree_left(self, groups):
            then()
            return
        self.env.emit("leftovers_stopped", watch=self.name, pid=dead.identity.pid,
                      signal=signal.Signals(self.watch.stop_signal).name[3:])
        self.env.stop_tree(self, groups, self.watch.stop_signal)
        if groups or self._after_stop is not None:
            then()  # other instances run on, or a stop is already under way: do not wait here
            return
        self._to(states.STOPPING, reason="left-over processes")  # RUNNING/STARTING/DOWN -> STOPPING
        self._after_stop = then
        self._stopped = groups
        self._timer("kill", self.watch.stop_timeout, self._kill_remaining)
        self._finish_stop()

    # ---------------------------------------------------------------- operators and probes
    def request_restart(self, by: str) -> None:
        """Operator restart: the budget starts afresh and a gave-up watch tries again."""
        self.env.emit("restart_requested", watch=self.name, by=by)
        self.budget.reset()
        self.backoff.stable()
        self._cancel("retry", "backoff")
        if self.state == states.PAUSED:
            return
        self.stop_instances("restart requested", after=self._restart_after_stop, planned="restart")

    def _restart_after_stop(self) -> None:
        if self.watch.start is None:
            self.adopt(self.env.find(self))
            self._to(states.DOWN)
        else:
            self._to(states.STARTING)  # STOPPING/GAVE_UP/EXITED -> STARTING
        self.settle()

    def stall(self, detail: str) -> None:
        """A probe declared the process stalled: stop it and restart it by policy."""
        self.stalled = detail
        if self.state not in (states.RUNNING, states.STARTING):
            return
        self.env.hook("stalled", self, detail=detail)
        self.stop_instances("stalled", after=lambda: self._stall_stopped(detail), planned="stall")

    def _stall_stopped(self, detail: str) -> None:
        self.stalled = None
        self._failure(f"stalled: {detail}")  # STOPPING -> STARTING/BACKOFF/GAVE_UP

    def unstalled(self) -> None:
        self.stalled = None  # the engine tells the observers (health changed)

    def set_aside(self, error: str) -> None:
        """An internal error while handling this watch: stop acting on it, keep the others."""
        self._cancel(*list(self._timers))
        self._after_stop = None
        self._stopped = None
        self._to(states.BROKEN, reason=error)  # any -> BROKEN

    def restore_pause(self, until: float) -> None:
        """A pause that was in force before (saved, or on the unit a reload replaced)."""
        self.paused_until = until
        self._to(states.PAUSED, by="restored")  # STARTING/DOWN -> PAUSED

    def pause(self, until: float, by: str) -> None:
        self.paused_until = until
        self._cancel("backoff", "retry", "daemon")
        self._to(states.PAUSED, by=by)  # any -> PAUSED

    def resume(self, by: str, reason: str) -> None:
        if self.paused_until is None:
            return
        self.paused_until = None
        self.budget.reset()
        self.backoff.stable()
        self.env.emit("resumed", watch=self.name, by=by, reason=reason)
        self._to(states.STARTING if self.watch.start else states.DOWN)  # PAUSED -> ...
        self.adopt(self.env.find(self))
        self.settle()  # PAUSED -> RUNNING/STARTING

    def status(self) -> Dict[str, Any]:
        now = self.env.now()
        return {
            "name": self.name,
            "state": self.state,
            "healthy": self.healthy,
            "pids": self.pids,
            "instances": {"min": self.watch.min_instances, "max": self.watch.max_instances,
                          "current": len(self.instances)},
            "restarts": self.budget.total,
            "restarts_in_window": self.budget.in_window(now),
            "paused_until": describe_until(self.paused_until),
            "last_exit": self.last_exit,
            "stalled": self.stalled,
        }
