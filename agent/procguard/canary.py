"""The canary self-test: proof, on every host, that the agent notices a death and restarts.

Every `canary.interval` (settings) the agent starts a tiny process (`/bin/sleep 60`) with
the spawner its watches use, kills it with SIGKILL at an instant it reads on its own clock,
notices the death the way it notices its watches' (a pidfd in the loop's epoll, or polling
when the detector polls), and starts the replacement at once. So, unlike a watched
process's death, the instant of this one is known exactly:

    detection  the kill -> the loop handling the death
    restart    the kill -> the replacement running (exec'd), the figure held against `bound`

The result is PG7020 (passed) or PG7021 (failed: not within `bound`, or the death was not
noticed within NOTICE_LIMIT), and the metrics procguard_canary_checks_total{result} and
procguard_canary_latency_seconds (the restart figure). The replacement is then stopped:
between tests no canary runs. A Companion of the engine (observer.py).
It is not a watch: it never shows in `procguard status` and never raises watch alerts.
"""

from __future__ import annotations

import os
import signal
from typing import Any, Callable, List, Optional, Tuple

from .config.model import Start
from .engine import Engine
from .loop import TimerHandle
from .spawn import SpawnError

NAME = "_canary"  # a watch name cannot start with "_": no clash with a watch's log file
OWNER = "<canary>"
START = Start(argv=("/bin/sleep", "60"), shell=False, user=None, group=None, env=(), cwd="/", timeout=30.0,
              alive_for=0.0, ready_probe=None, umask=None)
FIRST_AFTER = 10.0    # seconds after the agent started: a first result soon
NOTICE_LIMIT = 30.0   # a death not noticed by then is a failed test


def _ms(seconds: Optional[float]) -> Optional[str]:
    return None if seconds is None else f"{seconds * 1000:.2f}ms"


class Canary:
    def __init__(self, engine: Engine, interval: float, bound: float,
                 record: Optional[Callable[[bool, Optional[float]], None]] = None) -> None:
        self.engine = engine
        self.interval = interval
        self.bound = bound
        self.record = record  # Recorder.canary, when metrics are on
        self.results: List[Tuple[bool, Optional[float], Optional[float]]] = []  # ok, detection, restart
        self._timer: Optional[TimerHandle] = None
        self._watch: Optional[TimerHandle] = None
        self._pid: Optional[int] = None
        self._fd: Optional[int] = None
        self._on_end: Callable[[], None] = lambda: None
        self._killed_at = 0.0
        self._detection: Optional[float] = None

    # -- Companion -----------------------------------------------------------------------
    def start(self) -> None:
        self._timer = self.engine.loop.call_later(min(FIRST_AFTER, self.interval), self.check)

    def reloaded(self) -> None:
        pass

    def stop(self) -> None:
        for timer in (self._timer, self._watch):
            if timer is not None:
                timer.cancel()
        self._end_process(kill=True)

    # -- one test ------------------------------------------------------------------------
    def check(self) -> None:
        """Start, kill, notice, restart; the rest happens in _noticed."""
        self._timer = self.engine.loop.call_later(self.interval, self.check)
        if self._pid is not None:
            return  # the previous test is still waiting for its death
        self._detection = None
        try:
            self._run(self._first_died)
        except (OSError, SpawnError) as exc:
            self._result(False, f"canary could not start: {exc}", None)
            return
        self._watch = self.engine.loop.call_later(NOTICE_LIMIT, self._not_noticed)
        self._killed_at = self.engine.loop.clock()
        self._signal(signal.SIGKILL)

    def _first_died(self) -> None:
        loop = self.engine.loop
        self._detection = loop.clock() - self._killed_at
        if self._watch is not None:
            self._watch.cancel()
        try:
            self._run(self._replacement_stopped)  # the restart
        except (OSError, SpawnError) as exc:
            self._result(False, f"replacement could not start: {exc}", None)
            return
        restart = loop.clock() - self._killed_at
        ok = restart <= self.bound
        self._result(ok, None if ok else f"restart took longer than {self.bound:g}s", restart)
        self._signal(signal.SIGKILL)  # between tests no canary runs

    def _replacement_stopped(self) -> None:
        pass

    def _not_noticed(self) -> None:
        self._result(False, f"death not noticed within {NOTICE_LIMIT:g}s", None)
        self._end_process(kill=True)

    def _result(self, ok: bool, reason: Optional[str], restart: Optional[float]) -> None:
        self.results.append((ok, self._detection, restart))
        if self.record is not None:
            self.record(ok, restart)
        fields = {"detection": _ms(self._detection), "restart": _ms(restart), "bound": f"{self.bound:g}s"}
        if ok:
            self.engine.emit("canary_passed", **fields)
        else:
            self.engine.emit("canary_failed", reason=reason, **fields)

    # -- the process ---------------------------------------------------------------------
    def _run(self, on_end: Callable[[], None]) -> None:
        """Start a canary with the watches' spawner; call `on_end` on the loop once it ended."""
        engine = self.engine
        spawned = engine.reaper.launch(OWNER, lambda: engine.spawner.spawn(NAME, START, {}), lambda s: s.pid)
        self._pid, self._on_end = spawned.pid, on_end
        if engine.watcher.kind == "pidfd":
            self._fd = os.pidfd_open(spawned.pid)
            engine.loop.add_reader(self._fd, self._ended)
        else:
            self._poll()

    def _poll(self) -> None:
        """The poll detector's way: look every poll interval."""
        if self._pid is None:
            return
        if self._status() is not None:
            self._ended()
            return
        self.engine.loop.call_later(self.engine.settings.poll_interval, self._poll)

    def _status(self) -> Optional[Any]:
        assert self._pid is not None
        try:
            got, status = os.waitpid(self._pid, os.WNOHANG)
        except ChildProcessError:  # the engine's reaper was first: it kept the status for us
            return self.engine.reaper.take(self._pid)
        return status if got == self._pid else None

    def _ended(self) -> None:
        if self._pid is None:
            return
        if self._fd is not None:
            try:
                os.waitpid(self._pid, 0)  # the pidfd wakes a hair before the zombie is there
            except ChildProcessError:
                self.engine.reaper.take(self._pid)
        on_end = self._on_end
        self._end_process(kill=False)
        on_end()

    def _signal(self, sig: int) -> None:
        try:
            if self._fd is not None:
                signal.pidfd_send_signal(self._fd, sig)
            elif self._pid is not None:
                os.kill(self._pid, sig)  # our child, unreaped until we say so: never a reused PID
        except ProcessLookupError:
            pass  # it ended already

    def _end_process(self, kill: bool) -> None:
        pid, fd = self._pid, self._fd
        self._pid = self._fd = None
        if kill:
            self._pid, self._fd = pid, fd
            self._signal(signal.SIGKILL)
            self._pid = self._fd = None
        if fd is not None:
            self.engine.loop.remove_reader(fd)
            os.close(fd)
        if pid is not None:
            if kill:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass
            self.engine.reaper.release(pid)
