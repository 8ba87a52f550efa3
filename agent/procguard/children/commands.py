"""Commands run by probes and escalation actions: own process group, hard timeout, reaped.

The agent is a child subreaper and the engine reaps with `waitpid(-1)` on SIGCHLD, so a
command's exit status can be taken by either side. The rule that keeps both honest:

* `run_command` starts the command through `Reaper.launch`, which owns its PID before the
  command can exit; the engine never adopts an owned PID, never reports it as an orphan,
  and leaves its status in the reaper's table.
* Once the command ended (its pidfd is readable) we reap it with `waitpid(pid)`; if the
  engine was first, `Reaper.wait(pid)` hands us the status it kept.

No command outlives its timeout: the whole process group gets SIGKILL, and the group is
killed again after a normal exit so that a backgrounded grandchild cannot linger.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from .reaper import COMMAND, REAPER, Reaper
from .status import describe_status


@dataclass
class CommandResult:
    """How one bounded command ended, for the probe or action that ran it."""

    ok: bool
    status: str           # exit:N, signal:NAME, timeout, error
    output: str           # first bytes of stdout+stderr
    duration: float
    pid: Optional[int] = None


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(
    argv: Sequence[str],
    timeout: float,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    max_output: int = 4096,
    reaper: Reaper = REAPER,
) -> CommandResult:
    """Run argv in a new session; SIGKILL the whole group at `timeout`; always reap."""
    started = time.monotonic()
    try:
        proc = reaper.launch(COMMAND, lambda: subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=dict(env) if env is not None else None, cwd=cwd,
            start_new_session=True, close_fds=True,
        ), lambda p: p.pid)
    except OSError as exc:
        return CommandResult(False, "error", f"cannot run {argv[0]}: {exc.strerror or exc}",
                             time.monotonic() - started)
    pid = proc.pid
    out = bytearray()
    timed_out = False
    pidfd = -1
    try:
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = -1                          # old kernel, or already reaped by the engine
        pipe = proc.stdout
        assert pipe is not None
        os.set_blocking(pipe.fileno(), False)
        poller = select.poll()
        poller.register(pipe.fileno(), select.POLLIN)
        if pidfd >= 0:
            poller.register(pidfd, select.POLLIN)
        pipe_open = True
        deadline = started + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            wait_ms = int(min(left, 0.05 if pidfd < 0 else left) * 1000) + 1
            events = dict(poller.poll(wait_ms))
            if pipe_open and pipe.fileno() in events:
                try:
                    chunk: Optional[bytes] = os.read(pipe.fileno(), 65536)
                except BlockingIOError:
                    chunk = None
                if chunk:
                    if len(out) < max_output:
                        out += chunk[: max_output - len(out)]
                elif chunk == b"":                    # EOF: every writer closed the pipe
                    poller.unregister(pipe.fileno())
                    pipe_open = False
            if pidfd >= 0 and pidfd in events:
                break
            if pidfd < 0 and _exited_or_reaped(pid):
                break
        # Kill the group in both cases: on timeout that is the point, after an exit it
        # removes grandchildren left in the background. The leader is still a zombie here
        # (unless the engine reaped it already), so the group id cannot have been reused.
        _killpg(pid)
        status = _reap(pid, reaper)
    finally:
        if pidfd >= 0:
            os.close(pidfd)
        reaper.release(pid)
        proc.returncode = -9 if timed_out else 0     # Popen must never waitpid() later
        if proc.stdout is not None:
            proc.stdout.close()
    text = out.decode("utf-8", "replace").strip()
    duration = time.monotonic() - started
    if timed_out:
        return CommandResult(False, "timeout", text, duration, pid)
    described = describe_status(status)
    return CommandResult(described == "exit:0", described, text, duration, pid)


def _exited_or_reaped(pid: int) -> bool:
    """Without a pidfd: has the child ended (or been reaped by the engine already)?"""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True                                   # the engine reaped it


def _reap(pid: int, reaper: Reaper) -> Optional[int]:
    try:
        got, status = os.waitpid(pid, 0)               # it has ended: this does not block
        if got == pid:
            return status
    except ChildProcessError:
        pass
    return reaper.wait(pid, 2.0)                      # the engine reaped it first
