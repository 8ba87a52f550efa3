"""Metrics as a Companion of the engine (observer.py): the tick and the two ways out.

* The tick, a timer on the loop every `metrics.interval`: the heartbeat (so a hung loop
  shows as a stale heartbeat, not as a quiet agent), the agent's RSS, descriptors and loop
  lag, and the escalation actions in force.
* The textfile writer and the optional loopback /metrics server, each in its own thread.
  The server module is imported only when `metrics.listen` is set.

Failures are logged once per change (PG7002, PG7003, PG7004); the agent runs on without them.
"""

from __future__ import annotations

from typing import Any, Optional

from .. import __version__
from ..engine import Engine
from ..loop import TimerHandle
from . import selfstats
from .adapter import MetricsAdapter
from .recorder import Recorder
from .textfile import TextfileWriter


class MetricsOutputs:
    def __init__(self, engine: Engine, adapter: MetricsAdapter, recorder: Recorder) -> None:
        settings = engine.settings
        self.engine = engine
        self.adapter = adapter
        self.rec = recorder
        self.interval = settings.metrics_interval
        self.directory = settings.textfile_dir
        self.listen = settings.metrics_listen
        self.writer: Optional[TextfileWriter] = None
        self.server: Optional[Any] = None
        self._timer: Optional[TimerHandle] = None

    def start(self) -> None:
        engine = self.engine
        self.rec.agent_started(__version__, engine.watcher.kind, engine.started)
        self.tick()
        if self.directory:
            self.writer = TextfileWriter(self.rec.registry, self.directory, self.interval,
                                         on_error=lambda reason: engine.loop.post(lambda: self._textfile(reason)))
            self.adapter.changed = self.writer.kick
            self.writer.start()
        if self.listen:
            from .server import MetricsServer  # only when asked for: the thread and its selector

            server = MetricsServer(self.rec.registry, self.listen)
            try:
                server.start()
            except OSError as exc:
                server.close()
                engine.emit("metrics_listen_failed", address=self.listen, reason=exc.strerror or str(exc))
            else:
                self.server = server
                engine.emit("metrics_listening", address=f"{self.listen.rpartition(':')[0]}:{server.port}")

    def tick(self) -> None:
        loop = self.engine.loop
        self.rec.heartbeat()
        rss, fds = selfstats.sample()
        self.rec.agent_resources(rss, fds, loop.max_lag)
        loop.max_lag = 0.0
        self.adapter.refresh_escalations()
        self._timer = loop.call_later(self.interval, self.tick)

    def _textfile(self, reason: Optional[str]) -> None:
        if reason is not None:
            self.engine.emit("metrics_textfile_failed", dir=self.directory, reason=reason)
        else:
            self.engine.emit("metrics_textfile_recovered", dir=self.directory)

    def reloaded(self) -> None:
        pass

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()
