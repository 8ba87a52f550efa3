"""An expired or missing config never leaves the host unwatched (issue 9 item 4).

Before: no warning before `not_after`; after any agent restart both the file and the last
good copy were expired, so the agent exited 1 (a line on stderr only) and, under systemd,
crash-looped every second while the services ran unwatched.
"""

from __future__ import annotations

import os
import signal
import time

from helpers.agent import config_yaml
from procguard.expiry import Expiry


def stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def sleeper(tag: str):
    return [{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]


def test_warned_ahead_then_expired_but_still_enforced(make_agent, rsyslog, tag):
    agent = make_agent(config_yaml(sleeper(tag), not_after=stamp(time.time() + 4)),
                       syslog_socket=rsyslog.socket).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    soon = rsyslog.wait_for(r"PG6046 configuration expires soon")
    assert "left=" in soon

    expired = rsyslog.wait_for(r"PG6047 configuration expired, still enforced", timeout=15)
    assert "not_after=" in expired
    config = agent.status()["agent"]["config"]
    assert config["expired"] is True
    table = agent.cli("status")
    assert table.returncode == 1 and "EXPIRED" in table.stdout

    os.kill(pid, signal.SIGKILL)  # still watched, still restarted
    agent.wait_watch("svc", lambda w: w["pids"] and w["pids"][0] != pid and w["state"] == "running")


def test_after_a_restart_an_expired_last_good_is_enforced_not_abandoned(make_agent, rsyslog, tag):
    agent = make_agent(config_yaml(sleeper(tag), not_after=stamp(time.time() + 2)),
                       syslog_socket=rsyslog.socket).start()
    pid = agent.wait_watch("svc", lambda w: w["state"] == "running")["pids"][0]
    rsyslog.wait_for(r"PG6047 ", timeout=15)
    agent.stop(signal.SIGKILL)

    agent.start()
    rsyslog.wait_for(r"PG6033 ")
    status = agent.status()
    assert agent.proc.poll() is None, "the agent stays up"
    assert status["agent"]["config"]["expired"] is True
    assert agent.watch("svc")["pids"] == [pid], "the running service is adopted, not abandoned"
    assert len([line for line in rsyslog.lines() if "PG6047" in line]) >= 2


def test_with_nothing_it_can_enforce_the_agent_stays_up_and_says_so(make_agent, rsyslog, tag):
    agent = make_agent("version: 1\nwatches:\n  - name: svc\n    bogus: 1\n", syslog_socket=rsyslog.socket)
    agent.start()
    rsyslog.wait_for(r"PG2005 no configuration in force, nothing is watched")
    status = agent.status()
    assert status["watches"] == [] and status["agent"]["last_refusal"]["code"] == "invalid"
    table = agent.cli("status")
    assert table.returncode == 1 and "NO CONFIGURATION IN FORCE" in table.stdout

    agent.write_config(config_yaml(sleeper(tag)))
    assert agent.cli("reload").returncode == 0
    agent.wait_watch("svc", lambda w: w["state"] == "running")


class FakeEnv:
    def __init__(self):
        self.now = 1_000_000.0
        self.timers = []
        self.events = []

    def call_later(self, delay, fn):
        timer = type("T", (), {"cancel": lambda self: None})()
        self.timers.append((self.now + delay, fn))
        return timer

    def emit(self, name, **fields):
        self.events.append((name, fields))

    def run_until(self, when):
        while True:
            due = sorted((t for t in self.timers if t[0] <= when), key=lambda t: t[0])
            if not due:
                self.now = when
                return
            self.timers.remove(due[0])
            self.now = due[0][0]
            due[0][1]()


def test_warnings_come_at_seven_days_one_day_and_one_hour_then_hourly_after_expiry():
    env = FakeEnv()
    expiry = Expiry(env, wall=lambda: env.now)
    expiry.track("w.yaml", 3, stamp(env.now + 10 * 86400))
    assert env.events == []
    env.run_until(env.now + 10 * 86400 + 2.5 * 3600)
    names = [name for name, _ in env.events]
    assert names == ["config_expires_soon"] * 3 + ["config_expired_enforced"] * 3
    assert [f["left"] for n, f in env.events if n == "config_expires_soon"] == ["168h", "24h", "1h"]
    assert expiry.status()["expired"] is True
    expiry.track("w.yaml", 4, None)
    assert expiry.status() == {"not_after": None, "expires_in_s": None, "expired": False}
