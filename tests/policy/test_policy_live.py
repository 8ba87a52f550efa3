"""Deaths in a row back off, then the watch follows on_giveup; every step is an event."""

from __future__ import annotations

import re

from helpers.agent import config_yaml


def _crasher(tag: str) -> list:
    # lives long enough to be watched, then fails: a service that cannot stay up
    return ["/bin/sh", "-c", f"sleep 0.3; exit 3 # {tag}"]


def test_three_deaths_in_window_back_off_then_give_up(make_agent, rsyslog, tag):
    agent = make_agent(config_yaml([{
        "name": "flaky",
        "start": {"argv": _crasher(tag), "ready": {"alive_for": "50ms"}},
        "restart": {"max_restarts": 2, "window": "60s", "backoff": {"initial": "200ms", "jitter": 0}},
        "on_giveup": {"action": "stop_watching"},
    }]), syslog_socket=rsyslog.socket).start()

    agent.wait_event("PG1009", timeout=20)
    w = agent.watch("flaky")
    assert w["state"] == "gave_up"
    assert w["healthy"] is False
    assert w["last_exit"] == "exit:3"
    ids = [re.search(r" (PG\d{4}) ", e).group(1) for e in agent.events()]
    relevant = [i for i in ids if i in ("PG1004", "PG1005", "PG1008", "PG1009")]
    assert relevant == ["PG1004", "PG1005", "PG1004", "PG1005", "PG1008", "PG1004", "PG1005", "PG1009"]
    backoff = agent.events("PG1008")[0]
    assert "delay=200ms" in backoff and "restarts_in_window=2 max_restarts=2" in backoff
    rsyslog.wait_for(r"PG1009 restart budget spent, giving up watch=flaky restarts_in_window=2 window=1m on_giveup=stop_watching")


def test_slow_retry_keeps_trying_after_giving_up(make_agent, tag):
    agent = make_agent(config_yaml([{
        "name": "flaky",
        "start": {"argv": _crasher(tag), "ready": {"alive_for": "50ms"}},
        "restart": {"max_restarts": 1, "window": "60s", "backoff": {"initial": "100ms"}},
        "on_giveup": {"action": "slow_retry", "retry_every": "500ms"},
    }])).start()
    agent.wait_event("PG1010")
    before = len(agent.events("PG1004"))
    agent.wait_event("PG1004", count=before + 1, timeout=10)  # the slow retry starts it again
    agent.wait_event("PG1009", count=2, timeout=10)           # and gives up again


def test_exit_code_listed_as_final_is_not_restarted(make_agent, tag):
    agent = make_agent(config_yaml([{
        "name": "job",
        "start": {"argv": ["/bin/sh", "-c", f"sleep 0.2; exit 0 # {tag}"], "ready": {"alive_for": 0}},
        "restart": {"no_restart_exit_codes": [0]},
    }])).start()
    agent.wait_event("PG1011")
    w = agent.wait_watch("job", lambda w: w["state"] == "exited")
    assert w["pids"] == [] and len(agent.events("PG1004")) == 1
