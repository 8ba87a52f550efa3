"""Built-in escalation actions. `do()` and `undo()` run in the watch's escalation worker
thread and return an Outcome; none may outlive its timeout."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..children.commands import run_command
from ..config.action_spec import ActionSpec
from ..fileio import which, write_atomically


@dataclass
class Outcome:
    """How one escalation action ended, for its message and the manager's state."""

    ok: bool
    result: str            # exit:0, timeout, written, error ...
    output: str = ""
    duration: float = 0.0


class Action:
    type = "?"

    def __init__(self, spec: ActionSpec, host: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.timeout = spec.timeout
        self.undo_after = spec.undo_after
        self.host = host

    def prepare(self) -> Optional[Outcome]:
        """At configure time, in the worker thread: put the healthy state in place if needed."""
        return None

    def do(self, ctx: Dict[str, Any]) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def undo(self, ctx: Dict[str, Any]) -> Optional[Outcome]:
        """None: nothing to undo."""
        return None

    def _run(self, argv: List[str], ctx: Dict[str, Any], extra_env: Optional[Dict[str, str]] = None) -> Outcome:
        env = dict(os.environ)
        env.update(self.spec.opt("env") or {})
        env.update(extra_env or {})
        env.update({
            "PROCGUARD_WATCH": str(ctx.get("watch", "")),
            "PROCGUARD_EVENT": str(ctx.get("event", "")),
            "PROCGUARD_PID": str(ctx.get("pid") or ""),
            "PROCGUARD_REASON": str(ctx.get("reason", "")),
            "PROCGUARD_HOST": self.host,
            "PROCGUARD_ACTION": self.name,
        })
        res = run_command(argv, self.timeout, env=env)
        return Outcome(res.ok, res.status, res.output, res.duration)


class CommandAction(Action):
    """Any program: `clprexec --failover GROUP`, a webhook through curl, a script."""
    type = "command"

    def do(self, ctx: Dict[str, Any]) -> Outcome:
        return self._run(list(self.spec.opt("argv")), ctx)

    def undo(self, ctx: Dict[str, Any]) -> Optional[Outcome]:
        if not self.spec.opt("undo_argv"):
            return None
        return self._run(list(self.spec.opt("undo_argv")), ctx)


class KeepalivedAction(Action):
    """Writes an integer to keepalived's track_file: VRRP priority + weight * value."""
    type = "keepalived"

    def __init__(self, spec: ActionSpec, host: str) -> None:
        super().__init__(spec, host)
        self.path = spec.opt("track_file")
        self.bad = int(spec.opt("weight"))
        self.good = int(spec.opt("healthy_weight"))

    def write(self, value: int) -> Outcome:
        started = time.monotonic()
        folder = os.path.dirname(self.path) or "/"
        try:
            os.makedirs(folder, exist_ok=True)
            write_atomically(self.path, f"{value}\n".encode(), 0o644)  # keepalived sees a whole number
        except OSError as exc:
            return Outcome(False, "error", f"{self.path}: {exc.strerror or exc}", time.monotonic() - started)
        return Outcome(True, f"weight {value} written", "", time.monotonic() - started)

    def prepare(self) -> Optional[Outcome]:
        if os.path.exists(self.path):
            return None
        return self.write(self.good)

    def do(self, ctx: Dict[str, Any]) -> Outcome:
        return self.write(self.bad)

    def undo(self, ctx: Dict[str, Any]) -> Optional[Outcome]:
        return self.write(self.good)


class PacemakerAction(Action):
    """Node health attribute through attrd_updater, or a ban through crm_resource."""
    type = "pacemaker"

    def __init__(self, spec: ActionSpec, host: str) -> None:
        super().__init__(spec, host)
        self.mode = spec.opt("mode")
        self.attribute = spec.opt("attribute")
        self.node = spec.opt("node")

    def _attr(self, value: str) -> List[str]:
        argv = [_tool("attrd_updater"), "-n", self.attribute, "-U", value]
        return argv + (["-N", self.node] if self.node else [])

    def _ban(self, verb: str) -> List[str]:
        argv = [_tool("crm_resource"), verb, "--resource", self.spec.opt("resource")]
        return argv + (["--node", self.node] if self.node else [])

    def do(self, ctx: Dict[str, Any]) -> Outcome:
        if self.mode == "ban":
            return self._run(self._ban("--ban"), ctx)
        return self._run(self._attr(self.spec.opt("value")), ctx)

    def undo(self, ctx: Dict[str, Any]) -> Optional[Outcome]:
        if self.mode == "ban":
            return self._run(self._ban("--clear"), ctx)
        return self._run(self._attr(self.spec.opt("healthy_value")), ctx)


class HaproxyAgentAction(Action):
    """Forces the answer of the servers that depend on the watch while in force. The
    listeners report the watch's health anyway; this action picks the state and shows the
    escalation in `procguard status`."""
    type = "haproxy_agent"

    def __init__(self, spec: ActionSpec, host: str, board: Any = None) -> None:
        super().__init__(spec, host)
        self.board = board
        self.state = spec.opt("state")

    def do(self, ctx: Dict[str, Any]) -> Outcome:
        if self.state and self.board is not None:
            with self.board.lock:
                self.board.override[ctx["watch"]] = self.state
        return Outcome(True, f"servers answer {self.state or 'their gave_up state'}")

    def undo(self, ctx: Dict[str, Any]) -> Optional[Outcome]:
        if self.board is not None:
            with self.board.lock:
                self.board.override.pop(ctx["watch"], None)
        return Outcome(True, "servers answer from health again")


def _tool(name: str) -> str:
    return which(name) or which(name, "/usr/sbin:/usr/bin:/sbin:/bin") or name


TYPES = {"command": CommandAction, "keepalived": KeepalivedAction, "pacemaker": PacemakerAction,
         "haproxy_agent": HaproxyAgentAction}

