"""What the control socket can ask of the engine, and the status it reports."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Dict, List

from . import __version__

if TYPE_CHECKING:
    from .engine import Engine


class Commands:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def handle(self, request: Dict[str, Any], uid: int) -> Dict[str, Any]:
        cmd = request.get("cmd")
        by = f"uid:{uid}"
        try:
            if cmd == "status":
                return {"ok": True, **self.status()}
            if cmd == "reload":
                return self.engine.reload(by)
            if cmd in ("pause", "resume", "restart"):
                names = self._names(request.get("watch"), allow_all=cmd != "restart")
                if cmd == "pause":
                    seconds = request.get("for")
                    if seconds is not None and (not isinstance(seconds, (int, float)) or seconds <= 0):
                        return {"ok": False, "error": "`for` must be a positive number of seconds"}
                    self.engine.pause(names, seconds, by)
                elif cmd == "resume":
                    self.engine.resume(names, by)
                else:
                    for name in names:
                        self.engine.units[name].request_restart(by)
                return {"ok": True, "watches": names}
        except LookupError as exc:
            return {"ok": False, "error": str(exc.args[0])}
        return {"ok": False, "error": f"unknown command {cmd!r}; use status, pause, resume, restart or reload"}

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
        watches = []
        for unit in engine.units.values():
            entry = unit.status()
            for ext in engine.extensions:
                entry.update(ext.status_of(unit.name))
            entry.setdefault("probes", [])
            entry.setdefault("escalations", [])
            watches.append(entry)
        admission = engine.admission
        return {
            "agent": {
                "pid": os.getpid(),
                "version": __version__,
                "host": engine.settings.host_name,
                "uptime_s": round(time.time() - engine.started, 1),
                "detector": engine.watcher.kind,
                "config": {
                    "path": engine.settings.config,
                    "serial": config.serial if config else None,
                    "key_id": admission.key_id if admission else None,
                    "signed": bool(admission and admission.signed),
                    "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(applied)) if applied else None,
                },
                "last_refusal": engine.last_refusal,
                "pull": engine.pull_worker.status() if engine.pull_worker is not None else None,
            },
            "watches": watches,
        }
