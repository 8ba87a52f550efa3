"""Four kinds of watch for the fault campaign and the soak, and a census of their processes.

- started: a service the agent starts (`sleep TAG1`);
- adopted: a process the test starts, which the agent only adopts (`sleep TAG2`);
- daemon: a start script that forks a daemon, which writes its pidfile, and exits 0;
- flapping: a service that exits after 0.4 s, restarted again and again.

Each kind is told apart in /proc by its exact command line, so the census counts what really
runs, whatever the agent believes. Every kind allows one instance.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .agent import kill_if_alive
from .probes import proc_table
from .procs import cmdline, state_and_start

KINDS = ("started", "adopted", "daemon", "flapping")

DAEMON_SCRIPT = """#!/bin/sh
# A classic forking daemon: the launcher puts the daemon in the background and exits 0 at
# once; the daemon writes its own pidfile, then becomes the long-running program.
/bin/sh -c 'echo $$ > "$0"; exec "$@"' {pidfile} /bin/sleep {tag} </dev/null >/dev/null 2>&1 &
exit 0
"""


class Workload:
    def __init__(self, directory: Path, tag: str, multiplier: float = 2.0) -> None:
        self.directory = directory
        self.tag = tag
        self.multiplier = multiplier  # of the flapping watch's backoff
        self.pidfile = directory / "daemon.pid"
        bin_dir = directory / "bin"
        bin_dir.mkdir(mode=0o755, exist_ok=True)
        os.chmod(directory, 0o755)
        self.daemon_script = bin_dir / "forking-daemon"
        self.daemon_script.write_text(DAEMON_SCRIPT.format(pidfile=self.pidfile, tag=f"{tag}3"))
        os.chmod(self.daemon_script, 0o755)
        self.argv: Dict[str, Tuple[str, ...]] = {
            "started": ("/bin/sleep", f"{tag}1"),
            "adopted": ("/bin/sleep", f"{tag}2"),
            "daemon": ("/bin/sleep", f"{tag}3"),
            "flapping": ("/bin/sleep", "0.4", f"0.0{tag}"),
        }
        self.external: Optional[subprocess.Popen[bytes]] = None

    def watches(self, variant: int = 0) -> List[Dict[str, Any]]:
        """The config's watches; `variant` changes every watch (a reload that touches all).
        The daemon comes first: an agent that starts it first thing after its own start is
        where a launcher most often exits before the agent looks (issue 10 item 5)."""
        stop = {"timeout": f"{5 + variant % 2}s"}
        return [
            {"name": "daemon", "match": {"pidfile": str(self.pidfile), "cmdline": f"^/bin/sleep {self.tag}3$"},
             "start": {"argv": [str(self.daemon_script)], "timeout": "5s"}, "stop": stop,
             "restart": {"max_restarts": 50, "backoff": {"initial": 0.2, "max": 1}}},
            {"name": "started", "start": {"argv": list(self.argv["started"]), "ready": {"alive_for": 0}},
             "stop": stop},
            {"name": "adopted", "match": {"cmdline": f"^/bin/sleep {self.tag}2$"}, "stop": stop},
            {"name": "flapping", "start": {"argv": list(self.argv["flapping"]), "ready": {"alive_for": 0}},
             "restart": {"max_restarts": 1_000_000, "window": "60s",
                         "backoff": {"initial": 0.05, "max": 0.2, "multiplier": self.multiplier, "jitter": 0,
                                     "reset_after": "60s"}},
             "stop": stop},
        ]

    def config(self, variant: int = 0) -> str:
        return json.dumps({"version": 1, "watches": self.watches(variant)}, indent=1)

    def start_adopted(self) -> subprocess.Popen[bytes]:
        self.external = subprocess.Popen(list(self.argv["adopted"]), start_new_session=True,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        return self.external

    def census(self) -> Dict[str, List[int]]:
        """{kind: live PIDs running its command line}, from one scan of /proc."""
        wanted = {argv: kind for kind, argv in self.argv.items()}
        found: Dict[str, List[int]] = {kind: [] for kind in KINDS}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            kind = wanted.get(cmdline(pid) or ())
            if kind is None:
                continue
            st = state_and_start(pid)
            if st is not None and st[0] not in ("Z", "X"):
                found[kind].append(pid)
        return found

    def cleanup(self) -> None:
        for pids in self.census().values():
            for pid in pids:
                kill_if_alive(pid)
        if self.external is not None:
            kill_if_alive(self.external.pid)
            self.external.wait(5)


def zombies_below(root: int) -> List[Tuple[int, int]]:
    """(pid, ppid) of zombies whose parent descends from `root`, `root` itself excepted:
    `root` (the test, a child subreaper) reaps its own, as PID 1 would on a real host."""
    table = {pid: (ppid, state) for pid, ppid, _pgid, state in proc_table()}

    def descends(pid: int) -> bool:
        seen = set()
        while pid not in (0, 1) and pid not in seen:
            seen.add(pid)
            if pid == root:
                return True
            pid = table.get(pid, (0, ""))[0]
        return False

    return [(pid, ppid) for pid, (ppid, state) in table.items()
            if state == "Z" and ppid != root and descends(ppid)]


def reap_own_children() -> int:
    """Reap every exited child of this process (orphans the subreaper inherited)."""
    reaped = 0
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped += 1
