"""EscalationManager: the engine's single entry point to give-up actions and HAProxy.

Threading rules
* Every public method is called on the engine's loop thread only.
* Actions of one watch run in order in that watch's worker thread; undo timers are
  threading.Timer objects. Both report only through `post(fn)`, so events and status
  changes happen on the loop thread.
* HAProxy listeners run in their own threads and read health from a locked board.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..config.action_spec import ActionSpec, ListenerSpec, Server
from ..durations import iso_utc
from .actions import TYPES, Action, HaproxyAgentAction, Outcome
from .haproxy import AgentListener, HealthBoard

Post = Callable[[Callable[[], None]], None]


@dataclass
class _ActionState:
    """One action of a watch's escalation and where it is in its life."""

    action: Action
    state: str = "idle"      # idle | running | in_force | failed | undo_pending | undoing
    since: float = field(default_factory=time.time)
    last: Optional[str] = None
    timer: Optional[threading.Timer] = None


@dataclass
class _WatchEsc:
    """A watch's escalation: its actions and, once needed, its worker queue."""

    name: str
    specs: Tuple[ActionSpec, ...]
    actions: List[_ActionState]
    # made with the worker, on the first job: a watch without actions costs no queue or thread
    jobs: Optional[queue.Queue[Optional[Tuple[str, _ActionState, Dict[str, Any]]]]] = None
    worker: Optional[threading.Thread] = None
    gen: int = 0
    ctx: Dict[str, Any] = field(default_factory=dict)


class EscalationManager:
    def __init__(self, post: Post, emitter: Any, host_name: str) -> None:
        self.post = post
        self.emitter = emitter
        self.host = host_name
        self.board = HealthBoard()
        self.listeners: List[AgentListener] = []
        self.recover_after = 10.0
        self._listener_specs: Tuple[ListenerSpec, ...] = ()
        self._watches: Dict[str, _WatchEsc] = {}

    # ---- configuration -------------------------------------------------------------
    def configure(self, listeners: Tuple[ListenerSpec, ...], watch_actions: Dict[str, Tuple[ActionSpec, ...]]) -> None:
        """Apply the listeners and each watch's actions; unchanged actions keep their state."""
        self._configure_listeners(listeners)
        for name in list(self._watches):
            if name not in watch_actions:
                self._drop(name)
        for name, specs in watch_actions.items():
            old = self._watches.get(name)
            if old is not None and old.specs == specs:
                continue
            if old is not None:
                self._drop(name)
            w = _WatchEsc(name, specs, [_ActionState(self._build(spec)) for spec in specs])
            self._watches[name] = w
            for st in w.actions:
                if type(st.action).prepare is not Action.prepare:
                    self._queue(w, "prepare", st, {"watch": name, "event": "configured"})

    def _build(self, spec: ActionSpec) -> Action:
        if spec.type == "haproxy_agent":
            return HaproxyAgentAction(spec, self.host, self.board)
        return TYPES[spec.type](spec, self.host)

    def _configure_listeners(self, specs: Tuple[ListenerSpec, ...]) -> None:
        if specs == self._listener_specs:
            return
        self._listener_specs = specs
        for listener in self.listeners:
            listener.stop()
        for listener in self.listeners:
            listener.join(1.0)
        self.listeners = []
        for spec in specs:
            self.recover_after = max(self.recover_after if self.listeners else 0.0, spec.recover_after)
            try:
                listener = AgentListener(spec.address, spec.port, spec.servers, self.board, self._answer_changed)
            except OSError as exc:
                self.emitter.emit("haproxy_agent_failed", address=spec.address, port=spec.port,
                                  reason=exc.strerror or str(exc))
                continue
            listener.start()
            self.listeners.append(listener)
            self.emitter.emit("haproxy_agent_listening", address=spec.address, port=listener.port,
                              servers=",".join(s.name for s in spec.servers))

    def _answer_changed(self, server: Server, answer: str) -> None:      # listener thread
        self.post(lambda: self.emitter.emit("haproxy_answer_changed", server=server.name,
                                            answer=answer, watches=",".join(server.watches)))

    # ---- engine notices ------------------------------------------------------------
    def gave_up(self, watch: str, ctx: Dict[str, Any]) -> None:
        """The watch gave up: run its actions in order (those not already in force)."""
        w = self._watches.get(watch)
        if w is None or not w.actions:
            return
        ctx = {"watch": watch, "event": "gave_up", **ctx}
        w.ctx = ctx
        self._cancel_undo(w, "gave up again")
        todo = [st for st in w.actions if st.state in ("idle", "undoing", "failed")]
        if not todo:
            return
        self.emitter.emit("escalation_started", watch=watch,
                          actions=",".join(st.action.name for st in todo), reason=ctx.get("reason"))
        for st in todo:
            self._set(st, "running")
            self._queue(w, "do", st, ctx)

    def recovered(self, watch: str, ctx: Dict[str, Any]) -> None:
        """The watch is healthy again: undo each action once it stayed healthy `undo_after`."""
        w = self._watches.get(watch)
        if w is None:
            return
        live = [st for st in w.actions if st.state in ("running", "in_force", "failed")]
        if not live:
            return
        w.gen += 1
        gen = w.gen
        undo_ctx = {**w.ctx, **ctx, "watch": watch, "event": "recovered"}
        for st in live:
            self._set(st, "undo_pending")
            timer = threading.Timer(st.action.undo_after,
                                    lambda st=st: self.post(lambda: self._undo_due(w, gen, st, undo_ctx)))
            timer.daemon = True
            st.timer = timer
            timer.start()
        delays = sorted({st.action.undo_after for st in live})
        self.emitter.emit("undo_scheduled", watch=watch,
                          after="/".join(f"{d:g}s" for d in delays))

    def set_health(self, watch: str, healthy: bool, gave_up: bool) -> None:
        """Every health change of a watch (HAProxy answers follow it at once)."""
        self.board.set(watch, healthy, gave_up, self.recover_after)
        w = self._watches.get(watch)
        if w is not None and not healthy:
            self._cancel_undo(w, "unhealthy again")

    def status(self, watch: str) -> List[Dict[str, Any]]:
        w = self._watches.get(watch)
        out: List[Dict[str, Any]] = []
        for st in (w.actions if w else []):
            out.append({"action": st.action.name, "type": st.action.type, "state": st.state,
                        "since": iso_utc(st.since),
                        "last_result": st.last})
        for listener in self.listeners:
            for server in listener.servers:
                if watch in server.watches:
                    out.append({"action": f"haproxy:{server.name}", "type": "haproxy_agent_server",
                                "state": self.board.answer(server),
                                "listener": f"{listener.address}:{listener.port}"})
        return out

    def env_for(self, watch: str) -> Dict[str, str]:
        return {}

    def shutdown(self, wait: float = 1.0) -> None:
        for name in list(self._watches):
            self._drop(name)
        for listener in self.listeners:
            listener.stop()
        deadline = time.monotonic() + wait
        for listener in self.listeners:
            listener.join(max(0.0, deadline - time.monotonic()))
        self.listeners = []
        self._listener_specs = ()

    # ---- internals -----------------------------------------------------------------
    def _drop(self, name: str) -> None:
        w = self._watches.pop(name, None)
        if w is None:
            return
        for st in w.actions:
            if st.timer:
                st.timer.cancel()
        if w.jobs is not None:
            w.jobs.put(None)

    def _cancel_undo(self, w: _WatchEsc, reason: str) -> None:
        pending = [st for st in w.actions if st.state == "undo_pending"]
        if not pending:
            return
        w.gen += 1
        for st in pending:
            if st.timer:
                st.timer.cancel()
                st.timer = None
            self._set(st, "in_force")
        self.emitter.emit("undo_cancelled", watch=w.name, reason=reason)

    def _undo_due(self, w: _WatchEsc, gen: int, st: _ActionState, ctx: Dict[str, Any]) -> None:
        if self._watches.get(w.name) is not w or gen != w.gen or st.state != "undo_pending":
            return
        st.timer = None
        self._set(st, "undoing")
        self._queue(w, "undo", st, ctx)

    def _set(self, st: _ActionState, state: str) -> None:
        st.state = state
        st.since = time.time()

    def _queue(self, w: _WatchEsc, kind: str, st: _ActionState, ctx: Dict[str, Any]) -> None:
        if w.jobs is None:
            w.jobs = queue.Queue()
        if w.worker is None:
            w.worker = threading.Thread(target=self._work, args=(w,), name=f"escalate:{w.name}", daemon=True)
            w.worker.start()
        w.jobs.put((kind, st, dict(ctx)))

    def _work(self, w: _WatchEsc) -> None:                                # worker thread
        jobs = w.jobs
        assert jobs is not None
        while True:
            job = jobs.get()
            if job is None:
                return
            kind, st, ctx = job
            try:
                if kind == "do":
                    outcome: Optional[Outcome] = st.action.do(ctx)
                elif kind == "undo":
                    outcome = st.action.undo(ctx)
                else:
                    outcome = st.action.prepare()
            except Exception as exc:
                outcome = Outcome(False, "error", f"{type(exc).__name__}: {exc}")
            self.post(functools.partial(self._done, w, kind, st, outcome))

    def _done(self, w: _WatchEsc, kind: str, st: _ActionState, outcome: Optional[Outcome]) -> None:
        a = st.action
        if kind == "prepare":
            if outcome is not None and not outcome.ok:
                self.emitter.emit("action_failed", watch=w.name, action=a.name, type=a.type,
                                  result=outcome.result, output=outcome.output[-300:] or None)
            return
        if kind == "do":
            if outcome is None or outcome.ok:
                st.last = outcome.result if outcome else "nothing to do"
                if st.state == "running":
                    self._set(st, "in_force")
                self.emitter.emit("action_done", watch=w.name, action=a.name, type=a.type,
                                  result=st.last, duration=f"{outcome.duration:.2f}s" if outcome else None)
                return
            st.last = outcome.result
            if st.state == "running":
                self._set(st, "failed")
            if outcome.result == "timeout":
                self.emitter.emit("action_timeout", watch=w.name, action=a.name, type=a.type,
                                  timeout=f"{a.timeout:g}s")
            else:
                self.emitter.emit("action_failed", watch=w.name, action=a.name, type=a.type,
                                  result=outcome.result, output=outcome.output[-300:] or None)
            return
        # undo
        if outcome is None or outcome.ok:
            st.last = outcome.result if outcome else "nothing to undo"
            if st.state == "undoing":
                self._set(st, "idle")
            self.emitter.emit("action_undone", watch=w.name, action=a.name, type=a.type, result=st.last)
            return
        st.last = outcome.result
        if st.state == "undoing":
            self._set(st, "failed")
        self.emitter.emit("undo_failed", watch=w.name, action=a.name, type=a.type,
                          result=outcome.result, output=outcome.output[-300:] or None)
