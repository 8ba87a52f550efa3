"""Event hooks as a WatchObserver of the engine (observer.py): each config in force hands
its hooks to the runner, whose sink sees every event the emitter logs."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ..config.model import Config
from ..engine import Engine
from ..unit import WatchUnit
from .runner import HookRunner


class HooksAdapter:
    def __init__(self, engine: Engine) -> None:
        self.runner = HookRunner(engine.loop.post, engine.emit, engine.settings.host_name)
        engine.emitter.sinks.append(self.runner.offer)

    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        self.runner.configure(config.hooks)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        pass  # hooks follow the events the unit logs, not its hook calls

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def status_of(self, watch: str) -> Dict[str, Any]:
        return {}

    def shutdown(self) -> None:
        self.runner.shutdown()
