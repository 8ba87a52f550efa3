"""Start a watched process so that it outlives the agent.

Each process gets its own session (setsid), so a terminal hang-up or the agent's own stop
or restart never reaches it. It gets the environment systemd would give it (HOME, USER,
LOGNAME and SHELL for `start.user`, the user's groups), umask 022 unless the watch says
otherwise (never the agent's own UMask by accident), and its output where the watch's
`output:` sends it.

When something must happen before the program runs (joining the watch's cgroup, setting
rlimits), the process starts as a tiny /bin/sh gate that waits on a socket: the agent moves
it and sets its limits from outside, then lets it exec the program. A Python preexec_fn
would do the same inside the child, but costs a full fork of the agent (no vfork) and is
unsafe with the agent's worker threads.
"""

from __future__ import annotations

import os
import pwd
import resource
import select
import signal
import socket
import subprocess
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

from .activation_fds import PassError, activation_run
from .config.model import PER_WATCH, SERVICE_PATH, Start
from .fileio import which


class SpawnError(Exception):
    """The start command could not run: the message says why, for the start_failed event."""


@dataclass(**PER_WATCH)
class Spawned:
    """A process the agent started, possibly still held at its gate."""

    pid: int
    argv: Sequence[str]
    gate: int = -1  # a start held at its gate (Launch.hold): open_gate() lets it run


@dataclass(frozen=True)
class Launch:
    """What must happen to a process between fork and exec, and where its output goes."""

    place: Optional[Callable[[int], None]] = None          # join the watch's cgroup(s)
    rlimits: Tuple[Tuple[int, Tuple[int, int]], ...] = ()  # (RLIMIT_*, (soft, hard))
    stdout: Optional[int] = None                           # None: /dev/null
    stderr: Optional[int] = None
    hold: bool = False                                     # prepare it, but leave the gate shut
    listen: Tuple[int, ...] = ()                           # sockets for fds 3.. (socket activation)
    listen_names: Tuple[str, ...] = ()

    @property
    def gated(self) -> bool:
        return self.place is not None or bool(self.rlimits)


class Spawner(Protocol):
    def spawn(self, watch: str, start: Start, extra_env: Dict[str, str],
              launch: Optional[Launch] = None) -> Spawned: ...


BASE_ENV = {"PATH": SERVICE_PATH, "LANG": "C.UTF-8"}
# The gate reads one line from its stdin (the socket), then gives the program /dev/null as
# stdin, as any service gets. `read` fails at end of file: if the agent closes the gate
# without opening it, the program never runs unplaced.
# Its stdin is one end of a socket pair: having read its line it answers on it, so the agent
# can wait (asleep, its CPU free for the gate) until the gate runs.
GATE = 'IFS= read -r _ || exit 126; echo >&0; exec </dev/null; exec "$0" "$@"'
GATE_WAIT = 0.05  # seconds the agent waits at most for a gate it opened to run


def service_env(watch: str, start: Start, extra_env: Dict[str, str]) -> Dict[str, str]:
    env = dict(BASE_ENV)
    if start.user is not None:
        env.update(user_env(start.user))
    env.update(dict(start.env))
    env.update(extra_env)
    env["PROCGUARD_WATCH"] = watch
    return env


def user_env(name: str) -> Dict[str, str]:
    """What systemd sets for a service with User=: HOME, USER, LOGNAME, SHELL."""
    try:
        entry = pwd.getpwnam(name)
    except (KeyError, ValueError):
        return {}
    return {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name, "SHELL": entry.pw_shell or "/bin/sh"}


Identity = Tuple[Optional[int], Union[int, str, None], Optional[List[int]]]


def identity_args(user: Optional[str], group: Optional[str]) -> Identity:
    """Popen's (user, group, extra_groups): a user's primary group and supplementary groups
    come with it (without them, a service started by root would keep root's groups)."""
    if user is None:
        return None, group, None
    entry = pwd.getpwnam(user)  # KeyError: unknown user, reported as such
    gid: Union[int, str] = entry.pw_gid if group is None else group
    numeric = gid if isinstance(gid, int) else _gid_of(gid)
    return entry.pw_uid, gid, os.getgrouplist(entry.pw_name, numeric)


def _gid_of(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


class ProcessSpawner:
    """The real spawner: fork and exec through subprocess (vfork where it can)."""

    def __init__(self, log_dir: Optional[str] = None) -> None:
        self.log_dir = log_dir  # kept for callers that pass it; output comes with the Launch

    def spawn(self, watch: str, start: Start, extra_env: Dict[str, str],
              launch: Optional[Launch] = None) -> Spawned:
        launch = launch or Launch()
        env = service_env(watch, start, extra_env)
        argv = ["/bin/sh", "-c", start.argv[0]] if start.shell else list(start.argv)
        try:
            uid, gid, groups = identity_args(start.user, start.group)
        except (KeyError, ValueError) as exc:
            raise SpawnError(_reason(KeyError(str(exc)), argv[0])) from None
        gate_r = gate_w = -1
        run = argv
        if launch.gated:
            _check_program(argv[0], env.get("PATH", SERVICE_PATH))
            ends = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            gate_r, gate_w = ends[0].detach(), ends[1].detach()
            run = ["/bin/sh", "-c", GATE, *argv]
        passed: Tuple[int, ...] = ()
        if launch.listen:
            try:
                run, passed = activation_run(run, launch.listen, launch.listen_names, env, GATE)
            except PassError as exc:
                _close(gate_r, gate_w)
                raise SpawnError(str(exc)) from None
        try:
            proc = subprocess.Popen(
                run,
                stdin=gate_r if launch.gated else subprocess.DEVNULL,
                stdout=launch.stdout if launch.stdout is not None else subprocess.DEVNULL,
                stderr=launch.stderr if launch.stderr is not None else subprocess.DEVNULL,
                cwd=start.cwd,
                env=env,
                start_new_session=True,
                umask=start.umask if start.umask is not None else -1,
                close_fds=True,
                user=uid,
                group=gid,
                extra_groups=groups,
                pass_fds=passed,
            )
        except (OSError, ValueError, KeyError) as exc:
            _close(gate_r, gate_w)
            raise SpawnError(_reason(exc, argv[0])) from None
        finally:
            _close(*passed)
        # The Reaper owns the exit status. Marking the Popen as finished keeps subprocess's
        # own clean-up from ever calling waitpid on a PID that may later be reused.
        proc.returncode = 0
        if not launch.gated:
            return Spawned(pid=proc.pid, argv=tuple(argv))
        os.close(gate_r)
        _prepare(proc.pid, gate_w, launch)
        spawned = Spawned(pid=proc.pid, argv=tuple(argv), gate=gate_w)
        if not launch.hold and not open_gate(spawned):
            raise SpawnError("the prepared process ended before it could run")
        return spawned


def _prepare(pid: int, gate_w: int, launch: Launch) -> None:
    """Place and limit the process waiting at its gate; on failure it never runs."""
    try:
        if launch.place is not None:
            launch.place(pid)
        for which, pair in launch.rlimits:
            resource.prlimit(pid, which, pair)
    except (OSError, ValueError, RuntimeError) as exc:
        os.close(gate_w)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        raise SpawnError(f"could not prepare the process: {exc}") from None


def open_gate(spawned: Spawned) -> bool:
    """Let a prepared process exec its program; False when it is gone already."""
    try:
        os.write(spawned.gate, b"\n")
        waiter = select.poll()  # not select(): the agent's fds go well past 1024
        waiter.register(spawned.gate, select.POLLIN)
        waiter.poll(GATE_WAIT * 1000)  # asleep until it runs: its CPU is free
        return True
    except OSError:
        return False
    finally:
        os.close(spawned.gate)


def close_gate(spawned: Spawned) -> None:
    """Never let it run: at end of file the gate exits (126)."""
    try:
        os.close(spawned.gate)
    except OSError:
        pass


def _check_program(program: str, search_path: str) -> None:
    """The gate execs the program itself: say plainly what Popen would have said."""
    path = program if "/" in program else which(program, search_path)
    if path is None or not os.path.exists(path):
        raise SpawnError(f"{program}: no such file or directory")
    if not os.access(path, os.X_OK):
        raise SpawnError(f"{program}: permission denied")


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)


def _reason(exc: BaseException, program: str) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"{program}: no such file or directory"
    if isinstance(exc, PermissionError):
        return f"{program}: permission denied"
    if isinstance(exc, KeyError):
        return f"unknown user or group: {exc}"
    return f"{program}: {exc}"


