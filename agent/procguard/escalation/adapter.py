"""Escalation as a WatchObserver of the engine (observer.py): a watch that gives up runs its
actions, a watch that recovers undoes them, and every health change reaches HAProxy."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from .. import states
from ..config.model import Config
from ..engine import Engine
from ..unit import WatchUnit
from .manager import EscalationManager


class EscalationAdapter:
    def __init__(self, engine: Engine) -> None:
        self.mgr = EscalationManager(engine.loop.post, engine.emitter, engine.settings.host_name)
        self._health: Dict[str, Tuple[bool, bool]] = {}

    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        # only watches with actions: 500 empty entries would cost the agent about 0.1 MiB
        self.mgr.configure(config.haproxy_agent,
                           {w.name: w.on_giveup.escalate for w in config.watches if w.on_giveup.escalate})
        self._health = {k: v for k, v in self._health.items() if config.watch(k) is not None}
        for watch in config.watches:
            unit = units.get(watch.name)
            if unit is not None:
                self._tell_health(unit, force=True)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        ctx = {"pid": unit.pids[0] if unit.pids else None, "reason": info.get("reason", what)}
        if what == "gave_up":
            self.mgr.gave_up(unit.name, ctx)
        elif what == "recovered":
            self.mgr.recovered(unit.name, ctx)
        self._tell_health(unit)

    def _tell_health(self, unit: WatchUnit, force: bool = False) -> None:
        health = (unit.healthy, unit.state in (states.GAVE_UP, states.DOWN))
        if force or self._health.get(unit.name) != health:
            self._health[unit.name] = health
            self.mgr.set_health(unit.name, *health)

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def status_of(self, watch: str) -> Dict[str, Any]:
        return {"escalations": self.mgr.status(watch)}

    def shutdown(self) -> None:
        self.mgr.shutdown()
