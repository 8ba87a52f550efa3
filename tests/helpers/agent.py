"""Run the real agent as a subprocess, and read what it says and reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from typing import Any, Dict, List, Optional

from procguard.control.client import AgentUnreachable, request

from . import cgroups
from .wait import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT_SRC = os.path.join(REPO, "agent")


def procguard_cmd() -> List[str]:
    return [sys.executable, "-m", "procguard.cli.main"]


def child_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = AGENT_SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(*args: str, socket: Optional[str] = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = procguard_cmd() + list(args)
    if socket and args and args[0] in ("status", "pause", "resume", "restart", "reload", "signal", "reload-service"):
        cmd += ["--socket", socket]
    result = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


class Agent:
    """One agent process with its own state dir, socket, config and (optionally) syslog."""

    def __init__(self, directory: str, config_text: str, syslog_socket: str = "",
                 extra_args: Optional[List[str]] = None, allow_unsigned: bool = True,
                 wrapper: Optional[List[str]] = None) -> None:
        self.directory = directory
        self.config = os.path.join(directory, "watches.yaml")
        self.state_dir = os.path.join(directory, "state")
        self.socket = os.path.join(directory, "run", "control.sock")
        self.stderr_path = os.path.join(directory, "agent.stderr")
        self.syslog_socket = syslog_socket
        self.extra_args = list(extra_args or [])
        self.allow_unsigned = allow_unsigned
        self.wrapper = list(wrapper or [])  # runs the agent through it (e.g. prlimit)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.known_pids: Dict[int, Optional[int]] = {}  # pid -> its start time when seen
        # its own cgroups, never shared with another test's agent; --cgroups off in
        # extra_args runs it on process groups instead
        self.cgroup_path = cgroups.unique_path(os.path.basename(os.path.dirname(directory)) or "agent")
        if config_text is not None:
            self.write_config(config_text)

    def write_config(self, text: str) -> None:
        with open(self.config, "w") as handle:
            handle.write(text)

    def start(self, wait: bool = True) -> Agent:
        args = procguard_cmd() + ["agent", "--config", self.config, "--state-dir", self.state_dir,
                                  "--socket", self.socket, "--syslog-socket", self.syslog_socket,
                                  "--journald-socket", "", "--metrics-textfile-dir", ""]
        if self.allow_unsigned:
            args.append("--allow-unsigned")
        if not any(a in ("--cgroup-path", "--cgroups") for a in self.extra_args):
            args += ["--cgroup-path", self.cgroup_path]
        args = self.wrapper + args + self.extra_args
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(args, env=child_env(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        if wait:
            self.wait_up()
        return self

    def wait_up(self, timeout: float = 20.0) -> None:
        wait_until(self._up, timeout, interval=0.01, what="agent to answer on its control socket")

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"agent exited {self.proc.returncode}:\n{self.stderr()}")
        try:
            self.status()
            return True
        except (AssertionError, OSError):
            return False

    def stderr(self) -> str:
        try:
            with open(self.stderr_path, errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def events(self, message_id: Optional[str] = None) -> List[str]:
        lines = [line for line in self.stderr().splitlines() if re.search(r" PG\d{4} ", line)]
        return [line for line in lines if message_id is None or f" {message_id} " in line]

    def wait_event(self, message_id: str, count: int = 1, contains: str = "", timeout: float = 10.0) -> List[str]:
        def found() -> List[str]:
            hits = [e for e in self.events(message_id) if contains in e]
            return hits if len(hits) >= count else []
        return wait_until(found, timeout, what=f"{count}x {message_id} {contains!r}")

    def status(self) -> Dict[str, Any]:
        try:
            reply = request({"cmd": "status"}, self.socket, timeout=10)
        except AgentUnreachable as exc:
            raise AssertionError(str(exc)) from None
        for w in reply.get("watches", []):
            self.remember(w["pids"])
        return reply

    def remember(self, pids: Any) -> None:
        """Processes to stop at cleanup, each with its start time, so a PID reused since is spared."""
        for pid in pids:
            if pid not in self.known_pids:
                self.known_pids[pid] = started_at(pid)

    def watch(self, name: str) -> Dict[str, Any]:
        found = self.find_watch(name)
        if found is None:
            raise AssertionError(f"no watch {name!r} in status")
        return found

    def find_watch(self, name: str) -> Optional[Dict[str, Any]]:
        return next((w for w in self.status()["watches"] if w["name"] == name), None)

    def wait_watch(self, name: str, predicate: Any, timeout: float = 10.0, what: str = "") -> Dict[str, Any]:
        def check() -> Optional[Dict[str, Any]]:
            w = self.find_watch(name)  # a reload may still be checking the config that adds it
            return w if w is not None and predicate(w) else None
        return wait_until(check, timeout, what=what or f"watch {name} condition")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, socket=self.socket)

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        try:
            self.status()
        except AssertionError:
            pass
        self.proc.send_signal(sig)
        code = self.proc.wait(20)
        return code

    def cleanup(self) -> None:
        """Stop the agent, then every process it watched (they outlive it by design)."""
        try:
            self.status()
        except AssertionError:
            pass
        self.stop(signal.SIGKILL)
        for pid, started in self.known_pids.items():
            now = started_at(pid)
            if now is None:
                kill_group_of(pid)  # the leader is gone; a group left under its id is still its
            elif now == started:
                kill_group_of(pid)
                kill_if_alive(pid)
            # else: the PID is another process's now (pid_max may be 32768): never signalled
        cgroups.remove(self.cgroup_path)


def started_at(pid: int) -> Optional[int]:
    """A process's start time in clock ticks (/proc/PID/stat field 22), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def kill_group_of(pid: int) -> None:
    """The process group a started service leads (the agent gives each its own session):
    its children and double-forked grandchildren, which outlive it in process-group mode.
    Call it only while `pid` is still that service, or is no process at all: the kernel
    never gives a new process a PID that is still a live group's id."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def config_yaml(watches: List[Dict[str, Any]], **top: Any) -> str:
    doc = {"version": 1, **top, "watches": watches}
    return json.dumps(doc, indent=1)  # JSON is YAML
