"""Shared fixtures: a private rsyslogd, agents in temporary directories, unique sleepers.

pytest makes itself a child subreaper, so services that outlive an agent (by design)
become its children and are reaped here instead of lingering as zombies.
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from helpers.agent import Agent, kill_if_alive
from helpers.pull_server import PKI, ConfigServer
from helpers.rsyslog import Rsyslog
from helpers.signing import Env
from procguard.children.reaper import REAPER
from procguard.intake.terms import HostIdentity

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


@pytest.fixture
def rsyslog(tmp_path) -> Iterator[Rsyslog]:
    if shutil.which("rsyslogd") is None and not os.path.exists("/usr/sbin/rsyslogd"):
        pytest.fail("rsyslogd is missing: run scripts/setup-host.sh (installs Debian's rsyslog)")
    os.makedirs(tmp_path / "syslog", exist_ok=True)
    server = Rsyslog(str(tmp_path / "syslog")).start()
    yield server
    server.stop()


@pytest.fixture
def make_agent(tmp_path) -> Iterator[Callable[..., Agent]]:
    agents: List[Agent] = []

    def factory(config_text: str, syslog_socket: str = "", name: str = "a", **kwargs) -> Agent:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        agent = Agent(str(directory), config_text, syslog_socket=syslog_socket, **kwargs)
        agents.append(agent)
        return agent

    yield factory
    left: List[str] = []
    for agent in agents:
        try:
            agent.cleanup()
        except AssertionError as exc:  # a cgroup left behind: the other agents are cleaned first
            left.append(str(exc))
    _reap_orphans()
    assert not left, "; ".join(left)


@pytest.fixture
def external() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start processes the agent did not start (own session), killed by PID at the end."""
    procs: List[subprocess.Popen] = []

    def start(argv: List[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        kill_if_alive(proc.pid)
        try:
            proc.wait(5)
        except (subprocess.TimeoutExpired, ChildProcessError):
            pass
    _reap_orphans()


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen]]:
    """Start child processes of the test (argv, Popen keywords); killed and reaped after it."""
    procs: List[subprocess.Popen] = []

    def start(argv: List[str], **kw) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **kw)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture
def engine_reaping() -> Iterator[List]:
    """This process as a child subreaper, reaping like the engine in a tight loop."""
    libc = ctypes.CDLL(None, use_errno=True)
    before = ctypes.c_int(0)
    libc.prctl(37, ctypes.byref(before), 0, 0, 0)
    assert libc.prctl(36, 1, 0, 0, 0) == 0
    REAPER.central = True
    stop = threading.Event()
    orphans = []

    def reap() -> None:
        while not stop.is_set():
            orphans.extend(REAPER.reap())
    thread = threading.Thread(target=reap, daemon=True)
    thread.start()
    yield orphans
    stop.set()
    thread.join()
    REAPER.central = False
    libc.prctl(36, before.value, 0, 0, 0)


@pytest.fixture
def tag() -> str:
    """A number no other process on the machine uses: `sleep TAG` is then unique."""
    return str(900000 + random.randrange(99999))


# ---------------------------------------------------------------- signing and pull
@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def host() -> HostIdentity:
    return HostIdentity("web01", ["web"])


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    """A test CA and a server certificate for 127.0.0.1, made by the test itself."""
    d = tmp_path / "pki"
    d.mkdir()
    return PKI(d)


@pytest.fixture
def server(pki: PKI) -> Iterator[ConfigServer]:
    """A local HTTPS config server on 127.0.0.1, stopped after the test."""
    srv = ConfigServer(pki)
    yield srv
    srv.stop()
