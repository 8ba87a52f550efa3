"""What the engine calls to keep the metrics true: one method per fact, named for it.

Every method costs a lock held for microseconds and never raises for a watch or probe it
does not know (the update is dropped), so calling it from the loop is always safe.
Times are seconds; wall-clock times are seconds since the epoch.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Set, Tuple

from . import families as F
from .registry import Registry

_AGENT_HEARTBEAT_TIMESTAMP = F.BY_NAME["procguard_agent_heartbeat_timestamp_seconds"]
_AGENT_INFO = F.BY_NAME["procguard_agent_info"]
_AGENT_LOOP_LAG = F.BY_NAME["procguard_agent_loop_lag_seconds"]
_AGENT_OPEN_FDS = F.BY_NAME["procguard_agent_open_fds"]
_AGENT_RESIDENT_MEMORY_BYTES = F.BY_NAME["procguard_agent_resident_memory_bytes"]
_AGENT_START_TIME = F.BY_NAME["procguard_agent_start_time_seconds"]
_CANARY_CHECKS = F.BY_NAME["procguard_canary_checks_total"]
_CANARY_LATENCY = F.BY_NAME["procguard_canary_latency_seconds"]
_CONFIG_APPLIED_TIMESTAMP = F.BY_NAME["procguard_config_applied_timestamp_seconds"]
_CONFIG_INFO = F.BY_NAME["procguard_config_info"]
_CONFIG_LAST_REFUSAL_TIMESTAMP = F.BY_NAME["procguard_config_last_refusal_timestamp_seconds"]
_CONFIG_NOT_AFTER_TIMESTAMP = F.BY_NAME["procguard_config_not_after_timestamp_seconds"]
_CONFIG_REFUSALS = F.BY_NAME["procguard_config_refusals_total"]
_CONFIG_SERIAL = F.BY_NAME["procguard_config_serial"]
_EVENTS = F.BY_NAME["procguard_events_total"]
_PROBE_CHECKS = F.BY_NAME["procguard_probe_checks_total"]
_PROBE_DURATION = F.BY_NAME["procguard_probe_duration_seconds"]
_WATCH_DEATHS = F.BY_NAME["procguard_watch_deaths_total"]
_DETECTION_LATENCY = F.BY_NAME["procguard_detection_latency_seconds"]
_RESTART_LATENCY = F.BY_NAME["procguard_restart_latency_seconds"]
_WATCH_LAST_DETECTION_LATENCY = F.BY_NAME["procguard_watch_last_detection_latency_seconds"]
_WATCH_LAST_RESTART_LATENCY = F.BY_NAME["procguard_watch_last_restart_latency_seconds"]
_PROBE_LAST_DURATION = F.BY_NAME["procguard_probe_last_duration_seconds"]
_WATCH_ESCALATION_ACTIONS_IN_FORCE = F.BY_NAME["procguard_watch_escalation_actions_in_force"]
_WATCH_GIVEUPS = F.BY_NAME["procguard_watch_giveups_total"]
_WATCH_HEALTHY = F.BY_NAME["procguard_watch_healthy"]
_WATCH_INSTANCES_UP = F.BY_NAME["procguard_watch_instances_up"]
_WATCH_INSTANCES_WANTED = F.BY_NAME["procguard_watch_instances_wanted"]
_WATCH_RESTARTS = F.BY_NAME["procguard_watch_restarts_total"]
_WATCH_STALLED = F.BY_NAME["procguard_watch_stalled"]
_WATCH_STATE = F.BY_NAME["procguard_watch_state"]


class Recorder:
    def __init__(self, registry: Optional[Registry] = None, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry or Registry()
        self.clock = clock

    # -- the agent -----------------------------------------------------------------------
    def agent_started(self, version: str, detector: str, started_at: Optional[float] = None) -> None:
        r = self.registry
        r.set_free(_AGENT_INFO, (version, detector))
        r.set(_AGENT_START_TIME, self._now(started_at))
        self.heartbeat(started_at)

    def heartbeat(self, now: Optional[float] = None) -> None:
        """Call from the loop's periodic tick: a stale heartbeat means a dead or hung loop."""
        self.registry.set(_AGENT_HEARTBEAT_TIMESTAMP, self._now(now))

    def agent_resources(self, rss_bytes: int, open_fds: int, loop_lag: float) -> None:
        """`selfstats.sample()` gives the first two; loop_lag is the worst since the last call."""
        r = self.registry
        r.set(_AGENT_RESIDENT_MEMORY_BYTES, float(rss_bytes))
        r.set(_AGENT_OPEN_FDS, float(open_fds))
        r.set(_AGENT_LOOP_LAG, float(loop_lag))

    def event(self, msg: Any, fields: Dict[str, object], line: str) -> None:
        """An `Emitter` sink: counts every message by catalog ID."""
        if msg.id in self.registry.enum_index[_EVENTS.name]:  # a catalog ID, so always
            self.registry.inc(_EVENTS, (), msg.id)

    # -- the configuration ---------------------------------------------------------------
    def config_applied(self, serial: Optional[int], key_id: Optional[str],
                       not_after: Optional[float] = None, applied_at: Optional[float] = None) -> None:
        r = self.registry
        r.set(_CONFIG_SERIAL, float("nan") if serial is None else float(serial))
        r.set_free(_CONFIG_INFO, (key_id or "",))
        r.set(_CONFIG_APPLIED_TIMESTAMP, self._now(applied_at))
        r.set(_CONFIG_NOT_AFTER_TIMESTAMP,
              float("nan") if not_after is None else float(not_after))

    def config_refused(self, code: str, at: Optional[float] = None) -> None:
        """`code` is the refusal code (procguard.signing.errors), or `invalid` for a bad file."""
        self.registry.inc(_CONFIG_REFUSALS)
        self.registry.set_free(_CONFIG_LAST_REFUSAL_TIMESTAMP, (code,), self._now(at))

    # -- watches -------------------------------------------------------------------------
    def configure(self, watches: Mapping[str, Iterable[str]]) -> None:
        """After a config is applied: series exist for exactly these watches and their probes
        ({watch: probe names}); a removed watch or probe loses its series, others keep theirs."""
        r = self.registry
        wanted: Dict[str, Set[Tuple[str, ...]]] = {
            F.WATCH: {(w,) for w in watches},
            F.PROBE: {(w, p) for w, probes in watches.items() for p in probes},
        }
        for scope, keys in wanted.items():
            for key in set(r.keys(scope)) - keys:
                r.remove(scope, key)
            for key in sorted(keys):
                r.add(scope, key)

    def watch_removed(self, watch: str) -> None:
        r = self.registry
        r.remove(F.WATCH, (watch,))
        for key in r.keys(F.PROBE):
            if key[0] == watch:
                r.remove(F.PROBE, key)

    def state(self, watch: str, state: str, healthy: bool) -> None:
        """`state` is one of procguard.states.ALL."""
        self.registry.set_state(_WATCH_STATE, state, (watch,))
        self.registry.set(_WATCH_HEALTHY, 1.0 if healthy else 0.0, (watch,))

    def instances(self, watch: str, up: int, wanted: int) -> None:
        self.registry.set(_WATCH_INSTANCES_UP, float(up), (watch,))
        self.registry.set(_WATCH_INSTANCES_WANTED, float(wanted), (watch,))

    def stalled(self, watch: str, stalled: bool) -> None:
        self.registry.set(_WATCH_STALLED, 1.0 if stalled else 0.0, (watch,))

    def died(self, watch: str, cause: str, detection_latency: Optional[float] = None) -> None:
        """`cause` is one of families.CAUSES; the latency is from the death to the agent noticing."""
        self.registry.inc(_WATCH_DEATHS, (watch,), cause)
        if detection_latency is not None:
            self.registry.observe(_DETECTION_LATENCY, detection_latency)
            self.registry.set(_WATCH_LAST_DETECTION_LATENCY, detection_latency, (watch,))

    def restarted(self, watch: str, cause: str, restart_latency: Optional[float] = None) -> None:
        """A replacement runs; the latency is from the death it replaces to now."""
        self.registry.inc(_WATCH_RESTARTS, (watch,), cause)
        if restart_latency is not None:
            self.registry.observe(_RESTART_LATENCY, restart_latency)
            self.registry.set(_WATCH_LAST_RESTART_LATENCY, restart_latency, (watch,))

    def gave_up(self, watch: str) -> None:
        self.registry.inc(_WATCH_GIVEUPS, (watch,))

    def escalation(self, watch: str, actions_in_force: int) -> None:
        self.registry.set(_WATCH_ESCALATION_ACTIONS_IN_FORCE, float(actions_in_force), (watch,))

    def probe_checked(self, watch: str, probe: str, result: str, duration: float) -> None:
        """`result` is one of families.PROBE_RESULTS."""
        key = (watch, probe)
        self.registry.inc(_PROBE_CHECKS, key, result)
        self.registry.observe(_PROBE_DURATION, duration)
        self.registry.set(_PROBE_LAST_DURATION, duration, key)

    # -- canary --------------------------------------------------------------------------
    def canary(self, ok: bool, latency: Optional[float] = None) -> None:
        self.registry.inc(_CANARY_CHECKS, (), "ok" if ok else "failed")
        if latency is not None:
            self.registry.observe(_CANARY_LATENCY, latency)

    def _now(self, when: Optional[float]) -> float:
        return self.clock() if when is None else float(when)
