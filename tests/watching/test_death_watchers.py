"""The two death detectors on real processes: pidfd + epoll, and /proc polling."""

from __future__ import annotations

import os
import select
import signal

import pytest

from helpers.wait import wait_until
from procguard.proc import procfs
from procguard.watching.deaths import PidfdWatcher, PollWatcher


@pytest.fixture
def sleeper(spawn):
    return lambda: spawn(["/bin/sleep", "600"])


def test_pidfd_watcher_wakes_epoll_on_the_death_and_names_the_process(sleeper):
    epoll = select.epoll()
    watcher = PidfdWatcher(epoll)
    proc = sleeper()
    identity = procfs.identity_of(proc.pid)
    assert watcher.add(identity)
    assert epoll.poll(0) == []
    os.kill(proc.pid, signal.SIGKILL)
    ready = epoll.poll(5)
    assert len(ready) == 1
    assert watcher.on_ready(ready[0][0]) == identity
    assert watcher.pidfd_of(proc.pid) is None, "forgotten after the death"
    watcher.close()
    epoll.close()


def test_pidfd_watcher_refuses_an_identity_that_is_not_the_running_process(sleeper):
    watcher = PidfdWatcher(select.epoll())
    proc = sleeper()
    real = procfs.identity_of(proc.pid)
    older = procfs.Identity(real.pid, real.start_ticks - 1, real.boot)  # the PID reused since
    assert not watcher.add(older)
    assert watcher.pidfd_of(proc.pid) is None
    assert watcher.add(real) and watcher.pidfd_of(proc.pid) is not None
    watcher.close()


def test_poll_watcher_reports_the_dead_once(sleeper):
    watcher = PollWatcher(0.1)
    alive, doomed = sleeper(), sleeper()
    for proc in (alive, doomed):
        assert watcher.add(procfs.identity_of(proc.pid))
    assert watcher.poll_dead() == []
    doomed.kill()
    doomed.wait()
    dead = wait_until(watcher.poll_dead, 5, what="the death to show in /proc")
    assert [i.pid for i in dead] == [doomed.pid]
    assert watcher.poll_dead() == []
