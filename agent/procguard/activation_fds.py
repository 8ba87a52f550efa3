"""Hand the agent's listening sockets to a started process as systemd does (sd_listen_fds):
fds 3, 4, ... in the order of `start.listen`, LISTEN_FDS=n, LISTEN_FDNAMES, and
LISTEN_PID = the PID of the process that reads them.

subprocess keeps a passed fd at its own number, and LISTEN_PID must be the PID of the
program itself, which only exists after the fork. So a small shell step moves the fds to
3.. and exports LISTEN_PID=$$ before it execs the program (exec keeps the PID). It is bash:
dash, Debian's /bin/sh, cannot name an fd above 9, and the agent's sockets sit higher.
The sockets are duplicated above the target range first, so no move overwrites another.
"""

from __future__ import annotations

import fcntl
import os
from typing import Dict, List, Sequence, Tuple

BASH = ("/bin/bash", "/usr/bin/bash")
FIRST = 3  # SD_LISTEN_FDS_START
# no startup files: with a socket as stdin (the gate's) bash believes sshd runs it and reads ~/.bashrc
QUIET = ("--norc", "--noprofile")


class PassError(Exception):
    """The sockets cannot be passed: the message says why (spawn.py makes it a SpawnError)."""


def activation_run(run: Sequence[str], sockets: Sequence[int], names: Sequence[str],
                   env: Dict[str, str], gate: str = "") -> Tuple[List[str], Tuple[int, ...]]:
    """The argv that starts `run` with `sockets` at fds 3.., and the duplicates to pass
    (the caller closes them once the process started). Sets LISTEN_FDS and LISTEN_FDNAMES
    in `env`; the shell step sets LISTEN_PID. A gated start (`run` is /bin/sh running
    `gate`) runs the gate in the same bash."""
    bash = next((path for path in BASH if os.access(path, os.X_OK)), None)
    if bash is None:
        raise PassError("start.listen needs /bin/bash to pass the sockets; install bash")
    high = FIRST + len(sockets)
    passed: List[int] = []
    try:
        for fd in sockets:
            passed.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, high))
    except OSError as exc:
        for fd in passed:
            os.close(fd)
        raise PassError(f"could not pass the listening sockets: {exc}") from None
    moves = " ".join(f"{FIRST + i}<&{fd}" for i, fd in enumerate(passed))
    closes = " ".join(f"{fd}<&-" for fd in passed)
    env["LISTEN_FDS"] = str(len(sockets))
    env["LISTEN_FDNAMES"] = ":".join(names)
    env.pop("LISTEN_PID", None)
    step = f"exec {moves} {closes}; export LISTEN_PID=$$; "
    if gate and list(run[:3]) == ["/bin/sh", "-c", gate]:
        return [bash, *QUIET, "-c", step + gate, *run[3:]], tuple(passed)  # one shell: a short gate wait
    return [bash, *QUIET, "-c", step + 'exec "$0" "$@"', *run], tuple(passed)
