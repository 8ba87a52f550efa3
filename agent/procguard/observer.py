"""What the engine knows of the capabilities built around it: one typed protocol each.

The engine never imports probes, escalation, control or pull (they sit above it); the
composition root (assemble.py) builds them and hands them in as:

* WatchObserver: told about configs and about what happens to each watch (probes,
  escalation, and every new capability: metrics, hooks...). It answers back only on the
  loop thread; worker threads reach the loop through `Loop.post`.
* Companion: runs beside the loop (the control socket, central pull): started once the
  first config is in force, told after each reload, stopped at shutdown.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

from .config.model import Config
from .unit import WatchUnit


class WatchObserver(Protocol):
    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        """A config is in force (units already built, adopted and settled)."""

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        """started, good (the start is good: ready), adopted, died (info: planned, None for a
        crash), state, gave_up, recovered or stalled (info: pid, reason...)."""

    def env_for(self, watch: str) -> Mapping[str, str]:
        """Variables to add to the environment of a process started for `watch`."""

    def status_of(self, watch: str) -> Mapping[str, Any]:
        """Keys to add to the watch's entry in `procguard status`."""

    def shutdown(self) -> None:
        """The agent exits: stop worker threads; never touch the watched processes."""


class Companion(Protocol):
    def start(self) -> None: ...

    def reloaded(self) -> None: ...

    def stop(self) -> None: ...
