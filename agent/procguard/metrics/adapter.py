"""Metrics as a WatchObserver of the engine (observer.py): what happens to each watch, as facts
for the Recorder. Everything runs on the loop thread and costs a few locked updates.

How the latencies are measured (docs/observability.md says the same to operators):

* Detection (death -> the agent noticing). With pidfds the kernel wakes the loop the moment
  a process ends, but the agent cannot read that instant. The loop records when a turn's
  events can have happened at the earliest (`Loop.ready_since`): the instant it woke, when
  the pidfd woke it from its sleep (the kernel's own wake-up, microseconds, is the one part
  not counted), or the start of the previous turn, when the pidfd was already readable
  because the end came while the loop was busy (then the figure is an upper bound). When
  polling, the end came at most one poll interval before the poll that found it (upper
  bound). A death found only by the slow sweep has no latency: it is counted, not timed.
* Restart (death -> replacement running): from that same estimate of the death to the
  moment the replacement has exec'd (PG1004), including any backoff delay.
* The canary (canary.py) kills at an instant it chooses, so its figures have no estimate.
"""

from __future__ import annotations

import collections
from typing import Any, Deque, Dict, Mapping, Optional, Set, Tuple

from .. import states
from ..config.model import Config
from ..engine import Engine
from ..events import catalog
from ..unit import WatchUnit
from .recorder import Recorder

# planned reasons (PG1021) after which the agent starts a replacement
_REPLACED = (None, "restart", "stall", "stop")
# escalation action states in which it is done and not yet undone
_IN_FORCE = ("in_force", "undo_pending", "undoing")
_REFUSAL_CODES = {name: code for code, name in reversed(list(catalog.security.REFUSAL_MESSAGES.items()))}

Pending = Tuple[str, Optional[float]]  # cause, estimated monotonic time of the death


def oom_kills() -> int:
    """The kernel's count of OOM kills since boot (/proc/vmstat oom_kill, Linux 4.13+)."""
    try:
        with open("/proc/vmstat", "rb") as vmstat:
            for line in vmstat:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def epoch_of(not_after: Any) -> Optional[float]:
    """not_after as the admitted document holds it (RFC 3339 text) -> seconds since the epoch."""
    if not isinstance(not_after, str):
        return None
    from datetime import datetime, timezone  # only for a config that expires: datetime costs ~300 KiB

    text = not_after.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class MetricsAdapter:
    def __init__(self, engine: Engine, recorder: Recorder) -> None:
        self.engine = engine
        self.rec = recorder
        self.changed = lambda: None  # set by the outputs: write soon after an important change
        self._pending: Dict[str, Deque[Pending]] = {}
        self._gave_up: Set[str] = set()
        self._escalating: Tuple[str, ...] = ()
        self._oom_seen = oom_kills()
        engine.emitter.sinks.append(self.event)

    # -- WatchObserver -------------------------------------------------------------------
    def configure(self, config: Config, units: Mapping[str, WatchUnit]) -> None:
        self.rec.configure({w.name: [p.name for p in w.probes] for w in config.watches})
        for name in set(self._pending) - set(units):
            del self._pending[name]
        self._gave_up &= set(units)
        self._escalating = tuple(w.name for w in config.watches if w.on_giveup.escalate)
        for unit in units.values():
            self._refresh(unit)
            if unit.name not in self._escalating:
                self.rec.escalation(unit.name, 0)
        self.refresh_escalations()
        # in force only once configure returns (Engine._put_in_force): read it a moment later
        self.engine.loop.post(self._config_in_force)

    def unit_event(self, what: str, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        name = unit.name
        if what == "died":
            self._died(unit, info)
        elif what == "started":
            queue = self._pending.get(name)
            if queue:
                cause, died_at = queue.popleft()
                if not queue:
                    del self._pending[name]
                latency = None if died_at is None else max(0.0, self.engine.now() - died_at)
                self.rec.restarted(name, cause, latency)
        elif what == "state":
            self._state(unit)
        self._refresh(unit)
        self.changed()

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def status_of(self, watch: str) -> Dict[str, Any]:
        return {}

    def shutdown(self) -> None:
        pass

    # -- the facts -----------------------------------------------------------------------
    def _died(self, unit: WatchUnit, info: Mapping[str, Any]) -> None:
        planned = info.get("planned")
        if planned is None:
            cause = "oom" if unit.last_exit == "signal:KILL" and self._oom_rose() else "crash"
        else:
            cause = "stall" if planned == "stall" else "planned"
        latency = self.detection_latency(info.get("detector"))
        self.rec.died(unit.name, cause, latency)
        if planned in _REPLACED:
            died_at = None if latency is None else self.engine.now() - latency
            self._pending.setdefault(unit.name, collections.deque()).append((cause, died_at))

    def detection_latency(self, detector: Optional[str]) -> Optional[float]:
        """Seconds from the death to now, as the module docstring says; None when unknown."""
        if detector == "pidfd":
            loop = self.engine.loop
            return max(0.0, loop.clock() - loop.ready_since)
        if detector == "poll" and self.engine.watcher.poll_interval:
            loop = self.engine.loop
            return max(0.0, loop.clock() - loop.woke_at) + self.engine.watcher.poll_interval
        return None

    def _oom_rose(self) -> bool:
        count = oom_kills()
        rose, self._oom_seen = count > self._oom_seen, count
        return rose

    def _state(self, unit: WatchUnit) -> None:
        name = unit.name
        if unit.state == states.GAVE_UP:
            if name not in self._gave_up:
                self._gave_up.add(name)
                self.rec.gave_up(name)
            for cause, _ in self._pending.pop(name, ()):  # a slow retry is no quick restart
                self._pending.setdefault(name, collections.deque()).append((cause, None))
            return
        self._gave_up.discard(name)
        if unit.state in (states.PAUSED, states.EXITED, states.BROKEN):
            self._pending.pop(name, None)  # nothing replaces these ends

    def _refresh(self, unit: WatchUnit) -> None:
        name = unit.name
        self.rec.state(name, unit.state, unit.healthy)
        self.rec.instances(name, len(unit.instances), unit.watch.min_instances)
        self.rec.stalled(name, unit.stalled is not None)

    def refresh_escalations(self) -> None:
        """From the metrics tick: actions complete in worker threads, after any unit event."""
        for name in self._escalating:
            count = 0
            for observer in self.engine.observers:
                for entry in observer.status_of(name).get("escalations", ()):
                    count += entry.get("state") in _IN_FORCE
            self.rec.escalation(name, count)

    def probe_checked(self, watch: str, probe: str, ok: bool, reason: str, duration: float) -> None:
        """From the probe manager, on the loop thread, for each finished check."""
        result = "ok" if ok else ("timeout" if reason.startswith("timeout") else "failed")
        self.rec.probe_checked(watch, probe, result, duration)

    def _config_in_force(self) -> None:
        engine = self.engine
        if engine.config is None:
            return
        key_id = engine.in_force.verdict.key_id if engine.in_force is not None else None
        self.rec.config_applied(engine.config.serial, key_id, epoch_of(engine.config.not_after), engine.applied_at)
        self.changed()

    def event(self, msg: Any, fields: Dict[str, object], line: str) -> None:
        """Emitter sink: count every message; a refusal also sets the refusal metrics."""
        self.rec.event(msg, fields, line)
        code = _REFUSAL_CODES.get(msg.name)
        if code is not None:
            self.rec.config_refused(code)
