"""A fake engine for the state machine: a clock that moves only when told, a spawner that
hands out PIDs, and a record of every event, signal and hook (honcho's idea, with types)."""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable, List, Optional, Tuple

from procguard.config.loader import parse
from procguard.proc.procfs import Identity
from procguard.spawn import Spawned, SpawnError
from procguard.unit import WatchUnit


class FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeEnv:
    """Everything a unit asks of the engine, recorded; time moves only when told."""

    def __init__(self) -> None:
        self.t = 0.0
        self.timers: List[Tuple[float, int, FakeTimer, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.events: List[Tuple[str, dict]] = []
        self.next_pid = 1000
        self.spawn_error: Optional[str] = None
        self.signals: List[Tuple[int, int]] = []
        self.found: List[Identity] = []
        self.hooks: List[str] = []
        self.tree_signals: List[Tuple[Tuple[int, ...], int]] = []  # (pids, signal) sent to trees
        self.tree_kills: List[Tuple[int, ...]] = []
        self.leftovers = 0  # tree_left() answers True this many more times
        self.exit_statuses: dict = {}

    def now(self) -> float:
        return self.t

    def call_later(self, delay: float, fn: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer()
        heapq.heappush(self.timers, (self.t + delay, next(self.seq), timer, fn))
        return timer

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while self.timers and self.timers[0][0] <= end:
            when, _, timer, fn = heapq.heappop(self.timers)
            self.t = when
            if not timer.cancelled:
                fn()
        self.t = end

    def emit(self, name: str, **fields: Any) -> None:
        self.events.append((name, fields))

    def spawn(self, watch: Any) -> Spawned:
        if self.spawn_error:
            raise SpawnError(self.spawn_error)
        self.next_pid += 1
        return Spawned(self.next_pid, ("x",))

    def watch_pid(self, identity: Identity, watch: str) -> bool:
        return True

    def unwatch_pid(self, pid: int) -> None:
        pass

    def send_signal(self, identity: Identity, sig: int) -> bool:
        self.signals.append((identity.pid, sig))
        return True

    def find(self, unit: WatchUnit) -> List[Identity]:
        return list(self.found)

    def identity_of(self, pid: int) -> Optional[Identity]:
        return Identity(pid, pid * 10, "boot")

    def hook(self, what: str, unit: WatchUnit, **info: Any) -> None:
        self.hooks.append(what)

    def stop_tree(self, unit: WatchUnit, pids: List[int], sig: int) -> None:
        self.tree_signals.append((tuple(pids), sig))

    def tree_left(self, unit: WatchUnit, pids: List[int]) -> bool:
        if self.leftovers > 0:
            self.leftovers -= 1
            return True
        return False

    def kill_tree(self, unit: WatchUnit, pids: List[int]) -> None:
        self.tree_kills.append(tuple(pids))

    def guard(self, unit: WatchUnit, fn: Callable[[], None]) -> None:
        fn()  # a test wants to see the exception

    def exit_status(self, pid: int) -> Optional[int]:
        return self.exit_statuses.get(pid)

    def names(self) -> List[str]:
        return [n for n, _ in self.events if n != "state_changed"]


def make_unit(extra: str = "", start: bool = True) -> Tuple[WatchUnit, FakeEnv]:
    text = "version: 1\nwatches:\n  - name: w\n"
    text += "    start: {argv: [/bin/true], ready: {alive_for: 1s}}\n" if start else "    match: {comm: foo}\n"
    text += extra
    config, _ = parse(text, "t.yaml")
    env = FakeEnv()
    unit = WatchUnit(config.watches[0], env, rng=lambda: 0.5)
    return unit, env


def die(unit: WatchUnit, status: Optional[int] = 9) -> None:
    unit.on_death(unit.pids[0], status)
