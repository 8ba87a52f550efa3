"""Pauses: planned work on a watch. Who is paused until when, kept across agent restarts.

A pause has a wall-clock expiry (or none: until resumed), because an operator says "for 2h"
and means it across an agent restart too. The file is written atomically; a damaged file
is ignored rather than stopping the agent (a pause is a convenience, never a safety
feature). The clock and the timer come in from the engine, so tests need no sleeping.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol

from .durations import describe_until
from .fileio import write_atomically
from .unit import Timer, WatchUnit

FILE_NAME = "pauses.json"


class PauseStore:
    """pauses.json in the state directory: {watch: wall-clock expiry, or null for none}."""

    def __init__(self, state_dir: str) -> None:
        self.path = os.path.join(state_dir, FILE_NAME)
        os.makedirs(state_dir, mode=0o700, exist_ok=True)

    def load(self) -> Dict[str, float]:
        """{watch: wall-clock expiry}; math.inf means until resumed."""
        try:
            with open(self.path) as handle:
                raw = json.load(handle)
            return {str(name): math.inf if until is None else float(until) for name, until in raw.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}

    def save(self, pauses: Dict[str, float]) -> None:
        data = {k: (None if math.isinf(v) else v) for k, v in sorted(pauses.items())}
        write_atomically(self.path, json.dumps(data, indent=1).encode())


class Scheduler(Protocol):
    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer: ...
    def emit(self, name: str, **fields: Any) -> None: ...
    def guard(self, unit: WatchUnit, fn: Callable[[], None]) -> None: ...


class Pauses:
    def __init__(self, store: PauseStore, env: Scheduler, units: Callable[[], Dict[str, WatchUnit]],
                 wall: Callable[[], float] = time.time) -> None:
        self.store = store
        self.env = env
        self.units = units
        self.wall = wall
        self._timers: Dict[str, Timer] = {}

    def restore(self, fresh: Iterable[WatchUnit]) -> None:
        """New units (at start, or added/changed by a reload) take up their saved pause."""
        saved = self.store.load()
        ended = False
        for unit in fresh:
            until = saved.get(unit.name)
            if until is None:
                continue
            if until > self.wall():
                unit.restore_pause(until)
                self._arm(unit)
            else:  # it ended while the agent was down: say so, as the timer would have
                self.env.emit("resumed", watch=unit.name, by="timer", reason="expired while the agent was down")
                ended = True
        if ended:
            self._save()

    def pause(self, names: List[str], seconds: Optional[float], by: str) -> None:
        until = math.inf if seconds is None else self.wall() + seconds
        for name in names:
            unit = self.units()[name]
            self.env.guard(unit, functools.partial(unit.pause, until, by))
            self.env.emit("paused", watch=name, until=describe_until(until), by=by)
            self._arm(unit)
        self._save()

    def resume(self, names: List[str], by: str) -> None:
        for name in names:
            self._disarm(name)
            unit = self.units()[name]
            self.env.guard(unit, functools.partial(unit.resume, by, "request"))
        self._save()

    def _arm(self, unit: WatchUnit) -> None:
        self._disarm(unit.name)
        until = unit.paused_until
        if until is not None and not math.isinf(until):
            self._timers[unit.name] = self.env.call_later(
                max(0.0, until - self.wall()), functools.partial(self._expired, unit))

    def _disarm(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _expired(self, unit: WatchUnit) -> None:
        self._timers.pop(unit.name, None)
        if self.units().get(unit.name) is unit and unit.paused_until is not None:
            self.env.guard(unit, functools.partial(unit.resume, "timer", "expired"))
            self._save()

    def _save(self) -> None:
        self.store.save({u.name: u.paused_until for u in self.units().values() if u.paused_until is not None})

