"""What the control socket can ask of the engine, and the status it reports."""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, Dict, List, Optional, Union

from .. import __version__
from ..durations import iso_utc, parse_duration
from ..engine import Engine
from ..fileio import sha256_hex
from .protocol import Later
from .service_cmds import reload_service, signal_watch


class Commands:
    def __init__(self, engine: Engine, pull_status: Optional[Callable[[], Dict[str, Any]]] = None,
                 metrics_text: Optional[Callable[[], str]] = None) -> None:
        self.engine = engine
        self.pull_status = pull_status
        self.metrics_text = metrics_text  # None: metrics are off in the settings

    def handle(self, request: Dict[str, Any], uid: int) -> Union[Dict[str, Any], Later]:
        cmd = request.get("cmd")
        by = f"uid:{uid}"
        try:
            if cmd == "status":
                return {"ok": True, **self.status()}
            if cmd == "metrics":
                if self.metrics_text is None:
                    return {"ok": False, "error": "metrics are off (metrics.enabled: false in the agent settings)"}
                return {"ok": True, "text": self.metrics_text()}
            if cmd == "reload":
                later = Later()
                self.engine.reload(by, later.resolve)
                return later
            if cmd in ("pause", "resume", "restart"):
                names = self._names(request.get("watch"), allow_all=cmd != "restart")
                if cmd == "pause":
                    seconds = request.get("for")
                    if seconds is not None:
                        try:
                            seconds = parse_duration(seconds)
                        except ValueError as exc:
                            return {"ok": False, "error": f"`for`: {exc}"}
                        if seconds <= 0:
                            return {"ok": False, "error": "`for` must be a positive number of seconds"}
                    self.engine.pauses.pause(names, seconds, by)
                elif cmd == "resume":
                    self.engine.pauses.resume(names, by)
                else:
                    unit = self.engine.units[names[0]]
                    if unit.watch.start is None:
                        return {"ok": False, "error": (
                            f"watch {unit.name} has no start command: procguard only watches it, so it "
                            "will not stop what it cannot start again; restart it with the tool that "
                            "started it (for example systemctl restart)")}
                    self.engine.guard(unit, functools.partial(unit.request_restart, by))
                return {"ok": True, "watches": names}
            if cmd in ("signal", "reload-service"):
                unit = self.engine.units[self._names(request.get("watch"), allow_all=False)[0]]
                if cmd == "signal":
                    return signal_watch(self.engine, unit, request.get("signal"), by)
                return reload_service(self.engine, unit, by)
        except LookupError as exc:
            return {"ok": False, "error": str(exc.args[0])}
        return {"ok": False, "error": f"unknown command {cmd!r}; use status, metrics, pause, resume, restart, "
                                      "reload, signal or reload-service"}

    def _names(self, given: Any, allow_all: bool) -> List[str]:
        if given == "*" and allow_all:
            return list(self.engine.units)
        if not isinstance(given, str) or given not in self.engine.units:
            known = ", ".join(self.engine.units) or "none"
            raise LookupError(f"no watch named {given!r}; known watches: {known}")
        return [given]

    def status(self) -> Dict[str, Any]:
        engine = self.engine
        config = engine.config
        applied = engine.applied_at
        admitted = engine.in_force
        watches = []
        for unit in engine.units.values():
            entry = unit.status()
            for observer in engine.observers:
                entry.update(observer.status_of(unit.name))
            entry.setdefault("probes", [])
            entry.setdefault("escalations", [])
            watches.append(entry)
        return {
            "agent": {
                "pid": os.getpid(),
                "version": __version__,
                "host": engine.settings.host_name,
                "uptime_s": round(engine.wall() - engine.started, 1),
                "detector": engine.watcher.kind,
                "process_tree": {"kind": engine.tree.kind, "detail": engine.tree.describe()},
                "config": {
                    "path": engine.settings.config,
                    "serial": config.serial if config else None,
                    "sha256": sha256_hex(admitted.config_bytes) if admitted else None,
                    "key_id": admitted.verdict.key_id if admitted else None,
                    "signed": bool(admitted and admitted.verdict.signed),
                    "applied_at": iso_utc(applied) if applied else None,
                    **engine.expiry.status(),
                },
                "last_refusal": engine.last_refusal,
                "pull": self.pull_status() if self.pull_status is not None else None,
            },
            "watches": watches,
        }
