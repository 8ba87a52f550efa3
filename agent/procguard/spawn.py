"""Start a watched process so that it outlives the agent.

Each process gets its own session (setsid), so a terminal hang-up or the agent's own stop
or restart never reaches it, and its output goes to a per-watch log file rather than to
the agent's stdout, which dies with the agent.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Dict, Optional, Protocol, Sequence

from .config.model import SERVICE_PATH, Start


class SpawnError(Exception):
    """The start command could not run: the message says why, for the start_failed event."""


@dataclass(frozen=True)
class Spawned:
    pid: int
    argv: Sequence[str]


class Spawner(Protocol):
    def spawn(self, watch: str, start: Start, extra_env: Dict[str, str]) -> Spawned: ...


BASE_ENV = {"PATH": SERVICE_PATH, "LANG": "C.UTF-8"}


class ProcessSpawner:
    """The real spawner: fork and exec through subprocess (vfork where it can)."""

    def __init__(self, log_dir: Optional[str]) -> None:
        self.log_dir = log_dir

    def spawn(self, watch: str, start: Start, extra_env: Dict[str, str]) -> Spawned:
        env = dict(BASE_ENV)
        env.update(dict(start.env))
        env.update(extra_env)
        env["PROCGUARD_WATCH"] = watch
        argv = ["/bin/sh", "-c", start.argv[0]] if start.shell else list(start.argv)
        output = self._output(watch)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else subprocess.DEVNULL,
                cwd=start.cwd,
                env=env,
                start_new_session=True,
                user=start.user,
                group=start.group,
                umask=start.umask if start.umask is not None else -1,
                close_fds=True,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise SpawnError(_reason(exc, argv[0])) from None
        finally:
            if output is not None:
                os.close(output)
        # The Reaper owns the exit status. Marking the Popen as finished keeps subprocess's
        # own clean-up from ever calling waitpid on a PID that may later be reused.
        proc.returncode = 0
        return Spawned(pid=proc.pid, argv=tuple(argv))

    def _output(self, watch: str) -> Optional[int]:
        if not self.log_dir:
            return None
        os.makedirs(self.log_dir, mode=0o750, exist_ok=True)
        return os.open(os.path.join(self.log_dir, f"{watch}.log"),
                       os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)


def _reason(exc: BaseException, program: str) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{program}: no such file or directory"
    if isinstance(exc, PermissionError):
        return f"{program}: permission denied"
    if isinstance(exc, KeyError):
        return f"unknown user or group: {exc}"
    return f"{program}: {exc}"
