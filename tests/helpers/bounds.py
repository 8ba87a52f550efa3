"""Measure what one call or one command cost: time (against a generous deadline, never an
exact figure; CPU time in-process, so a busy machine does not count) and memory
(tracemalloc's peak in-process, the peak RSS of a command and the children it waited for)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

MiB = 1024 * 1024


@dataclass
class Measured:
    value: Any
    seconds: float  # CPU seconds of this process: what the call cost, however busy the machine
    peak: int  # bytes allocated at the peak, by Python, during the call


def measured(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Measured:
    """Call fn, timing it and tracing the peak of what Python allocated meanwhile."""
    tracemalloc.start()
    started = time.process_time()
    try:
        value = fn(*args, **kwargs)
        return Measured(value, time.process_time() - started, tracemalloc.get_traced_memory()[1])
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


# The command's peak RSS comes from wait4 in a small Python started with -S: a child forked
# straight from pytest would carry pytest's own RSS into its peak (the peak survives exec).
_WAITER = ("import os, sys; pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ); "
           "_, status, usage = os.wait4(pid, 0); "
           "open(sys.argv[1], 'w').write(str(usage.ru_maxrss)); sys.exit(os.waitstatus_to_exitcode(status))")


def run_measured(argv: List[str], env: Optional[dict] = None, stdin: bytes = b"", timeout: float = 60.0) -> Ran:
    """Run a command (argv[0] an absolute path) to its end with its peak RSS. Past `timeout`
    it is killed, and the result says so."""
    with tempfile.NamedTemporaryFile("r", prefix="rusage-") as peak:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-S", "-c", _WAITER, peak.name, *argv], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        timed_out = False
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        seconds = time.monotonic() - started
        kib = peak.read().strip()
    return Ran(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), seconds,
               int(kib or 0) * 1024, timed_out)


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

