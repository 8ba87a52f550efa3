"""Run event hooks beside the agent, never in its way: a bounded queue, a few worker threads.

`offer()` is an Emitter sink: it runs inside `emit()` on whatever thread logged the event,
so it only matches the hooks (a few comparisons each) and appends to the queue under a
lock. Workers (at most MAX_RUNNING, started when there is work and gone when there is
none) run each job within its hook's timeout:

* a command: children.commands.run_command, its own session, SIGKILL to the whole group at
  the timeout; the event in PROCGUARD_* variables;
* a URL: the event POSTed as JSON by a short-lived child (post_main.py, with requests), no
  redirects, any 2xx is success; the same run_command bounds it, so the timeout holds for
  the whole request and `requests` (about 12 MiB) never enters the agent.

When MAX_QUEUED jobs wait, a new one is dropped and PG7011 logged, once until the queue has
drained. A failure is PG7010. Both are posted to the loop, and neither fires a hook.
A hung hook holds one worker until its timeout: deaths are still noticed and restarted at
once (benchmarks/hooks_load.py measures it).
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Counter, Deque, Dict, Mapping, Optional, Tuple

from ..children.commands import run_command
from ..config.hook_checks import OWN_MESSAGES
from ..config.hook_spec import HookSpec
from ..events.journald_ids import field_name, journald_id

MAX_RUNNING = 4
MAX_QUEUED = 64

Post = Callable[[Callable[[], None]], None]
Emit = Callable[..., None]


@dataclass(frozen=True)
class Job:
    """One hook to run for one event."""

    hook: HookSpec
    event: Dict[str, Any]  # the JSON a URL hook receives


@dataclass
class Outcome:
    """How one hook run ended, for its message."""

    ok: bool
    result: str       # exit:0, exit:1, signal:TERM, timeout, http:500, error: ...
    duration: float


class HookRunner:
    def __init__(self, post: Post, emit: Emit, host: str, max_running: int = MAX_RUNNING,
                 max_queued: int = MAX_QUEUED) -> None:
        self.post = post
        self.emit = emit
        self.host = host
        self.max_running = max_running
        self.max_queued = max_queued
        self.hooks: Tuple[HookSpec, ...] = ()
        self.counts: Counter[str] = collections.Counter()  # ran, failed, dropped: for tests
        self._lock = threading.Lock()
        self._queue: Deque[Job] = collections.deque()
        self._running = 0
        self._drop_logged = False
        self._closed = False

    def configure(self, hooks: Tuple[HookSpec, ...]) -> None:
        self.hooks = hooks  # one reference: offer() on another thread sees the old or the new tuple

    # -- the sink ------------------------------------------------------------------------
    def offer(self, msg: Any, fields: Mapping[str, object], line: str) -> None:
        hooks = self.hooks
        if not hooks or msg.id in OWN_MESSAGES:
            return
        event: Optional[Dict[str, Any]] = None
        for hook in hooks:
            if hook.matches(msg.id, msg.severity, fields):
                event = event or self._event(msg, fields, line)
                self._enqueue(Job(hook, event))

    def _event(self, msg: Any, fields: Mapping[str, object], line: str) -> Dict[str, Any]:
        return {"id": msg.id, "name": msg.name, "severity": msg.severity, "text": msg.text, "message": line,
                "fields": {k: str(v) for k, v in fields.items() if v is not None}, "host": self.host,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "message_id": journald_id(msg)}

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            if self._closed:
                return
            if len(self._queue) >= self.max_queued:
                self.counts["dropped"] += 1
                if not self._drop_logged:
                    self._drop_logged = True
                    queued = len(self._queue)
                    self.post(lambda: self.emit("hook_dropped", hook=job.hook.name, event=job.event["id"],
                                                queued=queued))
                return
            self._queue.append(job)
            if self._running >= self.max_running:
                return
            self._running += 1
        threading.Thread(target=self._work, name="procguard-hook", daemon=True).start()

    # -- the workers ---------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    self._running -= 1
                    if not self._queue:
                        self._drop_logged = False
                    return
                job = self._queue.popleft()
            outcome = self.run(job)
            with self._lock:
                self.counts["ran"] += 1
                self.counts["failed"] += not outcome.ok
            if not outcome.ok:
                self._report(job, outcome)

    def _report(self, job: Job, outcome: Outcome) -> None:
        fields = {"hook": job.hook.name, "event": job.event["id"], "result": outcome.result,
                  "duration": f"{outcome.duration:.3f}s"}
        self.post(lambda: self.emit("hook_failed", **fields))

    def run(self, job: Job) -> Outcome:
        """One job, within its hook's timeout; never raises."""
        started = time.monotonic()
        try:
            if job.hook.url:
                return self._post(job)
            res = run_command(job.hook.argv, job.hook.timeout, env=self._env(job))
            return Outcome(res.ok, res.status, res.duration)
        except Exception as exc:  # a hook's failure is logged, never the agent's
            return Outcome(False, f"error: {type(exc).__name__}: {exc}", time.monotonic() - started)

    def _env(self, job: Job) -> Dict[str, str]:
        env = dict(os.environ)
        env.update(job.hook.env)
        event = job.event
        env.update({field_name(k): v for k, v in event["fields"].items()})
        env.update({"PROCGUARD_HOOK": job.hook.name, "PROCGUARD_EVENT_ID": event["id"],
                    "PROCGUARD_EVENT": event["name"], "PROCGUARD_SEVERITY": event["severity"],
                    "PROCGUARD_MESSAGE": event["message"], "PROCGUARD_HOST": self.host,
                    "PROCGUARD_TIME": event["time"], "PROCGUARD_EVENT_JSON": json.dumps(event)})
        return env

    def _post(self, job: Job) -> Outcome:
        """In a child (post_main.py): requests stays out of the agent, and the timeout holds."""
        hook = job.hook
        assert hook.url is not None
        env = dict(os.environ, PROCGUARD_HOOK_BODY=json.dumps(dict(job.event, hook=hook.name)),
                   PROCGUARD_HOOK_HEADERS=json.dumps(dict(hook.headers)), PROCGUARD_HOOK_TIMEOUT=str(hook.timeout))
        res = run_command([sys.executable, "-m", "procguard.hooks.post_main", hook.url], hook.timeout, env=env)
        answer = res.output.splitlines()[-1] if res.output else ""
        if res.status == "timeout" or res.ok:
            return Outcome(res.ok, answer if res.ok else "timeout", res.duration)
        return Outcome(False, answer if answer.startswith(("http:", "error:", "timeout")) else res.status, res.duration)

    def shutdown(self) -> None:
        """Queued jobs are dropped; running ones end by their own timeouts (daemon threads)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
