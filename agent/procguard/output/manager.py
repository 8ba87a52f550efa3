"""The output of every watch: resolved once per config (journal, file or none), opened for
each process the engine starts, drained on the loop thread for file outputs."""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..config.model import Watch
from ..loop import Loop
from .journal import STDERR_PRIORITY, STDOUT_PRIORITY, STREAM_SOCKET, journal_running, open_stream
from .rotating import FifoOutput

Emit = Callable[..., None]
FLUSH_AFTER = 1.0  # seconds an unfinished line may wait for its end
Opened = Tuple[Optional[int], Optional[int], List[int]]   # stdout, stderr, fds to close after the spawn


class Outputs:
    def __init__(self, log_dir: str, state_dir: str, loop: Loop, emit: Emit,
                 journal_socket: str = STREAM_SOCKET) -> None:
        self.log_dir = log_dir
        self.fifo_dir = os.path.join(state_dir, "output")
        self.loop = loop
        self.emit = emit
        self.journal_socket = journal_socket
        self._targets: Dict[str, str] = {}
        self._files: Dict[str, FifoOutput] = {}
        self._specs: Dict[str, Watch] = {}

    def resolve(self, to: str) -> str:
        if to == "auto":
            return "journal" if journal_running(self.journal_socket) else "file"
        return to

    def configure(self, watches: Sequence[Watch]) -> None:
        self._specs = {w.name: w for w in watches if w.start is not None and not w.systemd_unit}
        self._targets = {name: self.resolve(w.output.to) for name, w in self._specs.items()}
        for name in [n for n in self._files if self._targets.get(n) != "file"]:
            self._close(name)
        for name, target in self._targets.items():
            if target == "file":
                self._file(name)

    def _file(self, name: str) -> FifoOutput:
        spec = self._specs[name].output
        out = self._files.get(name)
        if out is not None:
            out.resize(spec.max_size, spec.keep)
            return out
        os.makedirs(self.log_dir, mode=0o750, exist_ok=True)
        os.makedirs(self.fifo_dir, mode=0o700, exist_ok=True)
        out = FifoOutput(os.path.join(self.fifo_dir, f"{name}.fifo"), os.path.join(self.log_dir, f"{name}.log"),
                         spec.max_size, spec.keep)
        self._files[name] = out
        self.loop.add_reader(out.read_fd, functools.partial(self._drain, out))
        return out

    def _drain(self, out: FifoOutput) -> None:
        out.drain()
        if out.file.pending and not out.flush_armed:
            out.flush_armed = True  # an unfinished line is written as it is within a second
            self.loop.call_later(FLUSH_AFTER, functools.partial(self._flush, out))

    def _flush(self, out: FifoOutput) -> None:
        out.flush_armed = False
        if out.file.fd >= 0:
            out.file.flush()

    def open_for(self, name: str) -> Opened:
        """The service's stdout and stderr: journal streams, the FIFO, or nothing."""
        target = self._targets.get(name, "none")
        if target == "journal":
            try:
                out = open_stream(name, STDOUT_PRIORITY, self.journal_socket)
            except OSError as exc:
                self.emit("output_fallback", watch=name, reason=f"journal: {exc.strerror or exc}")
                self._targets[name] = "file"
                return self.open_for(name)
            try:
                err = open_stream(name, STDERR_PRIORITY, self.journal_socket)
            except OSError:
                err = out
            return out, err, sorted({out, err})
        if target == "file":
            fd = self._file(name).for_service()
            return fd, fd, [fd]
        return None, None, []

    def status(self, name: str) -> Dict[str, Any]:
        target = self._targets.get(name)
        if target is None:
            return {}
        out: Dict[str, Any] = {"to": target}
        if target == "file":
            f = self._files[name].file
            out.update(file=f.path, max_size=f.max_size, keep=f.keep)
        return {"output": out}

    def _close(self, name: str) -> None:
        out = self._files.pop(name)
        self.loop.remove_reader(out.read_fd)
        out.close()

    def close(self) -> None:
        for name in list(self._files):
            self._close(name)
