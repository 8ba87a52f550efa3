"""The lab's process bookkeeping: every process it starts goes through spawn() (inside a
server's namespace, recorded by PID), and every service process is found again by its
command line, which carries the episode's own directory."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from typing import Dict, List, Optional, Set

from .registry import REGISTRY_DIR, Registry
from .topology import Topology

PR_SET_CHILD_SUBREAPER = 36


def children_zombies(me: int) -> List[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            out.append(int(name))
    return out


class Reaper(threading.Thread):
    """The runner is a child subreaper (PID 1 here reaps nothing): monit's detached services
    become its children, and their zombies would look alive to monit. Popen children are
    left to Popen."""

    def __init__(self, ours: Set[int]) -> None:
        super().__init__(daemon=True, name="reaper")
        self.ours = ours
        self.stopping = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stopping.wait(0.2):
            for pid in children_zombies(me):
                if pid not in self.ours:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass


class LabContext:
    def __init__(self, root: str, tag: str) -> None:
        self.root = root
        self.tag = tag
        self.workdir = root
        self.registry = Registry(tag)
        if not os.environ.get("LAB_KEEP"):          # LAB_KEEP=1 leaves the files to read
            self.registry.add("dirs", root)
        self.topology = Topology(tag, self.registry)
        self.popen_pids: Set[int] = set()
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.reaper = Reaper(self.popen_pids)
        self.reaper.start()

    def sock_path(self, host: str, name: str) -> str:
        """A control socket path short enough for AF_UNIX (108 bytes), apart from the files."""
        directory = os.path.join(REGISTRY_DIR, f"s{self.tag}")
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
            self.registry.add("dirs", directory)
        return os.path.join(directory, f"{host}-{name}.sock")

    def new_episode(self, name: str) -> str:
        self.workdir = os.path.join(self.root, "episodes", name)
        os.makedirs(self.workdir, exist_ok=True)
        return self.workdir

    def spawn(self, host: str, argv: List[str], log: str, env: Optional[Dict[str, str]] = None,
              cwd: Optional[str] = None) -> subprocess.Popen[bytes]:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(self.topology.exec_prefix(host) + argv, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=out, env=env, cwd=cwd or self.workdir,
                                    start_new_session=True)
        self.popen_pids.add(proc.pid)
        self.registry.add_pid(proc.pid)
        return proc

    def stop_process(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        self.popen_pids.discard(proc.pid)

    def service_pids(self) -> List[int]:
        """Every live process whose command line runs a launcher of this episode."""
        mark = f"{self.workdir}/hosts/".encode()
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as handle:
                    cmd = handle.read()
                with open(f"/proc/{name}/stat") as handle:
                    state = handle.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if mark in cmd and b"/bin/" in cmd and state not in ("Z", "X"):
                found.append(int(name))
        return found

    def kill_services(self, deadline: float = 10.0) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            pids = self.service_pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"lab: service processes still alive after {deadline:g} s: {self.service_pids()}")

    def ns_run(self, host: str, argv: List[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.topology.exec_prefix(host) + argv, capture_output=True, text=True,
                              timeout=timeout, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def close(self) -> List[str]:
        self.reaper.stopping.set()
        return self.registry.cleanup()
