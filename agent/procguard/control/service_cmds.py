"""`procguard signal NAME SIG` and `procguard reload-service NAME`: act on one service.

A signal goes to the watch's main processes (through their pidfds, so never to a reused
PID). A reload is the watch's `reload:`: a signal, or a command run in a worker thread
(as root, like escalation commands) whose outcome is the answer; the loop never waits.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Dict, Union

from ..children.commands import run_command
from ..config.model import SERVICE_PATH
from ..engine import Engine
from ..unit import WatchUnit
from .protocol import Later

SIGNALS = ("HUP", "INT", "QUIT", "TERM", "KILL", "USR1", "USR2", "WINCH", "CONT", "STOP", "TSTP", "ALRM")
Reply = Dict[str, Any]


def signal_watch(engine: Engine, unit: WatchUnit, name: Any, by: str) -> Reply:
    if not isinstance(name, str) or name.upper().removeprefix("SIG") not in SIGNALS:
        return {"ok": False, "error": f"unknown signal {name!r}; use one of {', '.join(SIGNALS)}"}
    sig = signal.Signals["SIG" + name.upper().removeprefix("SIG")]
    sent = _send(engine, unit, sig)
    if not sent:
        return {"ok": False, "error": f"watch {unit.name} has no running process to signal"}
    engine.emit("signal_sent", watch=unit.name, signal=sig.name[3:], pids=",".join(map(str, sent)), by=by)
    return {"ok": True, "watch": unit.name, "signal": sig.name[3:], "pids": sent}


def _send(engine: Engine, unit: WatchUnit, sig: int) -> list:
    return [pid for pid, inst in sorted(unit.instances.items()) if engine.send_signal(inst.identity, sig)]


def reload_service(engine: Engine, unit: WatchUnit, by: str) -> Union[Reply, Later]:
    spec = unit.watch.reload
    if spec is None:
        return {"ok": False, "error": f"watch {unit.name} has no `reload:`; add reload: {{signal: HUP}} or "
                                      "reload: {argv: [...]} to its config"}
    if spec.signal is not None:
        how = f"signal:{signal.Signals(spec.signal).name[3:]}"
        sent = _send(engine, unit, spec.signal)
        if not sent:
            return _failed(engine, unit, how, "no running process to signal", by)
        engine.emit("service_reloaded", watch=unit.name, how=how, by=by)
        return {"ok": True, "watch": unit.name, "how": how, "pids": sent}
    assert spec.argv is not None
    argv, timeout = list(spec.argv), spec.timeout
    how = "command:" + os.path.basename(argv[0])
    env = {"PATH": SERVICE_PATH, "LANG": "C.UTF-8", "PROCGUARD_WATCH": unit.name,
           "PROCGUARD_PIDS": " ".join(map(str, unit.pids))}
    answer = Later()

    def work() -> None:
        result = run_command(argv, timeout, env=env, cwd="/")
        engine.loop.post(lambda: finish(result.ok, result.status, result.output))

    def finish(ok: bool, status: str, output: str) -> None:
        if ok:
            engine.emit("service_reloaded", watch=unit.name, how=how, by=by)
            answer.resolve({"ok": True, "watch": unit.name, "how": how})
        else:
            tail = f": {output.splitlines()[-1][:200]}" if output else ""
            answer.resolve(_failed(engine, unit, how, f"{status}{tail}", by))

    threading.Thread(target=work, name=f"reload:{unit.name}", daemon=True).start()
    return answer


def _failed(engine: Engine, unit: WatchUnit, how: str, reason: str, by: str) -> Reply:
    engine.emit("service_reload_failed", watch=unit.name, how=how, reason=reason, by=by)
    return {"ok": False, "error": f"reload of {unit.name} failed ({how}): {reason}"}
