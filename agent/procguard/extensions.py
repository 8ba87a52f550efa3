"""Probes and escalation plug into the engine as extensions.

The engine tells each extension about configs and about what happens to watches
(`unit_event`); extensions answer back only on the loop thread, through `post`. Worker
threads read a watch's PIDs from an immutable tuple the loop replaces, never from the
unit's own dict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from . import states
from .config.model import Config

if TYPE_CHECKING:
    from .engine import Engine
    from .unit import WatchUnit


class ProbesExtension:
    def __init__(self, engine: Engine) -> None:
        from .probes.manager import ProbeManager

        self.engine = engine
        self.mgr = ProbeManager(engine.loop.post, engine.emitter, engine.settings.state_dir)
        self.mgr.on_verdict = self._verdict
        self._pids: Dict[str, Tuple[int, ...]] = {}
        self._names: List[str] = []

    def configure(self, config: Config, engine: Engine) -> None:
        for name in self._names:
            if config.watch(name) is None:
                self.mgr.remove(name)
                self._pids.pop(name, None)
        self._names = [w.name for w in config.watches]
        for watch in config.watches:
            unit = engine.units.get(watch.name)
            self._pids[watch.name] = tuple(unit.pids) if unit else ()
            self.mgr.configure(watch.name, list(watch.probes), self._pids_of(watch.name))

    def _pids_of(self, name: str) -> Any:
        return lambda: self._pids.get(name, ())

    def unit_event(self, what: str, unit: WatchUnit, info: Dict[str, Any]) -> None:
        self._pids[unit.name] = tuple(unit.pids)
        if what == "started" and info.get("pid") is not None:
            self.mgr.process_started(unit.name, info["pid"])

    def _verdict(self, watch: str, verdict: str, detail: Dict[str, Any]) -> None:
        unit = self.engine.units.get(watch)
        if unit is None:
            return
        if verdict == "stalled":
            if unit.state in (states.RUNNING, states.STARTING) and unit.pids:
                self.mgr.snapshot(watch, unit.pids)  # before anything is killed
            unit.stall(f"{detail.get('probe')}: {detail.get('reason', 'failed')}")
        elif verdict == "healthy":
            unit.unstalled()
            self.engine.hook("state", unit)
        elif verdict == "ready":
            start = unit.watch.start
            if start is not None and start.ready_probe == detail.get("probe"):
                unit.ready()

    def env_for(self, name: str) -> Dict[str, str]:
        return dict(self.mgr.env_for(name))

    def owned_pids(self) -> Tuple[int, ...]:
        return tuple(self.mgr.owned_pids())

    def status_of(self, name: str) -> Dict[str, Any]:
        return {"probes": self.mgr.status(name)}

    def shutdown(self) -> None:
        self.mgr.shutdown()


class EscalationExtension:
    def __init__(self, engine: Engine) -> None:
        from .escalation.manager import EscalationManager

        self.engine = engine
        self.mgr = EscalationManager(engine.loop.post, engine.emitter, engine.settings.host_name)
        self._health: Dict[str, Tuple[bool, bool]] = {}

    def configure(self, config: Config, engine: Engine) -> None:
        top = {key: value for key, value in config.extras.items() if key == "haproxy_agent"}
        self.mgr.configure(top, {w.name: [dict(a) for a in w.on_giveup.escalate] for w in config.watches})
        self._health = {k: v for k, v in self._health.items() if config.watch(k) is not None}
        for watch in config.watches:
            unit = engine.units.get(watch.name)
            if unit is not None:
                self._tell_health(unit, force=True)

    def unit_event(self, what: str, unit: WatchUnit, info: Dict[str, Any]) -> None:
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

    def env_for(self, name: str) -> Dict[str, str]:
        return {}

    def owned_pids(self) -> Tuple[int, ...]:
        return tuple(self.mgr.owned_pids())

    def status_of(self, name: str) -> Dict[str, Any]:
        return {"escalations": self.mgr.status(name)}

    def shutdown(self) -> None:
        self.mgr.shutdown()


def load_extensions(engine: Engine) -> List[Any]:
    return [ProbesExtension(engine), EscalationExtension(engine)]
