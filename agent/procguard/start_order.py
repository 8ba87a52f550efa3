"""`after:`: a watch is first started only once the watches it names are ready.

Only the first start waits; restarts never do (a crash of the database must not hold
the web server's restart). A watch that will not become ready (it gave up, is paused, has
no process) does not hold the others for ever: they start, with a warning. Cycles never
reach here: `procguard check` refuses them (config/service_checks.py).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping

from . import states
from .unit import WatchUnit

BROKEN = (states.GAVE_UP, states.PAUSED, states.DOWN, states.EXITED)


class StartOrder:
    def __init__(self, units: Callable[[], Mapping[str, WatchUnit]], emit: Callable[..., None],
                 guard: Callable[[WatchUnit, Callable[[], None]], None]) -> None:
        self.units = units
        self.emit = emit
        self.guard = guard  # runs a unit's work; an exception sets that watch aside
        self._held: Dict[str, WatchUnit] = {}

    def settle(self, unit: WatchUnit) -> None:
        """Settle `unit` now, or hold it until what it comes after is ready."""
        if unit.watch.after and unit.watch.start is not None and len(unit.instances) < unit.watch.min_instances:
            waiting = self._pending(unit)
            if waiting:
                self._held[unit.name] = unit
                self.emit("start_waits", watch=unit.name, after=",".join(waiting))
                return
        unit.settle()

    def waiting_for(self, name: str) -> List[str]:
        unit = self._held.get(name)
        return self._pending(unit) if unit is not None else []

    def _pending(self, unit: WatchUnit) -> List[str]:
        units = self.units()
        return [a for a in unit.watch.after if a in units and units[a].state != states.RUNNING]

    def changed(self) -> None:
        """Something changed state: release what may now start."""
        if not self._held:
            return
        units = self.units()
        for name, unit in list(self._held.items()):
            if units.get(name) is not unit:
                del self._held[name]  # replaced or removed by a reload
                continue
            pending = self._pending(unit)
            broken = [a for a in pending if units[a].state in BROKEN]
            if pending and len(broken) < len(pending):
                continue
            del self._held[name]
            for other in broken:
                self.emit("start_order_broken", watch=name, after=other, state=units[other].state)
            if unit.state == states.STARTING:
                self.guard(unit, unit.settle)
