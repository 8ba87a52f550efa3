"""What an operator sees from pause, resume and restart on a real agent (issue 9 items 2, 12)."""

from __future__ import annotations

from helpers.agent import config_yaml


def test_restart_of_an_observe_only_watch_is_refused_and_kills_nothing(make_agent, external, tag):
    proc = external(["/bin/sleep", tag])
    agent = make_agent(config_yaml([{"name": "seen", "match": {"cmdline": f"^/bin/sleep {tag}$"}}])).start()
    agent.wait_watch("seen", lambda w: w["pids"] == [proc.pid])

    result = agent.cli("restart", "seen")

    assert result.returncode == 1
    assert "watch seen has no start command" in result.stderr and "systemctl restart" in result.stderr
    assert proc.poll() is None, "the process it cannot start again was not stopped"
    assert agent.watch("seen")["pids"] == [proc.pid]


def test_pause_resume_and_restart_say_what_they_did(make_agent, tag):
    agent = make_agent(config_yaml([{"name": "svc", "start": {"argv": ["/bin/sleep", tag], "ready": {"alive_for": 0}}}]))
    agent.start()
    agent.wait_watch("svc", lambda w: w["state"] == "running")
    assert agent.cli("pause", "svc", "--for", "2h").stdout.strip() == "paused for 2h: svc"
    assert agent.cli("resume", "--all").stdout.strip() == "resumed: svc"
    assert agent.cli("restart", "svc").stdout.strip() == "restarting: svc"
