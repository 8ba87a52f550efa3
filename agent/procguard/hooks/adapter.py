"""Event hooks as a WatchObserver of the engine (observer.py): each config in force hands
its hooks to the runner, whose sink sees every event the emitter logs. The runner (and
what it imports) is made when a config first has hooks: most hosts have none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

from ..config.model import Config
from ..engine import Engine
from ..unit import WatchUnit

if TYPE_CHECKING:
    from .runner import HookRunner


class HooksAdapter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runner: Optional[HookRunner] = None

    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        if self.runner is None and config.hooks:
            from .runner import HookRunner

            self.runner = HookRunner(self.engine.loop.post, self.engine.emit, self.engine.settings.host_name)
            self.engine.emitter.sinks.append(self.runner.offer)
        if self.runner is not None:
            self.runner.configure(config.hooks)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        pass  # hooks follow the events the unit logs, not its hook calls

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def status_of(self, watch: str) -> Dict[str, Any]:
        return {}

    def shutdown(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()
