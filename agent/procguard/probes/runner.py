"""Worker threads: one per probe (one per watch for notify). They never touch engine
state; each result goes out through `deliver(ProbeResult)`, which the manager turns into a
`post()`-ed call on the loop thread."""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from .checks import Check, read_state
from ..config.probe_spec import ProbeSpec
from ..durations import jitter_fraction

Pids = Callable[[], Tuple[int, ...]]


@dataclass
class ProbeResult:
    """One probe run's answer, tagged with the epoch it was asked in (stale ones are dropped)."""

    probe: str
    epoch: int
    kind: str                 # check | ready | status
    ok: bool
    reason: str
    at: float                 # wall clock, for people
    duration: float = 0.0
    pid: Optional[int] = None
    extra: Dict[str, str] = field(default_factory=dict)


class _Worker(threading.Thread):
    def __init__(self, name: str, spec: ProbeSpec, pids: Pids,
                 deliver: Callable[[ProbeResult], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.spec = spec
        self.pids = pids
        self.deliver = deliver
        self._cond = threading.Condition()
        self._stopped = False
        self.epoch = 0
        self.not_before = time.monotonic() + spec.start_delay
        self.started_pid: Optional[int] = None
        # a process the agent started is not judged before it is ready (or its start
        # timeout passed); an adopted one is running already
        self.is_ready = True
        self.ready_deadline = 0.0

    def restart(self, epoch: int, pid: Optional[int], ready_within: Optional[float] = None) -> None:
        """A (re)start happened: hold checks for start_delay, then begin afresh; with
        `ready_within`, the process is not ready until mark_ready() or that many seconds."""
        with self._cond:
            self.epoch = epoch
            self.started_pid = pid
            self.not_before = time.monotonic() + self.spec.start_delay
            self.is_ready = ready_within is None
            self.ready_deadline = time.monotonic() + (ready_within or 0.0)
            self._cond.notify_all()

    def mark_ready(self) -> None:
        with self._cond:
            self.is_ready = True
            self._cond.notify_all()

    def gated(self, now: float) -> bool:
        """Still starting: not ready, and the start timeout has not passed."""
        return not self.is_ready and now < self.ready_deadline

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _current_pids(self) -> Tuple[int, ...]:
        try:
            return tuple(self.pids())
        except Exception:  # a broken callable must not kill the thread
            return ()


class ProbeRunner(_Worker):
    """Runs a check every `interval` (measured start to start), after `start_delay`."""

    def __init__(self, watch: str, spec: ProbeSpec, check: Check, pids: Pids,
                 deliver: Callable[[ProbeResult], None]) -> None:
        super().__init__(f"probe:{watch}:{spec.name}", spec, pids, deliver)
        self.check = check

    def run(self) -> None:
        next_due = 0.0
        seen_epoch = -1
        while True:
            with self._cond:
                while not self._stopped:
                    if self.epoch != seen_epoch:
                        # The first round after configure is spread over one interval, so
                        # that many probes configured together do not all fire (and time
                        # out) in the same instant; after a restart, start_delay is exact.
                        first = seen_epoch == -1
                        seen_epoch = self.epoch
                        next_due = self.not_before + (self.spec.interval * jitter_fraction() if first else 0)
                        if hasattr(self.check, "since"):
                            self.check.since.clear()      # a new process: forget old timings
                    wait = max(next_due, self.not_before) - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                epoch = self.epoch
            pids = self._current_pids()
            started = time.monotonic()
            next_due = started + self.spec.interval
            if not pids:
                continue                                   # nothing to probe: the death path acts
            try:
                ok, reason = self.check.run(pids)
            except Exception as exc:  # report it as a failed check, never die
                ok, reason = False, f"probe error: {type(exc).__name__}: {exc}"
            self.deliver(ProbeResult(self.spec.name, epoch, "check", ok, reason, time.time(),
                                     time.monotonic() - started,
                                     pid=getattr(self.check, "last_pid", None)))


SCM_CREDENTIALS = getattr(socket, "SCM_CREDENTIALS", 2)
SO_PASSCRED = getattr(socket, "SO_PASSCRED", 16)
UCRED = struct.Struct("iII")


class NotifyListener(_Worker):
    """An sd_notify datagram socket for one watch (systemd's NOTIFY_SOCKET protocol).

    Only the watch's processes and their descendants are heard (the sender's pid comes from
    SCM_CREDENTIALS). READY=1 reports ready; WATCHDOG=1 must come within `interval`;
    WATCHDOG=trigger fails at once; WATCHDOG_USEC= changes the interval; STATUS= is kept."""

    def __init__(self, watch: str, spec: ProbeSpec, path: str, pids: Pids,
                 deliver: Callable[[ProbeResult], None]) -> None:
        super().__init__(f"notify:{watch}", spec, pids, deliver)
        self.path = path
        self.interval = spec.interval
        self.sock = self._bind(path)

    @staticmethod
    def _bind(path: str) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        sock.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        if path.startswith("@"):
            sock.bind("\0" + path[1:])
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            sock.bind(path)
            os.chmod(path, 0o666)  # noqa: S103 - any service user may send; senders are checked by pid
        sock.setblocking(False)
        return sock

    def _accepts(self, pid: int) -> bool:
        watched = set(self._current_pids())
        if self.started_pid:
            watched.add(self.started_pid)
        hops = 0
        while pid > 1 and hops < 32:
            if pid in watched:
                return True
            pid = _ppid(pid)
            hops += 1
        return False

    def run(self) -> None:
        try:
            self._serve()
        finally:
            self.sock.close()
            if not self.path.startswith("@"):
                try:
                    os.unlink(self.path)
                except OSError:
                    pass

    def _serve(self) -> None:
        seen_epoch = -1
        last_ping = time.monotonic()
        was_armed = False
        while True:
            with self._cond:
                if self._stopped:
                    return
                if self.epoch != seen_epoch:                # (re)start: the clock starts
                    seen_epoch = self.epoch                 # after start_delay
                    last_ping = self.not_before
                    was_armed = False
                epoch = self.epoch
            now = time.monotonic()
            # as systemd does, the watchdog runs only once the service is ready (READY=1,
            # or its start judged good), or once its start timeout has passed
            armed = bool(self.spec.opt("watchdog")) and now >= self.not_before and not self.gated(now)
            if armed and not was_armed:
                last_ping = max(last_ping, now)
            was_armed = armed
            if armed and not self._current_pids():
                last_ping = now                          # no process: nothing to time
            deadline = last_ping + self.interval
            if armed and now >= deadline:
                self.deliver(ProbeResult(self.spec.name, epoch, "check", False,
                                         f"no WATCHDOG=1 for {now - last_ping:.1f}s "
                                         f"(interval {self.interval:g}s)", time.time()))
                last_ping = now
                continue
            wait = min(0.5, max(0.0, deadline - now)) if armed else 0.5
            ready, _, _ = select.select([self.sock], [], [], wait)
            if ready:
                last_ping = self._drain(epoch, last_ping)

    def _drain(self, epoch: int, last_ping: float) -> float:
        while True:
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(UCRED.size))
            except (BlockingIOError, InterruptedError):
                return last_ping
            except OSError:
                return last_ping
            pid = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS and len(payload) >= UCRED.size:
                    pid = UCRED.unpack(payload[:UCRED.size])[0]
            if not pid or not self._accepts(pid):
                continue
            fields = _parse(data)
            now = time.time()
            if "WATCHDOG_USEC" in fields:
                try:
                    self.interval = max(0.01, int(fields["WATCHDOG_USEC"]) / 1e6)
                except ValueError:
                    pass
            if fields.get("READY") == "1":
                self.mark_ready()
                self.deliver(ProbeResult(self.spec.name, epoch, "ready", True, "READY=1", now, pid=pid))
            if "STATUS" in fields:
                self.deliver(ProbeResult(self.spec.name, epoch, "status", True, fields["STATUS"][:200],
                                         now, pid=pid))
            if fields.get("WATCHDOG") == "1":
                last_ping = time.monotonic()
                self.deliver(ProbeResult(self.spec.name, epoch, "check", True, "WATCHDOG=1", now, pid=pid))
            elif fields.get("WATCHDOG") == "trigger":
                self.deliver(ProbeResult(self.spec.name, epoch, "check", False,
                                         "WATCHDOG=trigger sent by the service", now, pid=pid))


def _parse(data: bytes) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value
    return out


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rfind(b")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


__all__ = ["NotifyListener", "ProbeResult", "ProbeRunner", "read_state"]
