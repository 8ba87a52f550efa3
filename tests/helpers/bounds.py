"""Measure what one call or one command cost: time (against a generous deadline, never an
exact figure) and memory (tracemalloc's peak in-process, the peak RSS of a command and the
children it waited for)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

MiB = 1024 * 1024


@dataclass
class Measured:
    value: Any
    seconds: float
    peak: int  # bytes allocated at the peak, by Python, during the call


def measured(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Measured:
    """Call fn, timing it and tracing the peak of what Python allocated meanwhile."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        value = fn(*args, **kwargs)
        return Measured(value, time.monotonic() - started, tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


@dataclass
class Ran:
    code: int
    out: str
    err: str
    seconds: float
    max_rss: int  # bytes: the largest RSS of the command or any child it waited for
    timed_out: bool


def run_measured(argv: List[str], env: Optional[dict] = None, stdin: bytes = b"", timeout: float = 60.0) -> Ran:
    """Run a command to its end and collect its rusage with wait4 (subprocess would discard it).
    Past `timeout` it is killed, and the result says so."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outs: List[bytes] = [b"", b""]

    def drain(index: int, stream: Any) -> None:
        outs[index] = stream.read()

    readers = [threading.Thread(target=drain, args=(i, s)) for i, s in enumerate((proc.stdout, proc.stderr))]
    for reader in readers:
        reader.start()
    assert proc.stdin is not None
    try:
        proc.stdin.write(stdin)
    except BrokenPipeError:
        pass
    proc.stdin.close()
    timed_out = False

    def kill() -> None:
        nonlocal timed_out
        timed_out = True
        proc.kill()

    started = time.monotonic()
    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    for reader in readers:
        reader.join(10)
    return Ran(proc.returncode, outs[0].decode("utf-8", "replace"), outs[1].decode("utf-8", "replace"),
               seconds, usage.ru_maxrss * 1024, timed_out)


def rss_of(pid: int) -> Optional[int]:
    """Resident set size in bytes (VmRSS of /proc/PID/status), None when gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def fds_of(pid: int) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None

