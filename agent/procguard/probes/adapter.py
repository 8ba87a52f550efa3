"""Probes as a WatchObserver of the engine (observer.py).

The engine tells the adapter about configs and about what happens to watches; verdicts
come back on the loop thread (ProbeManager posts them) and act on the watch's unit:
stalled, healthy again, ready. Worker threads read a watch's PIDs from an immutable tuple
the loop replaces, never from the unit's own dict.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Tuple

from .. import states
from ..config.model import Config
from ..engine import Engine
from ..unit import WatchUnit
from .manager import ProbeManager
from .resources import TreeView


class ProbesAdapter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.mgr = ProbeManager(engine.loop.post, engine.emitter, engine.settings.state_dir)
        self.mgr.on_verdict = self._verdict
        self._pids: Dict[str, Tuple[int, ...]] = {}
        self._names: List[str] = []

    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        for name in self._names:
            if config.watch(name) is None:
                self.mgr.remove(name)
                self._pids.pop(name, None)
        self._names = [w.name for w in config.watches]
        for watch in config.watches:
            unit = units.get(watch.name)
            self._pids[watch.name] = tuple(unit.pids) if unit else ()
            self.mgr.configure(watch.name, watch.probes, self._pids_of(watch.name), self._view(watch.name))

    def _pids_of(self, name: str) -> Callable[[], Tuple[int, ...]]:
        return lambda: self._pids.get(name, ())

    def _view(self, name: str) -> TreeView:
        """The whole tree, for resource probes (read from worker threads: files only)."""
        tree = self.engine.tree
        return TreeView(members=lambda: tree.members(name), cpu_usec=lambda: tree.info(name).usage.cpu_usec)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        self._pids[unit.name] = tuple(unit.pids)
        start = unit.watch.start
        if what == "started" and info.get("pid") is not None and start is not None:
            self.mgr.process_started(unit.name, info["pid"], ready_within=start.timeout)
        elif what == "good":
            self.mgr.process_ready(unit.name)

    def _verdict(self, watch: str, verdict: str, detail: Dict[str, Any]) -> None:
        unit = self.engine.units.get(watch)
        if unit is not None:
            self.engine.guard(unit, lambda: self._act(unit, verdict, detail))

    def _act(self, unit: WatchUnit, verdict: str, detail: Dict[str, Any]) -> None:
        watch = unit.name
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

    def env_for(self, watch: str) -> Dict[str, str]:
        return dict(self.mgr.env_for(watch))

    def status_of(self, watch: str) -> Dict[str, Any]:
        return {"probes": self.mgr.status(watch)}

    def shutdown(self) -> None:
        self.mgr.shutdown()
