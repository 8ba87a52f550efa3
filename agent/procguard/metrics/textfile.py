"""Metrics for node_exporter's textfile collector, written atomically from a thread.

node_exporter reads every `*.prom` file in its textfile directory at each scrape, so a
half-written file would be a scrape error: we write `.NAME.tmp` in the same directory
(ignored by the collector, same filesystem), fsync it, set mode 0644 (node_exporter runs
as its own user) and rename it over the old file.

One file per scope, so that an idle agent costs next to nothing: `procguard_agent.prom`
(the agent's own gauges, a few KiB, its heartbeat included) is rewritten every `interval`;
`procguard_watches.prom` and `procguard_probes.prom` (about 3 and 1.5 KiB a watch) only
when one of their values changed, so periodic probe results do not rewrite the watches.
The writes run in the writer's own thread: a slow disk delays the files, never the loop.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Dict, Optional

from .. import heap
from ..fileio import write_atomically
from . import exposition
from .families import AGENT, PROBE, WATCH
from .registry import Registry

FILES = {AGENT: "procguard_agent.prom", WATCH: "procguard_watches.prom", PROBE: "procguard_probes.prom"}
FILE_MODE = 0o644


class TextfileWriter:
    """Keeps the files in `directory` up to date while the agent runs.

    `on_error(reason)` is called from the writer's thread when writing starts to fail (with
    a one-line reason) and again with None once it works again, so the agent can log each
    change once; it must be thread-safe (for example `Engine.post`).
    """

    def __init__(self, registry: Registry, directory: str, interval: float = 15.0, min_gap: float = 1.0,
                 on_error: Optional[Callable[[Optional[str]], None]] = None) -> None:
        self.registry = registry
        self.directory = directory
        self.interval = interval
        self.min_gap = min_gap  # kicks during a restart storm write at most this often
        self.on_error = on_error
        self.paths = {scope: os.path.join(directory, name) for scope, name in FILES.items()}
        self.failing: Optional[str] = None
        self.writes = 0
        self._written: Dict[str, int] = {}  # scope -> generation on disk
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="procguard-metrics-textfile", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Write soon (for example after a death), without waiting for the interval."""
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def write_now(self) -> bool:
        """Write what changed; True when a watch or probe file was rewritten. Raises OSError
        (the thread reports it through on_error)."""
        big = False
        for scope, path in self.paths.items():
            (generation,) = self.registry.generation(scope)  # before the copy: never newer than it
            if scope == AGENT or generation != self._written.get(scope) or not os.path.exists(path):
                snap = self.registry.snapshot((scope,))
                write_atomically(path, exposition.chunks(exposition.lines(snap)), FILE_MODE)
                self._written[scope] = generation
                self.writes += 1
                big = big or scope != AGENT
        return big

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self.write_now():
                    heap.trim()  # rendering a big file leaves freed chunks in this thread's arena
                self._report(None)
            except OSError as exc:
                self._report(f"{exc.filename or self.directory}: {exc.strerror or exc}")
            if self._stop.wait(self.min_gap):
                return
            self._wake.wait(max(0.0, self.interval - (time.monotonic() - started)))
            self._wake.clear()

    def _report(self, reason: Optional[str]) -> None:
        if reason != self.failing:
            self.failing = reason
            if self.on_error is not None:
                self.on_error(reason)
