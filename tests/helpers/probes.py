"""Test doubles for the engine side: a post() queue drained by the test, a recording emitter;
and typed specs built from config dicts, as the engine hands them to the managers."""

from __future__ import annotations

import os
import queue
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from helpers.wait import wait_until
from procguard.config.action_spec import build_action, build_listener
from procguard.events.emitter import Emitter


class FakeLoop:
    """Stands in for the engine loop: post() queues, drain_until() runs on the test thread."""

    def __init__(self) -> None:
        self.q: queue.Queue[Callable[[], None]] = queue.Queue()
        self.verdicts: List[Tuple[float, str, str, Dict[str, Any]]] = []
        self.emitter = Emitter(socket_path="", history=500)
        self.lines: List[str] = []
        self.emitter.sinks.append(lambda msg, fields, line: self.lines.append(line))

    def post(self, fn: Callable[[], None]) -> None:
        self.q.put(fn)

    def on_verdict(self, watch: str, verdict: str, detail: Dict[str, Any]) -> None:
        self.verdicts.append((time.monotonic(), watch, verdict, detail))

    def drain_until(self, cond: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = cond()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                     f"verdicts={self.verdicts} lines={self.lines[-15:]}")
            try:
                fn = self.q.get(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            fn()

    def verdict(self, watch: str, verdict: str) -> Optional[Dict[str, Any]]:
        for _t, w, v, d in self.verdicts:
            if w == watch and v == verdict:
                return d
        return None

    def count(self, msg_id: str, **fields: str) -> int:
        return sum(1 for line in self.lines if line.startswith(msg_id + " ")
                   and all(f"{k}={v}" in line for k, v in fields.items()))


def wait_for(cond: Callable[[], Any], timeout: float, what: str = "condition", step: float = 0.02) -> Any:
    """The shared deadline wait (tests/helpers/wait.py), with this folder's argument order."""
    return wait_until(cond, timeout, interval=step, what=what)


def proc_state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:][:1].decode()


def proc_table() -> List[Tuple[int, int, int, str]]:
    """(pid, ppid, pgid, state) of every process."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        rest = data[data.rfind(b")") + 2:].split()
        out.append((int(name), int(rest[1]), int(rest[2]), rest[0].decode()))
    return out


def configure_escalation(esc: Any, top: Dict[str, Any], watches: Dict[str, List[Dict[str, Any]]]) -> None:
    """EscalationManager.configure from config dicts: `top` may hold `haproxy_agent`."""
    listeners = tuple(build_listener(cfg) for cfg in top.get("haproxy_agent", []))
    esc.configure(listeners, {name: tuple(build_action(a, i) for i, a in enumerate(actions))
                              for name, actions in watches.items()})
