"""The event loop's machinery: epoll, readers, timers, a thread-safe post queue, queued signals.

Only the loop thread changes state. Signal handlers and worker threads never do work
themselves: they append to a queue and wake the loop through a pipe. File descriptors are
either readers (a callback registered with `add_reader`, e.g. the control socket) or
returned by `wait()` to the engine (the pidfds of watched processes).
"""

from __future__ import annotations

import collections
import heapq
import itertools
import os
import select
import signal
import threading
import time
from typing import Callable, Deque, Dict, List, Tuple

Callback = Callable[[], None]


def _raise(exc: Exception) -> None:
    raise exc


class TimerHandle:
    __slots__ = ("cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callback) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Loop:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.epoll = select.epoll()
        self._timers: List[Tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._posted: Deque[Callback] = collections.deque()
        self._post_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.epoll.register(self._wake_r, select.EPOLLIN)
        self.signals: Deque[int] = collections.deque()
        self._handlers: Dict[int, Callback] = {}
        self._readers: Dict[int, Callback] = {}
        # Every callback runs guarded: an exception goes to on_error (the engine logs it and
        # carries on) instead of ending the loop and leaving every watch unwatched.
        self.on_error: Callable[[Exception], None] = _raise
        # For the latency metrics: when the fds of this turn can have become ready at the
        # earliest (see wait()), and the worst lateness of a due timer since it was last read.
        self.woke_at = clock()
        self.ready_since = self.woke_at
        self.max_lag = 0.0

    # ------------------------------------------------------------- readers
    def add_reader(self, fd: int, fn: Callback) -> None:
        """Call `fn` on the loop thread whenever `fd` is readable."""
        self.epoll.register(fd, select.EPOLLIN)
        self._readers[fd] = fn

    def has_reader(self, fd: int) -> bool:
        return fd in self._readers

    def remove_reader(self, fd: int) -> None:
        if self._readers.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except (OSError, ValueError):
                pass  # closed already: the kernel dropped it from the epoll set

    # ------------------------------------------------------------- timers
    def call_later(self, delay: float, fn: Callback) -> TimerHandle:
        handle = TimerHandle(self.clock() + max(0.0, delay), fn)
        heapq.heappush(self._timers, (handle.when, next(self._seq), handle))
        return handle

    def next_timeout(self, cap: float) -> float:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return cap
        return max(0.0, min(cap, self._timers[0][0] - self.clock()))

    def run_due_timers(self) -> None:
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled:
                self.max_lag = max(self.max_lag, now - handle.when)
                handle.cancelled = True
                self._call(handle.fn)

    # ------------------------------------------------------------- posting
    def post(self, fn: Callback) -> None:
        """Run `fn` on the loop thread soon. Safe from any thread."""
        with self._post_lock:
            self._posted.append(fn)
        try:
            os.write(self._wake_w, b"p")
        except BlockingIOError:
            pass  # the pipe is full, so the loop is awake anyway

    def run_posted(self) -> None:
        while True:
            with self._post_lock:
                if not self._posted:
                    return
                fn = self._posted.popleft()
            self._call(fn)

    # ------------------------------------------------------------- signals
    def on_signal(self, signum: int, fn: Callback) -> None:
        self._handlers[signum] = fn
        signal.signal(signum, self._enqueue_signal)

    def _enqueue_signal(self, signum: int, _frame: object) -> None:
        self.signals.append(signum)  # nothing else here: the loop does the work
        try:
            os.write(self._wake_w, b"s")
        except BlockingIOError:
            pass

    def run_signals(self) -> None:
        while self.signals:
            signum = self.signals.popleft()
            handler = self._handlers.get(signum)
            if handler is not None:
                self._call(handler)

    # ------------------------------------------------------------- one turn
    def wait(self, cap: float) -> List[Tuple[int, int]]:
        """Block until an fd is ready, a timer is due, or something was posted. Readers are
        called here; the other ready fds are returned."""
        timeout = self.next_timeout(cap)
        previous = self.woke_at
        slept = False
        try:
            # First without sleeping: what is ready already became ready while the previous
            # turn ran, after it woke. Otherwise the kernel wakes us the moment it happens.
            events = self.epoll.poll(0)
            if not events and timeout > 0:
                slept = True
                events = self.epoll.poll(timeout)
        except InterruptedError:
            events = []
        self.woke_at = self.clock()
        self.ready_since = self.woke_at if slept else previous
        out = []
        ready_readers = []
        for fd, mask in events:
            if fd == self._wake_r:
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            elif fd in self._readers:
                ready_readers.append(fd)
            else:
                out.append((fd, mask))
        for fd in ready_readers:
            reader = self._readers.get(fd)
            if reader is not None:
                self._call(reader)
        return out

    def _call(self, fn: Callback) -> None:
        try:
            fn()
        except Exception as exc:  # reported by on_error, never the end of the loop
            self.on_error(exc)

    def close(self) -> None:
        for signum in self._handlers:
            signal.signal(signum, signal.SIG_DFL)
        self.epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


def set_child_subreaper() -> bool:
    """Make orphans of our services our children, so we reap them and see their status."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False

