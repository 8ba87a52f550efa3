"""Size-rotated output files, written by the agent from a FIFO per watch.

The service writes to STATE_DIR/output/NAME.fifo, which it holds open for reading *and*
writing: a FIFO with a reader never raises SIGPIPE, so a service outlives an agent restart
(its writes wait in the pipe until the next agent drains them). The agent reads the FIFO
in its loop and writes NAME.log, rotating it at `max_size` into NAME.log.1 ... NAME.log.KEEP,
so at most max_size x (keep + 1) bytes are ever on disk.

logrotate may rotate NAME.log too, by renaming it (its default mode; the agent role's rules
move it into another folder, so the two numberings never meet). Once per drain the agent
checks that NAME.log still names the file it holds and reopens the path when it does not:
what was written before stays whole in the renamed file, and no signal is needed.
"""

from __future__ import annotations

import fcntl
import os
import stat

F_SETPIPE_SZ = 1031
PIPE_SIZE = 1 << 20
READ_CHUNK = 1 << 16
MAX_PENDING = 1 << 16    # a line longer than this is written in pieces
MAX_PER_WAKE = 1 << 22   # drain at most this much per wake-up, so one chatty service cannot stall the loop


class RotatingFile:
    __slots__ = ("fd", "identity", "keep", "max_size", "path", "pending", "size")  # one per watch: no __dict__

    def __init__(self, path: str, max_size: int, keep: int) -> None:
        self.path = path
        self.max_size = max(1, max_size)
        self.keep = keep
        self.fd = -1
        self.size = 0
        self.identity = (0, 0)  # st_dev, st_ino of the file held open
        self.pending = b""   # the start of a line whose end has not come yet
        self._open()

    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        held = os.fstat(fd)
        self.fd, self.size, self.identity = fd, held.st_size, (held.st_dev, held.st_ino)

    def moved(self) -> bool:
        """Whether the path no longer names the file held open (renamed away or removed)."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (now.st_dev, now.st_ino) != self.identity

    def follow(self) -> None:
        """Reopen the path when something else (logrotate) rotated the held file away; the
        lines already written stay in the renamed file. Should the reopen fail, writing goes
        on where it was and the next drain tries again."""
        if self.fd < 0 or not self.moved():
            return
        held = self.fd
        try:
            self._open()
        except OSError:
            return
        os.close(held)

    def write(self, data: bytes) -> None:
        """Append whole lines; the start of an unfinished one waits for its end (or for
        flush()), so that no line is ever split by a rotation."""
        data = self.pending + data
        cut = data.rfind(b"\n")
        self.pending = data[cut + 1:]
        if len(self.pending) >= MAX_PENDING:
            self.pending, cut = b"", len(data) - 1
        if cut >= 0:
            self._lines(data[:cut + 1])

    def flush(self) -> None:
        """Write the unfinished line as it is (a prompt, a progress bar, the agent stopping)."""
        if self.pending:
            self.follow()
            data, self.pending = self.pending, b""
            self._lines(data)

    def _lines(self, data: bytes) -> None:
        """Append, rotating first whenever the next piece would pass max_size: at the last
        line end that fits, or mid-line only for a line longer than a whole file."""
        while data:
            room = self.max_size - self.size
            if len(data) <= room:
                self._append(data)
                return
            cut = data.rfind(b"\n", 0, room)
            if cut >= 0:
                self._append(data[:cut + 1])
                data = data[cut + 1:]
            elif self.size == 0:
                self._append(data[:room])
                data = data[room:]
            self.rotate()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            self.size += written
            view = view[written:]

    def rotate(self) -> None:
        """Shift NAME.log.N up and start a new NAME.log; when logrotate took NAME.log away
        first (before or during this), there is nothing of ours to shift: just reopen."""
        os.close(self.fd)
        self.fd = -1
        if not self.moved():
            try:
                self._shift()
            except FileNotFoundError:
                pass  # renamed away by logrotate between the check and the rename
        self._open()

    def _shift(self) -> None:
        if self.keep == 0:
            os.unlink(self.path)
            return
        for index in range(self.keep - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        os.replace(self.path, f"{self.path}.1")

    def close(self) -> None:
        if self.fd >= 0:
            self.flush()
            os.close(self.fd)
            self.fd = -1


class FifoOutput:
    """One watch's FIFO and rotating file; `drain()` runs on the loop thread."""

    __slots__ = ("fifo", "file", "flush_armed", "hold_fd", "read_fd")

    def __init__(self, fifo: str, log: str, max_size: int, keep: int) -> None:
        self.fifo = fifo
        make_fifo(fifo)
        self.read_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        # our own writer: without one, the FIFO reads as end-of-file (and wakes epoll)
        # whenever no service holds it open
        self.hold_fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self.read_fd, F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: the default 64 KiB will do
        self.file = RotatingFile(log, max_size, keep)
        self.flush_armed = False

    def for_service(self) -> int:
        """An fd for the service's stdout and stderr (read-write: see the module docstring)."""
        return os.open(self.fifo, os.O_RDWR | os.O_CLOEXEC)

    def drain(self) -> None:
        self.drained()

    def drained(self) -> int:
        """Read what is waiting (bounded per call) into the file; how many bytes."""
        total = 0
        self.file.follow()  # once per drain: one stat of NAME.log
        while total < MAX_PER_WAKE:
            try:
                chunk = os.read(self.read_fd, READ_CHUNK)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.file.write(chunk)
            total += len(chunk)
        return total

    def resize(self, max_size: int, keep: int) -> None:
        self.file.max_size, self.file.keep = max(1, max_size), keep

    def close(self) -> None:
        self.drained()
        for fd in (self.read_fd, self.hold_fd):
            os.close(fd)
        self.file.close()


def make_fifo(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        os.mkfifo(path, 0o600)
        return
    if not stat.S_ISFIFO(mode):
        os.unlink(path)
        os.mkfifo(path, 0o600)


