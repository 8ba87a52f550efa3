"""ProbeManager: the engine's single entry point to probes.

Threading rules
* Every public method is called on the engine's loop thread only.
* Probe checks run in worker threads (one per probe; one notify listener per watch). They
  report only through `post(fn)`; the posted functions update the state kept here, emit
  events and call `on_verdict`, so all of that happens on the loop thread too.
* `pids` callables given to `configure` are called from worker threads: they must be cheap
  and thread-safe (return a tuple the loop replaces, never a list it mutates).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..config.probe_spec import ProbeSpec
from ..durations import iso_utc
from ..fileio import sha256_hex
from .checks import CHECKS
from .resources import RESOURCE_CHECKS, TreeView
from .runner import NotifyListener, ProbeResult, ProbeRunner, _Worker
from .snapshot import write_snapshot

Post = Callable[[Callable[[], None]], None]
# a success of these says the service answers; proc_state ("not stuck") and notify (whose
# readiness is READY=1) say nothing of the kind
READINESS_TYPES = ("http", "tcp", "exec", "heartbeat_file")
Verdict = Callable[[str, str, Dict[str, Any]], None]

@dataclass
class _ProbeState:
    """One probe's running tally: failures and successes in a row, stalled or not."""

    spec: ProbeSpec
    failures: int = 0
    successes: int = 0
    stalled: bool = False
    stalled_since: Optional[float] = None
    ready_epoch: int = -1
    last: Optional[ProbeResult] = None

    def reset(self) -> None:
        self.failures = self.successes = 0
        self.stalled = False
        self.stalled_since = None


@dataclass
class _Watch:
    """A watch's probes, the PIDs they look at, and their workers."""

    name: str
    specs: Tuple[ProbeSpec, ...]
    pids: Callable[[], Tuple[int, ...]]
    states: Dict[str, _ProbeState]
    workers: List[_Worker] = field(default_factory=list)
    epoch: int = 0
    started_at: float = field(default_factory=time.monotonic)
    stalled: bool = False
    notify_path: Optional[str] = None
    service_status: Optional[str] = None


class ProbeManager:
    def __init__(self, post: Post, emitter: Any, state_dir: str) -> None:
        self.post = post
        self.emitter = emitter
        self.state_dir = state_dir
        self.on_verdict: Verdict = lambda watch, verdict, detail: None
        # every finished check (watch, probe, ok, reason, seconds), for the metrics
        self.on_checked: Callable[[str, str, bool, str, float], None] = lambda *result: None
        self._watches: Dict[str, _Watch] = {}

    # ---- configuration -------------------------------------------------------------
    def configure(self, watch_name: str, specs: Tuple[ProbeSpec, ...],
                  pids: Callable[[], Tuple[int, ...]], view: Optional[TreeView] = None) -> None:
        """Apply a watch's probes. Unchanged probes keep running (and their counts)."""
        old = self._watches.get(watch_name)
        if old is not None and old.specs == specs:
            old.pids = pids
            for worker in old.workers:
                worker.pids = pids
            return
        self.remove(watch_name)
        if not specs:
            return
        w = _Watch(watch_name, specs, pids, {s.name: _ProbeState(s) for s in specs})
        self._watches[watch_name] = w
        deliver = self._deliverer(w)
        for spec in specs:
            if spec.type == "notify":
                path = self._notify_path(watch_name)
                try:
                    listener = NotifyListener(watch_name, spec, path, pids, deliver)
                except OSError as exc:
                    self.emitter.emit("notify_socket_failed", watch=watch_name, path=path,
                                      reason=exc.strerror or str(exc))
                    continue
                w.notify_path = path
                w.workers.append(listener)
            else:
                check = (RESOURCE_CHECKS[spec.type](spec, view or TreeView(pids)) if spec.type in RESOURCE_CHECKS
                         else CHECKS[spec.type](spec))
                w.workers.append(ProbeRunner(watch_name, spec, check, pids, deliver))
        for worker in w.workers:
            worker.start()

    def remove(self, watch_name: str) -> None:
        w = self._watches.pop(watch_name, None)
        if w is not None:
            for worker in w.workers:
                worker.stop()      # a running check ends by its own timeout, then the thread exits

    def shutdown(self, wait: float = 1.0) -> None:
        workers = [wk for w in self._watches.values() for wk in w.workers]
        for name in list(self._watches):
            self.remove(name)
        deadline = time.monotonic() + wait
        for wk in workers:
            wk.join(max(0.0, deadline - time.monotonic()))

    # ---- engine notices ------------------------------------------------------------
    def process_started(self, watch_name: str, pid: int, ready_within: Optional[float] = None) -> None:
        """A new process began: counts and stall state start afresh after start_delay.
        With `ready_within` (its start timeout), no probe declares a stall before
        process_ready() or that many seconds: until then a failure means "not ready yet".
        No 'healthy' verdict is sent for the reset; the engine knows it restarted."""
        w = self._watches.get(watch_name)
        if w is None:
            return
        w.epoch += 1
        w.stalled = False
        w.started_at = time.monotonic()
        w.service_status = None
        for st in w.states.values():
            st.reset()
        for worker in w.workers:
            worker.restart(w.epoch, pid, ready_within)

    def process_ready(self, watch_name: str) -> None:
        """The start is good (alive_for, a readiness probe or READY=1): judge from now on."""
        w = self._watches.get(watch_name)
        for worker in (w.workers if w else []):
            worker.mark_ready()

    def env_for(self, watch_name: str) -> Dict[str, str]:
        """Variables to add to the environment of a process the engine starts."""
        w = self._watches.get(watch_name)
        if w is None or not w.notify_path:
            return {}
        env = {"NOTIFY_SOCKET": w.notify_path}
        spec = next(s for s in w.specs if s.type == "notify")
        if spec.opt("watchdog"):
            env["WATCHDOG_USEC"] = str(int(spec.interval * 1_000_000))
        return env

    def is_stalled(self, watch_name: str) -> bool:
        w = self._watches.get(watch_name)
        return bool(w and w.stalled)

    def status(self, watch_name: str) -> List[Dict[str, Any]]:
        w = self._watches.get(watch_name)
        if w is None:
            return []
        out = []
        for spec in w.specs:
            st = w.states[spec.name]
            last = st.last if st.last is not None and st.last.epoch == w.epoch else None
            if st.stalled:
                state = "stalled"
            elif self._gated(w, spec.name) and not (last and last.ok):
                state = "starting"                  # failures now mean "not ready yet"
            elif last is None:
                state = "waiting"
            elif st.failures:
                state = "failing"
            else:
                state = "ok"
            item: Dict[str, Any] = {
                "name": spec.name, "type": spec.type, "state": state,
                "failures": st.failures, "successes": st.successes,
                "fall": spec.fall, "rise": spec.rise, "interval_s": spec.interval,
                "last": None if last is None else {
                    "ok": last.ok, "reason": last.reason, "at": _iso(last.at),
                    "duration_ms": round(last.duration * 1000, 1),
                },
                "stalled_since": _iso(st.stalled_since) if st.stalled_since else None,
            }
            if spec.type == "notify":
                item["socket"] = w.notify_path
                item["service_status"] = w.service_status
            out.append(item)
        return out

    def snapshot(self, watch_name: str, pids: Sequence[int]) -> Optional[str]:
        """Write the failure snapshot (call before stopping a stalled process); emits
        PG4005 or PG4006 and returns the path, or None if it could not be written."""
        recent = list(getattr(self.emitter, "recent", ()))
        try:
            path = write_snapshot(self.state_dir, watch_name, list(pids), self.status(watch_name), recent)
        except OSError as exc:
            self.emitter.emit("snapshot_failed", watch=watch_name,
                              path=os.path.join(self.state_dir, "snapshots"),
                              reason=exc.strerror or str(exc))
            return None
        self.emitter.emit("snapshot_written", watch=watch_name,
                          pids=",".join(map(str, pids)), path=path)
        return path

    # ---- results, on the loop thread -----------------------------------------------
    def _deliverer(self, w: _Watch) -> Callable[[ProbeResult], None]:
        def deliver(result: ProbeResult) -> None:
            self.post(lambda: self._on_result(w, result))
        return deliver

    def _on_result(self, w: _Watch, r: ProbeResult) -> None:
        if self._watches.get(w.name) is not w:
            return                                  # removed or reconfigured meanwhile
        st = w.states[r.probe]
        spec = st.spec
        if r.kind == "status":
            w.service_status = r.reason
            self.emitter.emit("notify_status", watch=w.name, pid=r.pid, status=r.reason)
            return
        if r.kind == "ready":
            # Accepted whatever its epoch: the listener checked that the sender belongs to
            # the watch, and READY=1 may be read before the engine called process_started.
            self._ready(w, st, r)
            return
        if r.epoch != w.epoch:
            return                                  # from before the last (re)start
        if not _safe_pids(w):
            return                                  # its process is gone meanwhile: the death path acts
        st.last = r
        self.on_checked(w.name, r.probe, r.ok, r.reason, r.duration)
        if r.ok:
            st.successes += 1
            st.failures = 0
            if spec.type in READINESS_TYPES:
                self._ready(w, st, r)
            if st.stalled and st.successes >= spec.rise:
                st.stalled = False
                st.stalled_since = None
                self.emitter.emit("stall_cleared", watch=w.name, probe=spec.name,
                                  type=spec.type, successes=st.successes)
                if w.stalled and not any(s.stalled for s in w.states.values()):
                    w.stalled = False
                    self.on_verdict(w.name, "healthy", {"probe": spec.name, "type": spec.type})
            return
        if self._gated(w, r.probe):
            return                                  # not ready yet: not a stall
        st.successes = 0
        st.failures += 1
        if spec.type == "exec" and r.reason.startswith("timeout"):
            self.emitter.emit("probe_killed", watch=w.name, probe=spec.name,
                              pid=r.pid, timeout=f"{spec.timeout:g}s")
        if st.stalled:
            return
        self.emitter.emit("probe_failed", watch=w.name, probe=spec.name, type=spec.type,
                          reason=r.reason, failures=st.failures, fall=spec.fall)
        if st.failures >= spec.fall:
            st.stalled = True
            st.stalled_since = time.time()
            pids = _safe_pids(w)
            self.emitter.emit("stall_detected", watch=w.name, probe=spec.name,
                              type=spec.type, pids=",".join(map(str, pids)),
                              failures=st.failures, reason=r.reason)
            if not w.stalled:
                w.stalled = True
                self.on_verdict(w.name, "stalled", {
                    "probe": spec.name, "type": spec.type, "reason": r.reason,
                    "failures": st.failures, "pids": pids,
                })

    @staticmethod
    def _gated(w: _Watch, probe: str) -> bool:
        now = time.monotonic()
        return any(worker.gated(now) for worker in w.workers if worker.spec.name == probe)

    def _ready(self, w: _Watch, st: _ProbeState, r: ProbeResult) -> None:
        if st.ready_epoch == w.epoch:
            return
        st.ready_epoch = w.epoch
        pid = r.pid or (_safe_pids(w) or (None,))[0]
        self.emitter.emit("probe_ready", watch=w.name, probe=st.spec.name,
                          type=st.spec.type, pid=pid, reason=r.reason)
        self.on_verdict(w.name, "ready", {"probe": st.spec.name, "type": st.spec.type, "pid": pid})

    def _notify_path(self, watch_name: str) -> str:
        folder = os.path.join(self.state_dir, "notify")
        path = os.path.join(folder, f"{watch_name}.sock")
        if len(path.encode()) > 107:        # sun_path limit: fall back to the abstract namespace
            digest = sha256_hex(os.path.abspath(self.state_dir).encode())[:12]
            return f"@procguard/{digest}/{watch_name}"
        os.makedirs(folder, mode=0o755, exist_ok=True)
        return path


def _safe_pids(w: _Watch) -> Tuple[int, ...]:
    try:
        return tuple(w.pids())
    except Exception:
        return ()


def _iso(ts: float) -> str:
    return iso_utc(ts)
